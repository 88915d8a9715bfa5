#!/bin/bash
# tests/mount/enospc.sh - mount suite: a full data disk and the name limits.
# The data directory lives on a 64 MiB tmpfs; a big write must fail with
# ENOSPC (on write, fsync or close: the writeback cache may defer the error)
# while the mount stays up, metadata operations keep working (the daemon keeps
# space in reserve for them), deleting the big file makes room again and data
# written before the disk filled is intact; then unmount, fsck, remount.
# Also: a 256-byte name and a 4081-byte symlink target are refused with
# ENAMETOOLONG, 255 and 4080 bytes are accepted.
# Needs: EFSFS (efsfs binary), root, /dev/fuse, tmpfs.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse

DISK_MIB=64
MNT="$TEST_TMP/mnt"
make_config enospc
DISK=${DATA_DIRS[enospc]}
mkdir -p -- "$DISK"
mount -t tmpfs -o "size=${DISK_MIB}m,mode=0700" efsfs-enospc-test "$DISK" ||
	fail "cannot mount a tmpfs on $DISK"
at_exit "umount -l -- '$DISK'"
pass "a ${DISK_MIB} MiB tmpfs holds the data directory"

# Free bytes on the data disk.
disk_free()
{
	local avail bsize
	read -r avail bsize < <(stat -f -c '%a %S' -- "$DISK")
	echo $((avail * bsize))
}

# shellcheck disable=SC2317 # called through wait_until
disk_free_at_least()
{
	(($(disk_free) >= $1))
}

daemon_alive()
{
	local pid=${MOUNT_PIDS[$(canon "$MNT")]:-}
	[[ -n "$pid" ]] && ! pid_gone "$pid" && is_efsfs_mounted "$MNT"
}

efsfs_mkfs enospc
efsfs_mount enospc "$MNT"

# ---- data written before the disk fills --------------------------------------------

REF_A="$TEST_TMP/a.ref"
REF_B="$TEST_TMP/b.ref"
head -c $((3 * 1024 * 1024 + 17)) /dev/urandom >"$REF_A"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$REF_B"
mkdir -- "$MNT/keep"
cp -- "$REF_A" "$MNT/keep/a"
printf 'small\n' >"$MNT/keep/small"
sync -- "$MNT/keep/a" "$MNT/keep/small" "$MNT/keep"
pass "files written before the disk fills"

# ---- fill the disk --------------------------------------------------------------------

# Three writers at once, as the reserve must hold against concurrent writes too.
FILL_PIDS=()
for i in 1 2 3; do
	dd if=/dev/zero of="$MNT/big$i" bs=1M count=$((4 * DISK_MIB)) conv=fsync status=none \
		2>"$TEST_TMP/fill$i.err" &
	FILL_PIDS+=($!)
done
for i in 1 2 3; do
	rc=0
	wait "${FILL_PIDS[i - 1]}" || rc=$?
	if ((rc == 0)); then
		fail "writing $((4 * DISK_MIB)) MiB to a $DISK_MIB MiB disk succeeded (writer $i)"
	fi
	if ! grep -q "No space left on device" "$TEST_TMP/fill$i.err"; then
		fail "writer $i failed without ENOSPC: $(cat -- "$TEST_TMP/fill$i.err")"
	fi
done
pass "three big writes at once report ENOSPC (dd conv=fsync)"
daemon_alive || fail "the mount or its daemon is gone after ENOSPC"
pass "the mount and its daemon survive ENOSPC"
FREE=$(disk_free)
echo "free on the data disk after the fill: $FREE bytes"
# The daemon keeps 16 MiB for metadata; the fill itself commits a little.
if ((FREE < 12 * 1024 * 1024)); then
	fail "the data disk has only $FREE bytes free after the fill: the reserve kept" \
		"for metadata was overrun"
fi
pass "at least 12 MiB stay free on the data disk for metadata"

assert_errno ENOSPC "appending to the big file again reports ENOSPC" \
	dd if=/dev/zero of="$MNT/big1" bs=1M count=$((2 * DISK_MIB)) oflag=append \
	conv=notrunc,fsync status=none
assert_errno ENOSPC "writing a new 8 MiB file reports ENOSPC" \
	dd if="$REF_B" of="$MNT/other" bs=1M conv=fsync status=none
daemon_alive || fail "the mount or its daemon is gone after the second ENOSPC"
pass "the mount survives repeated ENOSPC"

# ---- metadata still works ---------------------------------------------------------------

assert_ok "mkdir on a full disk" mkdir -- "$MNT/dir"
assert_ok "touch on a full disk" touch -- "$MNT/dir/empty"
assert_ok "rename on a full disk" mv -- "$MNT/dir/empty" "$MNT/dir/renamed"
assert_ok "chmod on a full disk" chmod 600 -- "$MNT/dir/renamed"
assert_ok "symlink on a full disk" ln -s renamed "$MNT/dir/link"
assert_ok "hard link on a full disk" ln -- "$MNT/dir/renamed" "$MNT/dir/hard"
for ((i = 0; i < 100; i++)); do
	: >"$MNT/dir/many-$i" || fail "creating empty file $i of 100 on a full disk failed"
done
pass "100 empty files created on a full disk"
for ((i = 0; i < 100; i++)); do
	rm -- "$MNT/dir/many-$i" || fail "removing empty file $i of 100 on a full disk failed"
done
pass "removing them on a full disk"
assert_ok "rm on a full disk" rm -- "$MNT/dir/renamed" "$MNT/dir/hard" "$MNT/dir/link"
assert_ok "rmdir on a full disk" rmdir -- "$MNT/dir"
assert_same_file "$REF_A" "$MNT/keep/a" "a file written before the fill reads back"
assert_eq small "$(cat -- "$MNT/keep/small")" "a small file written before the fill reads back"

# ---- deleting frees space ---------------------------------------------------------------

rm -f -- "$MNT/other"
assert_ok "deleting the big files" rm -- "$MNT/big1" "$MNT/big2" "$MNT/big3"
if ! wait_until "$EFSFS_WAIT_SECS" disk_free_at_least $((32 * 1024 * 1024)); then
	fail "the data disk has $(disk_free) bytes free after deleting the big files"
fi
pass "deleting the big files frees their space on the data disk"
assert_ok "an 8 MiB file can be written after the delete" \
	dd if="$REF_B" of="$MNT/after" bs=1M conv=fsync status=none
assert_same_file "$REF_B" "$MNT/after" "the 8 MiB file reads back"
assert_same_file "$REF_A" "$MNT/keep/a" "the file written before the fill is intact"

# ---- name limits -----------------------------------------------------------------------

# Prints a string of $1 copies of $2.
repeat()
{
	local s
	printf -v s '%*s' "$1" ''
	echo "${s// /$2}"
}

NAME255=$(repeat 255 n)
NAME256=$(repeat 256 n)
assert_ok "a 255-byte name is accepted" touch -- "$MNT/$NAME255"
assert_eq "$NAME255" "$(find "$MNT" -mindepth 1 -maxdepth 1 -name "$NAME255" -printf '%f\n')" \
	"the 255-byte name is listed by readdir"
assert_errno ENAMETOOLONG "touch of a 256-byte name fails" touch -- "$MNT/$NAME256"
assert_errno ENAMETOOLONG "mkdir of a 256-byte name fails" mkdir -- "$MNT/$NAME256"
assert_errno ENAMETOOLONG "rename to a 256-byte name fails" \
	mv -T -- "$MNT/$NAME255" "$MNT/$NAME256"
assert_ok "the 255-byte name is still there" test -f "$MNT/$NAME255"
rm -- "$MNT/$NAME255"

TARGET4080=$(repeat 4080 t)
TARGET4081=$(repeat 4081 t)
assert_ok "a 4080-byte symlink target is accepted" ln -s -- "$TARGET4080" "$MNT/long-link"
assert_eq "$TARGET4080" "$(readlink -- "$MNT/long-link")" "the 4080-byte target reads back"
assert_errno ENAMETOOLONG "a 4081-byte symlink target is refused" \
	ln -s -- "$TARGET4081" "$MNT/too-long-link"
if [[ -e "$MNT/too-long-link" || -L "$MNT/too-long-link" ]]; then
	fail "the refused symlink exists"
fi
pass "the refused symlink was not created"

# ---- unmount, fsck, remount -------------------------------------------------------------

efsfs_umount "$MNT"
rc=0
out=$(efsfs_fsck enospc 2>&1) || rc=$?
if ((rc != 0)) || ! grep -qE '(^|[^0-9])0 errors' <<<"$out"; then
	fail "efsfs fsck after the full-disk run exited $rc: $out"
fi
pass "fsck is clean after the full-disk run"
efsfs_mount enospc "$MNT"
assert_same_file "$REF_A" "$MNT/keep/a" "the early file is intact after remount"
assert_same_file "$REF_B" "$MNT/after" "the file written after the delete is intact after remount"
assert_eq "$TARGET4080" "$(readlink -- "$MNT/long-link")" "the long symlink is intact after remount"
assert_eq "after keep long-link" \
	"$(find "$MNT" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ' | sed 's/ $//')" \
	"nothing else is left in the root"
efsfs_umount "$MNT"
finish
