#!/bin/bash
# tests/mount/posix.sh - mount suite: mkfs and mount an efsfs with default
# options, run the POSIX conformance program (posix_test) on it with the EFS
# limits expected, unmount, require a clean fsck, then remount and check that
# files written before the run are intact.  The default mount uses FUSE
# passthrough where the kernel has it (root, Linux 6.9+); a second file
# system with passthrough = false runs the program on the writeback-cache
# path, and with fuse_spin_us = 0 (loop.c hands every request to a worker).
# Needs: EFSFS (efsfs binary), POSIX_TEST (posix_test binary), root, /dev/fuse.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
if [[ -z "${POSIX_TEST:-}" || ! -x "$POSIX_TEST" ]]; then
	fail "POSIX_TEST must name the posix_test binary (got '${POSIX_TEST:-}')"
fi

# run_posix DIR WHAT: the conformance program on DIR, with the EFS limits.
run_posix()
{
	local rc=0
	EFSFS_TEST_DIR="$1" EFSFS_EXPECT_EFS_LIMITS=1 timeout 800 "$POSIX_TEST" || rc=$?
	if ((rc != 0)); then
		fail "posix_test on $1 ($2) exited $rc (see the check output above)"
	fi
	pass "posix_test on $2"
}

# fsck_clean NAME WHEN: efsfs fsck of the unmounted NAME finds nothing.
fsck_clean()
{
	local rc=0 out
	out=$(efsfs_fsck "$1" 2>&1) || rc=$?
	if ((rc != 0)); then
		fail "efsfs fsck $1 $2 exited $rc: $out"
	fi
	pass "fsck is clean $2"
}

MNT="$TEST_TMP/mnt"
make_config posix
efsfs_mkfs posix
efsfs_mount posix "$MNT"

# Files written before the conformance run; they must survive it, an unmount
# and a remount. data.bin spans more than one chunk and ends mid-block.
REF="$TEST_TMP/keep.ref"
SPARSE_END=$((64 * 1024 * 1024))
head -c $((9 * 1024 * 1024 + 123)) /dev/urandom >"$REF"
mkdir "$MNT/keep"
cp -- "$REF" "$MNT/keep/data.bin"
printf 'small file\n' >"$MNT/keep/small.txt"
ln -s data.bin "$MNT/keep/link"
printf 'end' | dd of="$MNT/keep/sparse" bs=1 seek="$SPARSE_END" conv=notrunc status=none
sync -- "$MNT/keep/data.bin" "$MNT/keep/sparse"
assert_same_file "$REF" "$MNT/keep/data.bin" "data written through the mount reads back"

run_posix "$MNT" "an efsfs mount"
assert_eq "keep" "$(ls -A -- "$MNT")" "posix_test removed its own files"

# Passthrough is used whenever this kernel has it.
kernel_has_passthrough()
{
	local v
	v=$(uname -r | sed -n 's/^\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	read -r major minor <<<"$v"
	((major > 6 || (major == 6 && minor >= 9))) || return 1
	[[ -r /proc/config.gz ]] && zgrep -q '^CONFIG_FUSE_PASSTHROUGH=y' /proc/config.gz
}
passthrough_opens()
{
	"$EFSFS" stats "$1" | sed -n 's/^PassthroughOpens: //p'
}
opens=$(passthrough_opens posix)
if kernel_has_passthrough; then
	[[ "$opens" =~ ^[0-9]+$ ]] && ((opens > 100)) ||
		fail "this kernel has FUSE passthrough, but only '$opens' files were opened with it"
	pass "$opens files opened with passthrough during the run"
else
	assert_eq "0" "$opens" "no passthrough opens on a kernel without it"
fi

efsfs_umount "$MNT"
fsck_clean posix "after the conformance run"

efsfs_mount posix "$MNT"
assert_same_file "$REF" "$MNT/keep/data.bin" "data.bin intact after remount"
assert_eq "small file" "$(cat -- "$MNT/keep/small.txt")" "small.txt intact after remount"
assert_eq "data.bin" "$(readlink -- "$MNT/keep/link")" "symlink intact after remount"
assert_eq "$((SPARSE_END + 3))" "$(stat -c %s -- "$MNT/keep/sparse")" \
	"sparse file size after remount"
assert_eq "end" "$(tail -c 3 -- "$MNT/keep/sparse")" "sparse file tail after remount"
assert_eq "0" "$(head -c "$SPARSE_END" -- "$MNT/keep/sparse" | tr -d '\0' | wc -c)" \
	"sparse file hole reads as zeros after remount"
printf 'after remount\n' >"$MNT/keep/new.txt"
assert_eq "after remount" "$(cat -- "$MNT/keep/new.txt")" "writable after remount"
efsfs_umount "$MNT"
fsck_clean posix "after the remount"

# The same program on the writeback-cache path.
MNT2="$TEST_TMP/mnt-wb"
make_config posixwb "passthrough = false" "writeback_cache = true" "fuse_spin_us = 0"
efsfs_mkfs posixwb
efsfs_mount posixwb "$MNT2"
run_posix "$MNT2" "an efsfs mount with passthrough = false"
assert_eq "0" "$(passthrough_opens posixwb)" "passthrough = false opens nothing with passthrough"
efsfs_umount "$MNT2"
fsck_clean posixwb "after the writeback-cache run"
finish
