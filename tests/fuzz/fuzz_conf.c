/* tests/fuzz/fuzz_conf.c - fuzz target: the configuration file reader
 * (common/conf.c), loading the input as a file, for the name of its first
 * section and for "dev".  A load either succeeds with a configuration or
 * fails with an error message naming the file. */
#include "tests/fuzz/fuzz.h"
#include "common/conf.h"

#include <errno.h>
#include <string.h>

/* The name inside the input's first "[...]", when it is a valid name. */
static void first_section(const uint8_t *data, size_t size, char *buf, size_t len)
{
	const uint8_t *a = memchr(data, '[', size), *b;

	buf[0] = '\0';
	if (!a)
		return;
	b = memchr(a, ']', size - (size_t)(a - data));
	if (!b || (size_t)(b - a - 1) >= len)
		return;
	memcpy(buf, a + 1, (size_t)(b - a - 1));
	buf[b - a - 1] = '\0';
	if (!conf_name_valid(buf))
		buf[0] = '\0';
}

static void load(const char *path, const char *name)
{
	char err[1024] = "";
	struct conf *c = NULL;
	int r = conf_load(path, name, &c, err, sizeof(err));

	if (r == 0) {
		FUZZ_CHECK(c != NULL);
		FUZZ_CHECK(strcmp(c->name, name) == 0);
	} else {
		FUZZ_CHECK(r < 0 && c == NULL);
		FUZZ_CHECK(strstr(err, path) != NULL || r == -ENOMEM);
	}
	conf_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(data, size);
	char name[256];

	setenv("HOME", "/nonexistent-efsfs-fuzz", 1);
	unsetenv("EFSFS_CONFIG");
	load(path, "dev");
	first_section(data, size, name, sizeof(name));
	if (name[0])
		load(path, name);
	return 0;
}
