/* tests/fuzz/fuzz.h - what every fuzz target shares: the libFuzzer entry
 * point each target defines, a check that aborts (so that the fuzzer and
 * the corpus driver both report it), and an input held in a memfd for the
 * parsers that read a file by name. */
#ifndef EFSFS_FUZZ_H
#define EFSFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                              \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                               \
			abort();                                                      \
		}                                                                     \
	} while (0)

/* Replaces the contents of one memfd (made on first use) with data and
 * returns its "/proc/self/fd/N" path, in a static buffer. */
const char *fuzz_file(const uint8_t *data, size_t size);

#endif
