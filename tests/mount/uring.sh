#!/bin/bash
# tests/mount/uring.sh - mount suite: FUSE over io_uring (fuse/uring.c) and
# its fallbacks.  With the fuse module's enable_uring = N, fuse_uring = auto
# logs why and serves /dev/fuse; fuse_uring = on sets enable_uring itself
# and serves from ring entries: a 24 MiB file written and read back on the
# daemon path (passthrough = false: 1 MiB WRITE requests in the payload,
# spliced READ replies), a tree created, renamed and removed, every request
# counted in the log; fuse_uring = off with enable_uring = Y uses no ring;
# a kill -9 while the ring is busy leaves no mount and no daemon, and the
# file system mounts again with what was synced intact and a clean fsck.
# The posix, sessions, crash and tier scripts run with the ring too (the *_uring
# variants, lib.sh's EFSFS_TEST_URING).
# Sets /sys/module/fuse/parameters/enable_uring, a machine-wide setting, and
# puts it back at exit: run under /tmp/efsfs-systest.lock.
# Needs: EFSFS, root, /dev/fuse, a kernel with FUSE over io_uring (6.14+).

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
PARAM=/sys/module/fuse/parameters/enable_uring
[[ -w "$PARAM" ]] || skip "this kernel has no FUSE over io_uring ($PARAM)"
PARAM_WAS=$(cat -- "$PARAM")
at_exit 'echo "$PARAM_WAS" >"$PARAM"'

# served NAME MNT: the request count of the daemon's last "served" line.
served()
{
	sed -n "s|.*$1 on $2: FUSE over io_uring served \\([0-9]*\\) requests|\\1|p" \
		"$TEST_TMP/$1.log" | tail -n 1
}

# ---- auto, with the kernel's io_uring switched off: /dev/fuse, and why
echo N >"$PARAM"
M=$(canon "$TEST_TMP/m-auto")
make_config uauto "fuse_uring = auto" "log_file = $TEST_TMP/uauto.log"
efsfs_mkfs uauto
efsfs_mount uauto "$M"
printf 'through /dev/fuse\n' >"$M/f"
assert_eq "through /dev/fuse" "$(cat -- "$M/f")" "fuse_uring = auto works without the kernel's io_uring"
# (logged at INIT, which comes before or after the daemon's messages move
# from the mount command's stderr to its log file: either has it)
WHY="uauto on $M: the kernel offers no FUSE over io_uring ($PARAM is not Y); requests stay on /dev/fuse"
assert_ok "the daemon says why it serves /dev/fuse" grep -qF -- "$WHY" \
	"$TEST_TMP/uauto.log" "$TEST_TMP/mount-uauto.log"
efsfs_umount "$M"
assert_eq "N" "$(cat -- "$PARAM")" "fuse_uring = auto leaves enable_uring alone"
if grep -q "serving FUSE over io_uring" "$TEST_TMP/uauto.log" "$TEST_TMP/mount-uauto.log"; then
	fail "fuse_uring = auto registered a ring although the kernel offers none"
fi
pass "no ring without the kernel's offer"

# ---- on: the daemon enables it and serves from the ring, data path included
M=$(canon "$TEST_TMP/m-on")
make_config uon "fuse_uring = on" "passthrough = false" "log_file = $TEST_TMP/uon.log"
efsfs_mkfs uon
efsfs_mount uon "$M"
assert_eq "Y" "$(cat -- "$PARAM")" "fuse_uring = on set enable_uring"
# said by the mount command, before the daemon logs to its file
assert_ok "the mount said that it enabled it" grep -qF \
	"uon on $M: fuse_uring = on: enabled FUSE over io_uring in the kernel" "$TEST_TMP/mount-uon.log"
wait_until 10 grep -qF "uon on $M: serving FUSE over io_uring: " "$TEST_TMP/uon.log" \
	"$TEST_TMP/mount-uon.log" ||
	fail "no ring registered: $(tail -n 5 "$TEST_TMP/uon.log")"
pass "the ring entries registered"
REF="$TEST_TMP/ref.bin"
head -c $((24 * 1024 * 1024 + 4321)) /dev/urandom >"$REF"
dd if="$REF" of="$M/big" bs=1M status=none
sync -- "$M/big"
echo 3 >/proc/sys/vm/drop_caches
assert_same_file "$REF" "$M/big" "24 MiB written and read back over the ring"
mkdir -p "$M/t/a/b"
for i in $(seq 200); do
	printf '%s\n' "$i" >"$M/t/a/b/f$i"
done
mv -- "$M/t/a" "$M/t/c"
assert_eq "200" "$(find "$M/t/c" -type f | wc -l)" "200 files created and renamed over the ring"
assert_eq "137" "$(cat -- "$M/t/c/b/f137")" "a file's contents after the rename"
rm -rf -- "$M/t"
assert_eq "big" "$(ls -- "$M")" "the tree removed over the ring"
efsfs_umount "$M"
n=$(served uon "$M")
[[ "$n" =~ ^[0-9]+$ ]] && ((n > 600)) || fail "the ring served '$n' requests, expected over 600"
pass "the ring served $n requests"
out=$(efsfs_fsck uon 2>&1) || fail "efsfs fsck uon: $out"
pass "fsck is clean after the ring's run"

# ---- off, with the kernel's io_uring on: no ring
M=$(canon "$TEST_TMP/m-off")
make_config uoff "fuse_uring = off" "log_file = $TEST_TMP/uoff.log"
efsfs_mkfs uoff
efsfs_mount uoff "$M"
printf 'x\n' >"$M/x"
assert_eq "x" "$(cat -- "$M/x")" "fuse_uring = off works"
efsfs_umount "$M"
if grep -q "io_uring" "$TEST_TMP/uoff.log" "$TEST_TMP/mount-uoff.log"; then
	fail "fuse_uring = off touched io_uring: $(grep io_uring "$TEST_TMP/uoff.log")"
fi
pass "fuse_uring = off uses no ring"

# ---- kill -9 while the ring is busy: nothing is left behind
M=$(canon "$TEST_TMP/m-on")
efsfs_mount uon "$M"
wait_until 10 test "$(cat -- "$TEST_TMP/uon.log" "$TEST_TMP/mount-uon.log" |
	grep -c "uon on $M: serving FUSE over io_uring: ")" -ge 2 ||
	fail "the remount registered no ring: $(tail -n 5 "$TEST_TMP/uon.log")"
pass "the remount serves FUSE over io_uring"
printf 'synced\n' >"$M/keep"
sync -- "$M/keep"
(for i in $(seq 100000); do : >"$M/busy$i" 2>/dev/null || exit 0; done) &
busy=$!
wait_until 10 test -e "$M/busy50" || fail "the busy loop made no files"
pid=${MOUNT_PIDS[$M]}
efsfs_crash "$M"
wait "$busy" || true
assert_ok "no efsfs mount left at $M" is_not_mounted "$M"
assert_ok "daemon $pid is gone" pid_gone "$pid"
if grep -qF " $M " /proc/mounts; then
	fail "a mount is left at $M"
fi
efsfs_mount uon "$M"
assert_eq "synced" "$(cat -- "$M/keep")" "synced data intact after kill -9 with the ring busy"
efsfs_umount "$M"
out=$(efsfs_fsck uon 2>&1) || fail "efsfs fsck uon after the crash: $out"
pass "fsck is clean after the crash"
finish
