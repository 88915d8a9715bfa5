#!/bin/bash
# tests/mount/sessions.sh - mount suite: two FUSE sessions of one file system
# served by one process (tests/mount/two_sessions.c, over fuse/session.h).
# The program checks through both mount points that a file created, written
# and renamed through one is seen with the same contents and attributes
# through the other, both ways, with passthrough on both where the kernel
# has it (root, Linux 6.9+), that unlinks are seen across, and that both
# sessions end with nothing mounted or open; fsck is clean afterwards.  With
# attributes and names cached for an hour it also checks close-to-open
# between the mounts (renames, links, unlinks, chmod, truncate, xattrs,
# missing names, a lifecycle demotion's st_blocks), which only the sessions'
# notifications (fuse/notify.c) can make pass.  A
# second file system with passthrough = false does the same on the
# write-through path, and a third with its notifiers made slow.  (Not with
# writeback_cache = true: such a kernel keeps its own size of a file it still
# holds, a release not yet sent included, so another mount's change of size
# can stay unseen there; it is off by default for that reason.)
# Needs: EFSFS, TWO_SESSIONS (the program), root, /dev/fuse.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
if [[ -z "${TWO_SESSIONS:-}" || ! -x "$TWO_SESSIONS" ]]; then
	fail "TWO_SESSIONS must name the two_sessions binary (got '${TWO_SESSIONS:-}')"
fi

kernel_has_passthrough()
{
	local v
	v=$(uname -r | sed -n 's/^\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	read -r major minor <<<"$v"
	((major > 6 || (major == 6 && minor >= 9))) || return 1
	[[ -r /proc/config.gz ]] && zgrep -q '^CONFIG_FUSE_PASSTHROUGH=y' /proc/config.gz
}

# run_sessions NAME EXPECT_PASSTHROUGH WHAT
run_sessions()
{
	local rc=0 out
	mkdir -p "$TEST_TMP/$1.m1" "$TEST_TMP/$1.m2"
	timeout 300 "$TWO_SESSIONS" "$EFSFS_CONFIG" "$1" "$TEST_TMP/$1.m1" "$TEST_TMP/$1.m2" "$2" ||
		rc=$?
	if ((rc != 0)); then
		fail "two_sessions on $3 exited $rc (see its checks above)"
	fi
	pass "two sessions of one file system in one process, $3"
	if ! is_not_mounted "$TEST_TMP/$1.m1" || ! is_not_mounted "$TEST_TMP/$1.m2"; then
		fail "a session's mount is left behind: $(grep -F "$TEST_TMP" /proc/mounts || true)"
	fi
	pass "nothing is left mounted ($3)"
	out=$(efsfs_fsck "$1" 2>&1) || fail "efsfs fsck $1 after the sessions: $out"
	pass "fsck is clean after the two sessions ($3)"
}

expect=0
if kernel_has_passthrough; then
	expect=1
fi
# An hour of caching: only the sessions' notifications can make a change on
# one seen on the other (two_sessions.c looks once, never polls).
long=("attr_timeout = 3600" "entry_timeout = 3600")
make_config sessions "${long[@]}"
efsfs_mkfs sessions
run_sessions sessions "$expect" "default options (passthrough expected: $expect)"
# every request through the daemon (writeback_cache is false by default)
make_config sessionswt "passthrough = false" "${long[@]}"
efsfs_mkfs sessionswt
run_sessions sessionswt 0 "passthrough = false (write-through)"
# Notifiers that take 40 ms to get to each change in the coherence loop, as
# on a loaded host: a change must still wait for them (a wait cut short
# whenever the other session had a worker waiting itself lost 1 round in 300
# in CI, and rounds here).
make_config sessionsslow "passthrough = false" "${long[@]}"
efsfs_mkfs sessionsslow
TWO_SESSIONS_ROUNDS=20 TWO_SESSIONS_NOTIFY_DELAY_MS=40 \
	run_sessions sessionsslow 0 "notifiers 40 ms late, write-through"
finish
