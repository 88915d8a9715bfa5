/* apcmd.h - the access point commands (see apcmd.c): the AWS CLI's option
 * forms parsed into a struct fs_access_point, the request the CLI sends to
 * the daemon, and the control command that runs it. */
#ifndef EFSFS_APCMD_H
#define EFSFS_APCMD_H

#include <stdio.h>

#include "backend/fs.h"

/* One option of `access-point create`, in the AWS CLI's shorthand
 * ("Uid=1000,Gid=1000") or JSON ('{"Uid":1000,"Gid":1000}') form, into ap:
 * opt is "posix-user", "root-directory" or "tags" (one tag or a list of
 * them, added to ap's).  -EINVAL with err naming the option and the field. */
int apcmd_parse_option(const char *opt, const char *value, struct fs_access_point *ap,
		       char *err, size_t errlen);

/* The create request for ap (its PosixUser, RootDirectory, Tags and
 * ClientToken) as one line of compact JSON, the shape of EFS's
 * CreateAccessPoint body; malloc'd, NULL when out of memory. */
char *apcmd_request(const struct fs_access_point *ap);
/* The other way: a request into ap (zeroed first, Path "/" unless given);
 * -EINVAL with err naming the field. */
int apcmd_parse_request(const char *json, struct fs_access_point *ap, char *err, size_t errlen);

/* Whether id has the form of an access point id: fsap- and 17 lowercase
 * hex digits. */
bool apcmd_id_valid(const char *id);

/* The control command "access-point" (argv after that word): "create
 * REQUEST" prints the new id; "list" prints {"AccessPoints": [...]};
 * "describe ID" one access point as EFS's DescribeAccessPoints shows it;
 * "delete ID".  Returns the exit code (0 ok, 1 failed, 2 bad input), with
 * an "error: " line on out for a failure. */
int apcmd_exec(struct fs *fs, int argc, char **argv, FILE *out);

#endif
