#!/bin/bash
# tests/mount/views.sh - mount suite: seven FUSE sessions of one file system in
# one process, each with its own view (tests/mount/views.c over
# fuse/session.h and fuse/view.c): the whole file system, a subdirectory as
# the root, two forced identities, root squash, deny_write and an identity
# in the subdirectory.  The program checks owners, permission refusals for
# the sessions' identities although the caller is root, confinement to the
# subdirectory (.., rename, link, file handles) and EROFS; fsck is clean
# afterwards.  Once with the default options, once with passthrough = false
# (the sessions that check permissions then write through, the others take
# the writeback cache).
# Needs: EFSFS, VIEWS (the program), root, /dev/fuse.  Adds no users and
# installs nothing (uids 1001, 1002 and 1500 need no passwd entry).

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
if [[ -z "${VIEWS:-}" || ! -x "$VIEWS" ]]; then
	fail "VIEWS must name the views binary (got '${VIEWS:-}')"
fi

# run_views NAME WHAT
run_views()
{
	local rc=0 out
	mkdir -p "$TEST_TMP/$1.m"
	timeout 300 "$VIEWS" "$EFSFS_CONFIG" "$1" "$TEST_TMP/$1.m" || rc=$?
	((rc == 0)) || fail "views on $2 exited $rc (see its checks above)"
	pass "seven sessions with their own views of one file system, $2"
	if grep -qF "$TEST_TMP" /proc/mounts; then
		fail "a session's mount is left behind: $(grep -F "$TEST_TMP" /proc/mounts || true)"
	fi
	pass "nothing is left mounted ($2)"
	out=$(efsfs_fsck "$1" 2>&1) || fail "efsfs fsck $1 after the sessions: $out"
	pass "fsck is clean after the sessions ($2)"
}

make_config views
efsfs_mkfs views
run_views views "default options"
# without passthrough: write-through where the daemon checks permissions
# (the writeback cache's kernel would send utimes(now) as explicit times)
make_config viewswb "passthrough = false" "writeback_cache = true"
efsfs_mkfs viewswb
run_views viewswb "passthrough = false"
finish
