/* meta_i.h - the entry points of the metadata engines, for meta_open()'s
 * URL dispatch (backend/meta.c).  Each opens the store its URL's rest names
 * with meta_open's flags and returns a struct meta whose ops are its own. */
#ifndef EFSFS_META_I_H
#define EFSFS_META_I_H

#include "backend/meta.h"

/* backend/meta_sqlite.c: path is the database file. */
int meta_sqlite_open(const char *path, unsigned flags, struct meta **ret, char *err,
		     size_t errlen);

#endif
