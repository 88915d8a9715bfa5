#!/bin/bash
# tests/mount/reserve.sh - mount suite: an unprivileged user cannot lock the
# file system by filling its metadata, and trusted.* names stay hidden.
# The data directory lives on a small loop-device ext4 (no root-reserved
# blocks), the mount is on the daemon path (passthrough = false).  An
# unprivileged user first fills the disk with data (ENOSPC at the 16 MiB the
# daemon keeps free), then keeps creating files and setting 64 KiB user.*
# values, logging each one that succeeded, until the file system says ENOSPC.
# It must say ENOSPC (never EIO), the user's files must hold at most the
# per-inode xattr total, root must still create, set xattrs, remove and
# write, and after a clean unmount, fsck and a remount every value the user
# was told was set must be there, byte for byte.  Then: trusted.* names are
# listed for root only, not for a user nor for root without CAP_SYS_ADMIN.
# Needs: EFSFS (efsfs binary), root, /dev/fuse, losetup, mkfs.ext4, useradd,
# python3, setfattr/getfattr, capsh.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
for tool in losetup mkfs.ext4 useradd userdel runuser python3 setfattr getfattr capsh; do
	command -v "$tool" >/dev/null || skip "$tool is missing"
done

DISK_MIB=96
MNT="$TEST_TMP/mnt"
make_config reserve "passthrough = false"
DISK=${DATA_DIRS[reserve]}
IMG="$TEST_TMP/disk.img"
truncate -s "${DISK_MIB}M" -- "$IMG"
mkfs.ext4 -q -F -m 0 -- "$IMG" || fail "mkfs.ext4 of $IMG failed"
LOOP=$(losetup --find --show -- "$IMG") || fail "no loop device for $IMG"
at_exit "losetup -d '$LOOP'"
mkdir -p -- "$DISK"
mount -- "$LOOP" "$DISK" || fail "cannot mount $LOOP on $DISK"
at_exit "umount -l -- '$DISK'"
# The detached daemon logs to syslog or, with nothing on /dev/log, to
# DATA_DIR/efsfs.log, on this disk; mount-reserve.log has only the lines it
# wrote before it detached.  The disk's log is copied at exit, before the
# disk goes, so that a failure shows it with the other logs.
at_exit "cp -- '$DISK/efsfs.log' '$TEST_TMP/daemon-reserve.log' 2>/dev/null || true"
chmod 700 -- "$DISK"
pass "a ${DISK_MIB} MiB ext4 on $LOOP holds the data directory"

USER_NAME="efsfs-rsv-$$"
useradd --no-create-home --home-dir / --shell /bin/sh -- "$USER_NAME" ||
	fail "useradd $USER_NAME failed"
at_exit "userdel -- '$USER_NAME' 2>/dev/null"
USER_TMP="$TEST_TMP/user"
mkdir -- "$USER_TMP"
chown -- "$USER_NAME" "$USER_TMP"

as_user()
{
	runuser -u "$USER_NAME" -- "$@"
}

disk_free()
{
	local avail bsize
	read -r avail bsize < <(stat -f -c '%a %S' -- "$DISK")
	echo $((avail * bsize))
}

# Prints the daemon's lines that tell of a lost group (a commit that failed
# for good); false when there is none.
lost_group()
{
	local log found=1
	for log in "$TEST_TMP/mount-reserve.log" "$DISK/efsfs.log"; do
		[[ -f "$log" ]] || continue
		grep -E "broken|changes are refused" -- "$log" && found=0
	done
	return "$found"
}

daemon_alive()
{
	local pid=${MOUNT_PIDS[$(canon "$MNT")]:-}
	[[ -n "$pid" ]] && ! pid_gone "$pid" && is_efsfs_mounted "$MNT"
}

# The user's filler and root's checker share the values: value i of file
# NAME is sha256("NAME:i") repeated to 64 KiB, so the checker needs only the
# log of what succeeded.
cat >"$TEST_TMP/xfill.py" <<'EOF'
import errno, hashlib, os, sys

def value(name, i):
    return (hashlib.sha256(f"{name}:{i}".encode()).digest() * 2048)[:65536]

class Full(Exception):
    pass

def attempt(d, op):
    """Runs op(); on ENOSPC commits the open group (fsync of the directory)
    and tries once more, so that ENOSPC is the disk's answer, not the
    estimate of a group in flight.  Full when it is ENOSPC again."""
    try:
        return op()
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(fd)
    os.close(fd)
    try:
        return op()
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise Full()
        raise

def fill(d, log, prefix):
    out = open(log, "a")
    over = False
    # 64 KiB values, four a file, until the disk is full for them
    n = 0
    try:
        while True:
            name = f"{prefix}x{n:05d}"
            path = os.path.join(d, name)
            attempt(d, lambda: os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)))
            for i in range(8):
                try:
                    os.setxattr(path, f"user.v{i}", value(name, i))
                except OSError as e:
                    if e.errno == errno.ENOSPC and i == 4:
                        if n == 0:
                            print("per-inode limit: the 5th 64 KiB value of a file is refused")
                        break          # the per-inode total; next file
                    if e.errno != errno.ENOSPC:
                        raise
                    attempt(d, lambda: os.setxattr(path, f"user.v{i}", value(name, i)))
                out.write(f"{name} user.v{i}\n")
                out.flush()
                over = over or i >= 4
            n += 1
    except Full:
        print(f"64 KiB values: full after {n} files")
    except OSError as e:
        return e.errno, "64 KiB values", over
    # then empty files until the disk is full for them too
    n = 0
    try:
        while True:
            path = os.path.join(d, f"{prefix}e{n:05d}")
            attempt(d, lambda: os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)))
            n += 1
    except Full:
        return errno.ENOSPC, f"empty files: full after {n}", over
    except OSError as e:
        return e.errno, "empty files", over

def check(d, log):
    bad = 0
    count = 0
    for line in open(log):
        name, attr = line.split()
        count += 1
        try:
            got = os.getxattr(os.path.join(d, name), attr)
        except OSError as e:
            print(f"{name} {attr}: {os.strerror(e.errno)}")
            bad += 1
            continue
        if got != value(name, int(attr[6:])):
            print(f"{name} {attr}: wrong value ({len(got)} bytes)")
            bad += 1
    print(f"{count} values checked, {bad} bad")
    return bad

if sys.argv[1] == "fill":
    err, what, over = fill(sys.argv[2], sys.argv[3], sys.argv[4])
    if over:
        print("a file took more than four 64 KiB values")
    print(f"stopped at {what}: {errno.errorcode.get(err, err)}")
    sys.exit(0 if err == errno.ENOSPC and not over else 1)
sys.exit(1 if check(sys.argv[2], sys.argv[3]) else 0)
EOF

efsfs_mkfs reserve
efsfs_mount reserve "$MNT"
mkdir -- "$MNT/shared"
chmod 1777 -- "$MNT/shared"
printf 'root\n' >"$MNT/root-file"
sync -- "$MNT/root-file"

# ---- the user fills the disk ----------------------------------------------------------

rc=0
as_user dd if=/dev/zero of="$MNT/shared/big" bs=1M count=$((2 * DISK_MIB)) conv=fsync \
	status=none 2>"$TEST_TMP/dd.err" || rc=$?
((rc != 0)) || fail "the user wrote $((2 * DISK_MIB)) MiB to a $DISK_MIB MiB disk"
grep -q "No space left on device" "$TEST_TMP/dd.err" ||
	fail "the user's big write failed without ENOSPC: $(cat -- "$TEST_TMP/dd.err")"
pass "the user's data write stops with ENOSPC ($(disk_free) bytes free)"

rc=0
out=$(as_user python3 "$TEST_TMP/xfill.py" fill "$MNT/shared" "$USER_TMP/xattrs.log" "" 2>&1) ||
	rc=$?
echo "$out"
((rc == 0)) || fail "the user's xattr fill did not end with ENOSPC: $out"
grep -q "per-inode limit" <<<"$out" ||
	fail "a file took more than four 64 KiB values: $out"
ACKED=$(wc -l <"$USER_TMP/xattrs.log")
((ACKED > 0)) || fail "the user set no xattr at all before ENOSPC"
pass "the user's xattr fill ends with ENOSPC after $ACKED values of 64 KiB"
daemon_alive || fail "the mount or its daemon is gone after the xattr fill"
FREE=$(disk_free)
echo "free on the data disk after the xattr fill: $FREE bytes"
((FREE >= 4 * 1024 * 1024)) ||
	fail "only $FREE bytes are free after the user's fill: the user ate root's part"
pass "at least 4 MiB stay free after the user's fill"
# the operator learns why: free and kept bytes, once a minute at most
grep -qE "a change of the metadata was refused \(ENOSPC\): the data disk has [0-9]+ bytes free for users, [0-9]+ are kept" \
	-- "$DISK/efsfs.log" ||
	fail "the daemon's log ($DISK/efsfs.log) does not say why the user's changes got ENOSPC"
pass "the daemon's log says why the user's changes got ENOSPC"

# The free space the filler saw can grow a little afterwards (ext4 gives
# back what it reserved for delayed allocation): a second round must end
# with ENOSPC too, after little more.
rc=0
out=$(as_user python3 "$TEST_TMP/xfill.py" fill "$MNT/shared" "$USER_TMP/xattrs.log" r2- 2>&1) ||
	rc=$?
echo "$out"
((rc == 0)) || fail "the user's second xattr fill did not end with ENOSPC: $out"
MORE=$(($(wc -l <"$USER_TMP/xattrs.log") - ACKED))
((MORE <= 32)) || fail "the user's second round set $MORE more values of 64 KiB"
pass "a second round of the user's fill ends with ENOSPC after $MORE more values"
FREE=$(disk_free)
((FREE >= 4 * 1024 * 1024)) ||
	fail "only $FREE bytes are free after the user's second round"
pass "at least 4 MiB stay free after the second round ($FREE bytes)"

# ---- root still works, nothing says EIO ------------------------------------------------

assert_ok "root creates a file" touch -- "$MNT/root-new"
assert_ok "root sets an xattr" setfattr -n user.root -v hello -- "$MNT/root-new"
assert_eq hello "$(getfattr --only-values -n user.root -- "$MNT/root-new")" \
	"root's xattr reads back"
assert_ok "root makes a directory" mkdir -- "$MNT/root-dir"
assert_ok "root removes one of the user's files" rm -- "$MNT/shared/x00000"
assert_ok "root removes the user's big file" rm -- "$MNT/shared/big"
assert_ok "root writes 4 MiB once the big file is gone" \
	dd if=/dev/urandom of="$MNT/root-dir/data" bs=1M count=4 conv=fsync status=none
# (not syncfs: it reports the user's old writeback ENOSPC once, as on ext4)
assert_ok "root fsyncs a file and a directory" sync -- "$MNT/root-dir/data" "$MNT/root-dir"
assert_eq root "$(cat -- "$MNT/root-file")" "root's early file reads back"
sed -i '/^x00000 /d' -- "$USER_TMP/xattrs.log"
assert_ok "the user, too, can create again once space is back" touch -- "$MNT/shared/after"
daemon_alive || fail "the mount or its daemon is gone"
if lost_group; then
	fail "the daemon logged a lost group"
fi
pass "the daemon logged no lost group"

# ---- nothing acknowledged is lost -----------------------------------------------------

efsfs_umount "$MNT"
rc=0
out=$(efsfs_fsck reserve 2>&1) || rc=$?
if ((rc != 0)) || ! grep -qE '(^|[^0-9])0 errors' <<<"$out"; then
	fail "efsfs fsck after the fill exited $rc: $out"
fi
pass "fsck is clean after the fill"
efsfs_mount reserve "$MNT"
rc=0
out=$(python3 "$TEST_TMP/xfill.py" check "$MNT/shared" "$USER_TMP/xattrs.log" 2>&1) || rc=$?
echo "$out" | tail -n 5
((rc == 0)) || fail "values the user was told were set are missing after remount"
pass "every acknowledged xattr value is there after remount"
assert_eq hello "$(getfattr --only-values -n user.root -- "$MNT/root-new")" \
	"root's xattr is there after remount"
assert_ok "root's directory is there after remount" test -d "$MNT/root-dir"
RES_SIZE=$(stat -c %s -- "$DISK/meta.db-reserve")
assert_eq $((8 * 1024 * 1024)) "$RES_SIZE" "the 8 MiB reserve file is whole again"

# ---- another writer fills the disk to the last block ----------------------------------

# The unmount truncated the WAL, so the next commit must allocate blocks;
# with the disk full to the last block, only the reserve can give them.
dd if=/dev/zero of="$DISK/outside-filler" bs=64k status=none 2>/dev/null || true
sync -f -- "$DISK" 2>/dev/null || true
echo "free on the data disk after the outside fill: $(disk_free) bytes"
for f in x00001 x00002 x00003; do
	assert_ok "root removes $f on a disk full to the last block" rm -- "$MNT/shared/$f"
	sed -i "/^$f /d" -- "$USER_TMP/xattrs.log"
done
assert_ok "root fsyncs the directory on a full disk" sync -- "$MNT/shared"
assert_errno ENOSPC "root's create on a disk full to the last block reports ENOSPC" \
	touch -- "$MNT/root-full"
daemon_alive || fail "the mount or its daemon is gone after the outside fill"
RES_SIZE=$(stat -c %s -- "$DISK/meta.db-reserve")
((RES_SIZE < 8 * 1024 * 1024)) ||
	fail "the reserve file is still whole: the commits on the full disk did not need it"
pass "the commits on the full disk took $((8 * 1024 * 1024 - RES_SIZE)) bytes of the reserve"
# The other writer's file goes; its blocks are free once ext4 says so
# (statvfs), and from then on root's create must work.  (Once in CI, and 3
# times in about 250 runs under two CPU hogs, the daemon refused the create
# right after the rm with the free space it had seen before it: wait for
# the disk to show the space, boundedly, before asking.)
FILLER_SIZE=$(stat -c %s -- "$DISK/outside-filler")
rm -- "$DISK/outside-filler"
# shellcheck disable=SC2016 # evaluated at each try
wait_until 10 eval '(($(disk_free) >= FILLER_SIZE))' ||
	fail "the disk shows $(disk_free) bytes free 10 s after removing a $FILLER_SIZE-byte file"
assert_ok "root creates a file once the other writer's file is gone" touch -- "$MNT/root-full"
RES_SIZE=$(stat -c %s -- "$DISK/meta.db-reserve")
assert_eq $((8 * 1024 * 1024)) "$RES_SIZE" "the reserve is whole again before anything grows"
if lost_group; then
	fail "the daemon logged a lost group"
fi
pass "the daemon logged no lost group"

# ---- trusted.* is for CAP_SYS_ADMIN ------------------------------------------------

F="$MNT/shared/after"
assert_ok "root sets a trusted.* xattr" setfattr -n trusted.secret -v s3cret -- "$F"
assert_ok "root sets a user.* xattr" setfattr -n user.public -v pub -- "$F"
names_of()
{
	"$@" python3 -c 'import os, sys; print(" ".join(sorted(os.listxattr(sys.argv[1]))))' "$F"
}
assert_eq "trusted.secret user.public" "$(names_of env)" "root lists both names"
assert_eq "user.public" "$(names_of as_user)" "the user lists user.public only"
assert_eq "user.public" "$(names_of capsh --drop=cap_sys_admin --)" \
	"root without CAP_SYS_ADMIN lists user.public only"
SIZE_USER=$(as_user python3 -c 'import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
print(libc.listxattr(sys.argv[1].encode(), None, 0))' "$F")
assert_eq 12 "$SIZE_USER" "the user's listxattr size query counts user.public only"
assert_errno "No such attribute" "the user cannot read trusted.secret" \
	as_user getfattr -n trusted.secret -- "$F"
assert_eq s3cret "$(getfattr --only-values -n trusted.secret -- "$F")" "root reads trusted.secret"

efsfs_umount "$MNT"
efsfs_mount reserve "$MNT"
for f in x00001 x00002 x00003; do
	assert_ok "$f stays removed after remount" test ! -e "$MNT/shared/$f"
done
rc=0
out=$(python3 "$TEST_TMP/xfill.py" check "$MNT/shared" "$USER_TMP/xattrs.log" 2>&1) || rc=$?
echo "$out" | tail -n 5
((rc == 0)) || fail "acknowledged values are missing after the full-disk commits"
pass "every acknowledged xattr value is there after the second remount"
efsfs_umount "$MNT"
finish
