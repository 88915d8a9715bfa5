/* common/size.h - sizes as people write them: "65536", "64K", "4M", "1G",
 * also "4MiB" or "4MB" (binary multiples, either case for the letter). */
#ifndef EFSFS_SIZE_H
#define EFSFS_SIZE_H

#include <stdint.h>

/* Digits, then optionally K, M or G (k, m, g), then optionally "iB" or "B".
 * 0, -EINVAL when malformed (no digits, sign, blanks, other suffix), or
 * -ERANGE when it does not fit in 64 bits; *ret untouched on failure. */
int size_parse(const char *s, uint64_t *ret);

#endif
