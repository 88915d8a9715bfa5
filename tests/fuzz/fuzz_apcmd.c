/* tests/fuzz/fuzz_apcmd.c - fuzz target: the access point option values and
 * the create request (daemon/apcmd.c: the AWS CLI's shorthand, parsed by
 * hand, and JSON through libjansson).  The input is tried as each option's
 * value and as a request; what parses makes a request that parses back to
 * the same access point, and what fails says why. */
#include "tests/fuzz/fuzz.h"
#include "daemon/apcmd.h"

#include <errno.h>
#include <string.h>

static struct fs_access_point ap, back;

/* ap's request parses back to the same fields. */
static void round_trip(void)
{
	char err[1024] = "", *req = apcmd_request(&ap);

	if (!req)
		return;                    /* out of memory */
	FUZZ_CHECK(strpbrk(req, "\t\n") == NULL);
	FUZZ_CHECK(apcmd_parse_request(req, &back, err, sizeof(err)) == 0);
	free(req);
	FUZZ_CHECK(back.user.uid == ap.user.uid && back.user.gid == ap.user.gid);
	FUZZ_CHECK(back.user.ngroups == ap.user.ngroups);
	FUZZ_CHECK(strcmp(back.path, ap.path) == 0);
	FUZZ_CHECK(back.has_creation == ap.has_creation);
	FUZZ_CHECK(!ap.has_creation || back.permissions == ap.permissions);
	FUZZ_CHECK(back.ntags == ap.ntags);
	for (unsigned i = 0; i < ap.ntags; i++)
		FUZZ_CHECK(strcmp(back.tags[i].key, ap.tags[i].key) == 0 &&
			   strcmp(back.tags[i].value, ap.tags[i].value) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const opts[] = { "posix-user", "root-directory", "tags" };
	char *s = malloc(size + 1), err[1024];

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (int i = 0; i < 3; i++) {
		memset(&ap, 0, sizeof(ap));
		snprintf(ap.path, sizeof(ap.path), "/");
		ap.user.uid = 1;
		err[0] = '\0';
		if (apcmd_parse_option(opts[i], s, &ap, err, sizeof(err)) == 0) {
			FUZZ_CHECK(ap.user.ngroups <= FS_GROUPS_MAX && ap.ntags <= FS_AP_TAGS_MAX);
			round_trip();
		} else {
			FUZZ_CHECK(strncmp(err, "--", 2) == 0);
		}
	}
	err[0] = '\0';
	if (apcmd_parse_request(s, &ap, err, sizeof(err)) == 0)
		round_trip();
	else
		FUZZ_CHECK(err[0] != '\0');
	free(s);
	return 0;
}
