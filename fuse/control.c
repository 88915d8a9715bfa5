/* control.c - the control socket of a mounted file system and the
 * commands behind it: `efsfs lifecycle run|status`, `efsfs stats` and
 * `efsfs gc` reach the daemon through DATA_DIR/control.sock (a UNIX socket,
 * mode 0600); when nothing is mounted the CLI opens the file system itself
 * and runs the same code (control_exec) in-process.
 *
 * Protocol: the client sends one line, the command's words separated by
 * tabs; the server answers with the command's output and closes, the last
 * line being "exit N".
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "backend/log.h"
#include "fuse/control.h"
#include "tier/tier.h"

struct control {
	struct fs *fs;
	int lfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_t thread;
};

/* "2027-01-01", "2027-01-01T12:00:00[Z]" (UTC), "@1798761600", "now", "+31d" (now + 31 days). */
int control_parse_date(const char *s, int64_t *ret)
{
	struct tm tm;
	char *end;

	if (strcmp(s, "now") == 0) {
		*ret = time(NULL);
		return 0;
	}
	if (s[0] == '@' || s[0] == '+') {
		long long v = strtoll(s + 1, &end, 10);

		if (end == s + 1)
			return -EINVAL;
		if (s[0] == '@' && !*end) {
			*ret = v;
			return 0;
		}
		if (s[0] == '+' && (strcmp(end, "d") == 0 || strcmp(end, "days") == 0)) {
			*ret = time(NULL) + v * 86400;
			return 0;
		}
		return -EINVAL;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end && *end == 'T')
		end = strptime(end + 1, "%H:%M:%S", &tm);
	if (end && strcmp(end, "Z") == 0)
		end++;                    /* UTC, which every date here is */
	if (!end || *end)
		return -EINVAL;
	*ret = timegm(&tm);
	return 0;
}

static int exec_run(struct fs *fs, const char *as_of_s, FILE *out)
{
	struct tier_report rep;
	int64_t as_of;
	int r;

	if (control_parse_date(as_of_s, &as_of) < 0) {
		fprintf(out, "error: --as-of '%s': expected YYYY-MM-DD[THH:MM:SS], @EPOCH, now or "
			"+Nd\n", as_of_s);
		return 2;
	}
	r = tier_run(fs, as_of, &rep);
	if (r < 0) {
		fprintf(out, "error: lifecycle pass: %s\n",
			rep.first_error[0] ? rep.first_error : strerror(-r));
		return 1;
	}
	fprintf(out, "as_of: %" PRId64 "\nfiles_scanned: %" PRIu64 "\n"
		"chunks_to_ia: %" PRIu64 "\nbytes_to_ia: %" PRIu64 "\n"
		"chunks_to_archive: %" PRIu64 "\nbytes_to_archive: %" PRIu64 "\n"
		"chunks_failed: %" PRIu64 "\n", as_of, rep.files_scanned, rep.chunks_to_ia,
		rep.bytes_to_ia, rep.chunks_to_archive, rep.bytes_to_archive, rep.chunks_failed);
	if (rep.first_error[0])
		fprintf(out, "first_error: %s\n", rep.first_error);
	return rep.chunks_failed ? 1 : 0;
}

static int exec_stats(struct fs *fs, FILE *out)
{
	struct tier_stats st;
	int r = tier_stats(fs, &st);

	if (r < 0) {
		fprintf(out, "error: %s\n", strerror(-r));
		return 1;
	}
	fprintf(out, "FileSystemId: %s\n"
		"StorageBytes{StorageClass=Total}: %" PRIu64 "\n"
		"StorageBytes{StorageClass=Standard}: %" PRIu64 "\n"
		"StorageBytes{StorageClass=IA}: %" PRIu64 "\n"
		"StorageBytes{StorageClass=IASizeOverhead}: %" PRIu64 "\n"
		"StorageBytes{StorageClass=Archive}: %" PRIu64 "\n"
		"StorageBytes{StorageClass=ArchiveSizeOverhead}: %" PRIu64 "\n"
		"Files: %" PRIu64 "\nChunks{StorageClass=IA}: %" PRIu64 "\n"
		"Chunks{StorageClass=Archive}: %" PRIu64 "\n"
		"StoredBytes{StorageClass=IA}: %" PRIu64 "\n"
		"StoredBytes{StorageClass=Archive}: %" PRIu64 "\n"
		"PassthroughOpens: %" PRIu64 "\n",
		fs_id(fs), st.total, st.standard, st.ia, st.ia_overhead, st.archive,
		st.archive_overhead, st.files, st.ia_chunks, st.archive_chunks, st.ia_stored,
		st.archive_stored, fs_passthrough_count(fs));
	return 0;
}

static const char *days(int d, char *buf, size_t len)
{
	if (d == 0)
		return "NONE";
	snprintf(buf, len, d == 1 ? "AFTER_1_DAY" : "AFTER_%d_DAYS", d);
	return buf;
}

int control_exec(struct fs *fs, int argc, char **argv, FILE *out)
{
	const struct conf *c = fs_conf(fs);

	if (argc == 2 && strcmp(argv[0], "run") == 0)
		return exec_run(fs, argv[1], out);
	if (argc == 1 && strcmp(argv[0], "stats") == 0)
		return exec_stats(fs, out);
	if (argc == 1 && strcmp(argv[0], "status") == 0) {
		char a[32], b[32];

		fprintf(out, "TransitionToIA: %s\nTransitionToArchive: %s\n"
			"TransitionToPrimaryStorageClass: %s\nia_store: %s\narchive_store: %s\n",
			days(c->transition_to_ia_days, a, sizeof(a)),
			days(c->transition_to_archive_days, b, sizeof(b)),
			c->promote_after_1_access ? "AFTER_1_ACCESS" : "NONE", c->ia_store,
			c->archive_store);
		return exec_stats(fs, out);
	}
	if ((argc == 1 || (argc == 2 && strcmp(argv[1], "legacy") == 0)) &&
	    strcmp(argv[0], "gc") == 0) {
		uint64_t n = 0, legacy = 0;
		char err[2048];

		if (tier_gc_legacy(fs, argc == 2, &n, &legacy, err, sizeof(err)) < 0) {
			fprintf(out, "error: gc: %s\n", err);
			return 1;
		}
		fprintf(out, "objects_deleted: %" PRIu64 "\n", n);
		if (legacy)
			fprintf(out, "legacy_objects_kept: %" PRIu64 " (unreferenced objects from "
				"before instance ids; they may belong to a copy of this data "
				"directory made before then; 'efsfs gc --legacy NAME' deletes "
				"them)\n", legacy);
		return 0;
	}
	fprintf(out, "error: unknown control command\n");
	return 2;
}

static void serve(struct control *ctl, int fd)
{
	char line[1024], *argv[8];
	int argc = 0, code;
	FILE *f = fdopen(fd, "r+");

	if (!f) {
		close(fd);
		return;
	}
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return;
	}
	line[strcspn(line, "\n")] = '\0';
	for (char *save = NULL, *w = strtok_r(line, "\t", &save); w && argc < 8;
	     w = strtok_r(NULL, "\t", &save))
		argv[argc++] = w;
	code = control_exec(ctl->fs, argc, argv, f);
	fprintf(f, "exit %d\n", code);
	fclose(f);
}

static void *control_thread(void *arg)
{
	struct control *ctl = arg;

	for (;;) {
		int fd = accept4(ctl->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;            /* shut down by control_stop */
		}
		serve(ctl, fd);
	}
	return NULL;
}

int control_path(const char *data_dir, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/control.sock", data_dir) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int control_start(struct fs *fs, struct control **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct control *ctl;
	int r;

	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->fs = fs;
	r = control_path(fs_conf(fs)->data_dir, ctl->path, sizeof(ctl->path));
	if (r < 0)
		goto fail;
	ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ctl->lfd < 0) {
		r = -errno;
		goto fail;
	}
	memcpy(sa.sun_path, ctl->path, strlen(ctl->path) + 1);
	unlink(ctl->path);
	if (bind(ctl->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(ctl->path, 0600) < 0 || listen(ctl->lfd, 8) < 0) {
		r = -errno;
		close(ctl->lfd);
		goto fail;
	}
	r = pthread_create(&ctl->thread, NULL, control_thread, ctl);
	if (r) {
		r = -r;
		close(ctl->lfd);
		unlink(ctl->path);
		goto fail;
	}
	*ret = ctl;
	return 0;
fail:
	free(ctl);
	return r;
}

void control_stop(struct control *ctl)
{
	if (!ctl)
		return;
	shutdown(ctl->lfd, SHUT_RDWR);
	pthread_join(ctl->thread, NULL);
	close(ctl->lfd);
	unlink(ctl->path);
	free(ctl);
}

int control_client(const char *data_dir, int argc, char **argv, FILE *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[4096];
	size_t used = 0;
	int fd, code = -1;
	FILE *f;

	if (control_path(data_dir, sa.sun_path, sizeof(sa.sun_path)) < 0)
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	for (int i = 0; i < argc; i++)
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s", i ? "\t" : "",
					 argv[i]);
	f = fdopen(fd, "r+");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	fprintf(f, "%s\n", line);
	fflush(f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "exit ", 5) == 0) {
			code = atoi(line + 5);
			break;
		}
		fputs(line, out);
	}
	fclose(f);
	return code < 0 ? -EPIPE : code;
}
