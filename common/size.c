/* common/size.c - size_parse() of size.h: efsfs.conf's sizes. */
#include "common/size.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

int size_parse(const char *v, uint64_t *ret)
{
	uint64_t n = 0, mult = 1;
	const char *p = v;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	switch (*p) {
	case '\0':
		break;
	case 'K': case 'k':
		mult = 1ull << 10;
		break;
	case 'M': case 'm':
		mult = 1ull << 20;
		break;
	case 'G': case 'g':
		mult = 1ull << 30;
		break;
	default:
		return -EINVAL;
	}
	if (*p) {
		p++;
		if (*p && strcmp(p, "iB") != 0 && strcmp(p, "B") != 0)
			return -EINVAL;
	}
	if (n > UINT64_MAX / mult)
		return -ERANGE;
	*ret = n * mult;
	return 0;
}
