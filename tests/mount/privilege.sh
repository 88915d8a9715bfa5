#!/bin/bash
# tests/mount/privilege.sh - mount suite: set-user-ID, set-group-ID and file
# capabilities are dropped by writes as on ext4, on the passthrough path as
# on the daemon path; a crash's uncommitted passthrough writes do not leak
# space; root's reserve on the data disk survives an unprivileged user's
# passthrough writes.
#   - An unprivileged user (nobody) holds a file open for writing (with
#     passthrough where the kernel has it); root makes it set-user-ID root
#     (chown + chmod 4755 succeed); the user's next write through the open
#     handle drops the bit, and on a `-o suid` mount the file then does not
#     run as euid 0.  The same for a handle opened after the chmod (it
#     shares the backing file), for security.capability, and root's own
#     writes keep the bit (CAP_FSETID), as on ext4.  A kill -9 of the
#     daemon right after the user's write does not bring the bit back.
#     The first case again with passthrough = false (the writeback cache).
#   - A write and a fallocate on the daemon path (a file that is already
#     set-user-ID when opened) drop the bit at once: stat does not show it.
#   - After a kill -9 during passthrough writes that were never fsynced,
#     recovery cuts data files back to the size the metadata records (only
#     past it), and fsck says so.
#   - An unprivileged user filling a small ext4 data disk through
#     passthrough stops at ENOSPC with root's reserved blocks still free.
# Needs: EFSFS (efsfs binary), root, /dev/fuse, setpriv, setcap/getcap,
# mkfs.ext4 and loop devices (for the reserve check).

# The user's commands are single-quoted on purpose: their shell expands them.
# shellcheck disable=SC2016
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
for tool in setpriv setcap getcap mkfs.ext4 dumpe2fs; do
	command -v "$tool" >/dev/null || skip "$tool is missing"
done

USER_ID=65534
AS_USER=(setpriv --reuid="$USER_ID" --regid="$USER_ID" --clear-groups)

kernel_has_passthrough()
{
	local major minor
	read -r major minor < <(uname -r | sed -n 's/^\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	((major > 6 || (major == 6 && minor >= 9))) || return 1
	[[ -r /proc/config.gz ]] && zgrep -q '^CONFIG_FUSE_PASSTHROUGH=y' /proc/config.gz
}

passthrough_opens()
{
	"$EFSFS" stats "$1" | sed -n 's/^PassthroughOpens: //p'
}

# ---- a process of the user that holds a file open ----------------------------------

# holder_start ID FILE: user nobody opens FILE read-write on fd 3 and then runs
# each command that holder_run ID sends, with the file still open; at most 120 s.
declare -A HOLDER_PIDS=()
holder_start()
{
	local id=$1 file=$2
	mkfifo -m 666 -- "$TEST_TMP/$id.cmd" "$TEST_TMP/$id.ack"
	timeout 120 "${AS_USER[@]}" bash -c '
		exec 3<>"$1" || exit 1
		echo open >"$3"
		while read -r cmd <"$2"; do
			[[ "$cmd" == quit ]] && break
			rc=0
			eval "$cmd" || rc=$?
			echo "$rc" >"$3"
		done' holder "$file" "$TEST_TMP/$id.cmd" "$TEST_TMP/$id.ack" \
		2>>"$TEST_TMP/holder.log" &
	HOLDER_PIDS[$id]=$!
	local ack
	ack=$(timeout 30 cat -- "$TEST_TMP/$id.ack") || fail "holder $id did not open $file"
	assert_eq open "$ack" "user $USER_ID holds $(basename -- "$file") open read-write"
}

# holder_run ID CMD: runs CMD (fd 3 is the open file) in holder ID; prints its status.
holder_run()
{
	echo "$2" >"$TEST_TMP/$1.cmd"
	timeout 30 cat -- "$TEST_TMP/$1.ack" || echo "no answer"
}

# holder_stop ID: the holder closes the file and exits.
holder_stop()
{
	echo quit >"$TEST_TMP/$1.cmd"
	wait "${HOLDER_PIDS[$1]}" || fail "holder $1 exited with status $?"
	unset "HOLDER_PIDS[$1]"
}

stop_holders()
{
	local pid
	for pid in "${HOLDER_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
}
# A holder keeps the mount busy: stop them before the cleanup unmounts.
eval "lib_fail() $(declare -f fail | tail -n +2)"
fail()
{
	stop_holders
	lib_fail "$@"
}

mode_of()
{
	stat -c %a -- "$1"
}

# ---- passthrough: privileges set while a handle is open -----------------------------

MNT="$TEST_TMP/mnt"
make_config priv
efsfs_mkfs priv
efsfs_mount priv "$MNT" suid
chmod 1777 -- "$MNT"
REF="$TEST_TMP/id.bin"
cp -- "$(command -v id)" "$REF"

"${AS_USER[@]}" bash -c 'umask 0; : >"$1"' sh "$MNT/q"
before=$(passthrough_opens priv)
holder_start q "$MNT/q"
after=$(passthrough_opens priv)
if kernel_has_passthrough; then
	((after == before + 1)) ||
		fail "the user's open of q was not a passthrough open ($before -> $after opens)"
	pass "the user's open of q uses passthrough"
fi
assert_ok "root: chown root:root q while the user holds it open" chown root:root -- "$MNT/q"
assert_ok "root: chmod 4755 q while the user holds it open" chmod 4755 -- "$MNT/q"
assert_eq 4755 "$(mode_of "$MNT/q")" "q is set-user-ID root"
assert_eq 0 "$(holder_run q "cat -- '$REF' >&3")" "the user writes a program through the open handle"
assert_eq 755 "$(mode_of "$MNT/q")" "the write dropped set-user-ID (handle still open)"
holder_stop q
assert_same_file "$REF" "$MNT/q" "q holds what the user wrote"
assert_eq 755 "$(mode_of "$MNT/q")" "q is not set-user-ID after the close"
out=$("${AS_USER[@]}" "$MNT/q" -u) || fail "running q as the user failed"
assert_eq "$USER_ID" "$out" "on a -o suid mount q runs with the user's euid, not root's"

# A second handle opened after the chmod shares the first one's backing file.
"${AS_USER[@]}" bash -c 'umask 0; : >"$1"' sh "$MNT/r"
holder_start r1 "$MNT/r"
chown root:root -- "$MNT/r"
chmod 6777 -- "$MNT/r"
before=$(passthrough_opens priv)
holder_start r2 "$MNT/r"
if kernel_has_passthrough; then
	assert_eq $((before + 1)) "$(passthrough_opens priv)" \
		"the later open shares the first one's passthrough backing file"
fi
assert_eq 6777 "$(mode_of "$MNT/r")" "r is set-user-ID and set-group-ID root with a handle open"
assert_eq 0 "$(holder_run r2 "printf second >&3")" "the user writes through the later handle"
assert_eq 777 "$(mode_of "$MNT/r")" "a write through the later handle drops both bits"
chmod 4777 -- "$MNT/r"
assert_eq 0 "$(holder_run r1 "printf first >&3")" "the user writes through the first handle"
assert_eq 777 "$(mode_of "$MNT/r")" "a write through the first handle drops set-user-ID"
chmod 4777 -- "$MNT/r"
printf root >>"$MNT/r"
assert_eq 4777 "$(mode_of "$MNT/r")" "root's own write keeps set-user-ID (CAP_FSETID), as on ext4"
holder_stop r1
holder_stop r2

# security.capability
"${AS_USER[@]}" bash -c 'umask 0; : >"$1"' sh "$MNT/c"
holder_start c "$MNT/c"
chown root:root -- "$MNT/c"
assert_ok "root: setcap cap_setuid+ep c while the user holds it open" \
	setcap cap_setuid+ep "$MNT/c"
[[ -n "$(getcap -- "$MNT/c")" ]] || fail "getcap shows no capability on c after setcap"
assert_eq 0 "$(holder_run c "cat -- '$REF' >&3")" "the user writes through the open handle of c"
assert_eq "" "$(getcap -- "$MNT/c")" "the write dropped security.capability"
holder_stop c

# A crash of the daemon right after such a write must not bring the bit back
# over the new data: dropping it is committed before the write lands.
"${AS_USER[@]}" bash -c 'umask 0; printf old! >"$1"' sh "$MNT/k"
holder_start k "$MNT/k"
chown root:root -- "$MNT/k"
chmod 4777 -- "$MNT/k"
sync -- "$MNT/k"
holder_run k "printf new >&3" >"$TEST_TMP/k.status"
efsfs_crash "$MNT"
assert_eq 0 "$(cat -- "$TEST_TMP/k.status")" \
	"the user wrote through the open handle, and the daemon was killed right after"
holder_stop k
efsfs_mount priv "$MNT" suid
assert_eq 777 "$(mode_of "$MNT/k")" "after the crash k is still not set-user-ID"
if kernel_has_passthrough; then
	assert_eq new! "$(cat -- "$MNT/k")" "k holds the user's overwrite (the backing file has it)"
fi

# ---- the daemon path: stat shows the dropped bit at once ----------------------------

printf 'x\n' >"$MNT/d"
chmod 4777 -- "$MNT/d"
"${AS_USER[@]}" bash -c 'echo more >>"$1"' sh "$MNT/d"
assert_eq 777 "$(mode_of "$MNT/d")" "stat right after a user's write on the daemon path"
chmod 4777 -- "$MNT/d"
"${AS_USER[@]}" fallocate -l 1M -- "$MNT/d"
assert_eq 777 "$(mode_of "$MNT/d")" "stat right after a user's fallocate"

efsfs_umount "$MNT"
rc=0
out=$(efsfs_fsck priv 2>&1) || rc=$?
((rc == 0)) || fail "fsck after the privilege checks exited $rc: $out"
pass "fsck is clean"

# The same on the writeback-cache path (no passthrough; the kernel drops the
# bits there itself through setattr).
make_config privwb "passthrough = false" "writeback_cache = true"
efsfs_mkfs privwb
MNTWB="$TEST_TMP/mnt-wb"
efsfs_mount privwb "$MNTWB" suid
chmod 1777 -- "$MNTWB"
"${AS_USER[@]}" bash -c 'umask 0; : >"$1"' sh "$MNTWB/q"
holder_start wbq "$MNTWB/q"
chown root:root -- "$MNTWB/q"
chmod 4755 -- "$MNTWB/q"
assert_eq 0 "$(holder_run wbq "cat -- '$REF' >&3")" "writeback cache: the user writes a program"
assert_eq 755 "$(mode_of "$MNTWB/q")" "writeback cache: the write dropped set-user-ID"
holder_stop wbq
out=$("${AS_USER[@]}" "$MNTWB/q" -u) || fail "running q as the user failed"
assert_eq "$USER_ID" "$out" "writeback cache: q runs with the user's euid"
assert_eq 0 "$(passthrough_opens privwb)" "passthrough = false opens nothing with passthrough"
efsfs_umount "$MNTWB"

# ---- space a crash leaked past the recorded size --------------------------------------

# A kill -9 while passthrough writes are not yet adopted leaves the data file
# longer than the size the metadata records; recovery (here run by fsck)
# cuts it back, and only past that size.
make_config leak
efsfs_mkfs leak
MNT2="$TEST_TMP/leak"
efsfs_mount leak "$MNT2"
HEAD_REF="$TEST_TMP/head.ref"
head -c $((1024 * 1024)) /dev/urandom >"$HEAD_REF"
cp -- "$HEAD_REF" "$MNT2/kept"
: >"$MNT2/empty"
sync -- "$MNT2/kept" "$MNT2/empty" "$MNT2"
data_file()
{
	local ino
	ino=$(stat -c %i -- "$MNT2/$1")
	printf '%s/data/%02x/%016x' "${DATA_DIRS[leak]}" $((ino & 255)) "$ino"
}
KEPT_DATA=$(data_file kept)
EMPTY_DATA=$(data_file empty)
exec 7<>"$MNT2/kept" 8<>"$MNT2/empty"
dd if=/dev/zero bs=1M count=9 seek=1 conv=notrunc status=none >&7
dd if=/dev/zero bs=1M count=9 status=none >&8
if kernel_has_passthrough; then
	assert_eq $((10 * 1024 * 1024)) "$(stat -c %s -- "$KEPT_DATA")" \
		"kept's data file holds 9 MiB of passthrough writes past its 1 MiB"
	assert_eq $((9 * 1024 * 1024)) "$(stat -c %s -- "$EMPTY_DATA")" \
		"empty's data file holds 9 MiB of passthrough writes"
fi
efsfs_crash "$MNT2"
exec 7>&- 8>&-
pass "kill -9 with both files open and their writes not fsynced"
rc=0
out=$(efsfs_fsck leak 2>&1) || rc=$?
((rc == 0)) || fail "fsck after the crash exited $rc: $out"
pass "fsck after the crash is clean"
if kernel_has_passthrough; then
	[[ "$out" == *"recovery: cut 2 data files back to the size the metadata records"* ]] ||
		fail "fsck does not report the two data files recovery cut: $out"
	pass "fsck reports the two data files recovery cut"
	assert_eq $((1024 * 1024)) "$(stat -c %s -- "$KEPT_DATA")" \
		"kept's data file is cut back to its recorded 1 MiB"
	assert_eq 0 "$(stat -c %s -- "$EMPTY_DATA")" "empty's data file is cut back to 0 bytes"
	assert_eq 0 "$(stat -c %b -- "$EMPTY_DATA")" "empty's data file uses no blocks any more"
fi
efsfs_mount leak "$MNT2"
kept_size=$(stat -c %s -- "$MNT2/kept")
assert_eq "$kept_size" "$(stat -c %s -- "$KEPT_DATA")" "kept's data file matches its size"
assert_eq "$(stat -c %s -- "$MNT2/empty")" "$(stat -c %s -- "$EMPTY_DATA")" \
	"empty's data file matches its size"
cmp -n $((1024 * 1024)) -- "$HEAD_REF" "$MNT2/kept" ||
	fail "the fsynced first MiB of kept changed across the crash and the recovery"
pass "the fsynced first MiB of kept is intact"
efsfs_umount "$MNT2"

# ---- root's reserve on the data disk ----------------------------------------------------

# A 1400 MiB ext4 (large enough that files open with passthrough, which
# needs 1 GiB free) with the default 5 % reserved for root.  A user fills
# the mount through passthrough: the write must stop at ENOSPC with root's
# reserved blocks still free, as for the user writing to ext4 directly.
IMG="$TEST_TMP/disk.img"
make_config reserve
DISK=${DATA_DIRS[reserve]}
truncate -s 1400M -- "$IMG"
mkfs.ext4 -q -F -m 5 -- "$IMG" || fail "mkfs.ext4 of $IMG failed"
mkdir -p -- "$DISK"
mount -o loop -- "$IMG" "$DISK" || fail "cannot mount the ext4 image $IMG on $DISK"
at_exit "umount -- '$DISK' || umount -l -- '$DISK'"
RESERVED=$(dumpe2fs -h -- "$IMG" 2>/dev/null | sed -n 's/^Reserved block count: *//p')
if ! [[ "$RESERVED" =~ ^[0-9]+$ ]] || ((RESERVED == 0)); then
	fail "dumpe2fs names no reserved block count for $IMG ('$RESERVED')"
fi
rmdir -- "$DISK/lost+found"
pass "a 1400 MiB ext4 with $RESERVED blocks reserved for root holds the data directory"
efsfs_mkfs reserve
MNT3="$TEST_TMP/reserve"
efsfs_mount reserve "$MNT3"
chmod 1777 -- "$MNT3"
before=$(passthrough_opens reserve)
rc=0
"${AS_USER[@]}" dd if=/dev/zero of="$MNT3/fill" bs=1M count=2000 status=none \
	2>"$TEST_TMP/fill.err" || rc=$?
if kernel_has_passthrough; then
	assert_eq $((before + 1)) "$(passthrough_opens reserve)" "the user's fill uses passthrough"
fi
((rc != 0)) || fail "the user wrote 2000 MiB to a 1400 MiB disk"
grep -q "No space left on device" "$TEST_TMP/fill.err" ||
	fail "the user's fill failed without ENOSPC: $(cat -- "$TEST_TMP/fill.err")"
pass "the user's fill ends with ENOSPC"
read -r free_blocks < <(stat -f -c %f -- "$DISK")
echo "free blocks on the data disk: $free_blocks, reserved for root: $RESERVED"
((free_blocks >= RESERVED)) ||
	fail "the user's writes took $((RESERVED - free_blocks)) of root's $RESERVED reserved blocks"
pass "root's reserved blocks are all still free after the user's fill"
assert_ok "root can still write 8 MiB on the data disk" \
	dd if=/dev/zero of="$DISK/root-file" bs=1M count=8 conv=fsync status=none
rm -f -- "$DISK/root-file"
assert_ok "metadata operations work on the filled mount" mkdir -- "$MNT3/after-fill"
assert_ok "the user can delete the fill" "${AS_USER[@]}" rm -- "$MNT3/fill"
efsfs_umount "$MNT3"
finish
