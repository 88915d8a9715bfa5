#!/bin/bash
# tests/mount/lifecycle_mount.sh - mount suite: the life of a mount as
# scripts, fstab and systemd see it: the VFS flags of -o (noexec, nosuid,
# nodev) on the kernel's mount, the mount's source as written in fstab
# (`mount -a` twice), umount followed at once by mount or fsck (in a loop),
# a mount point left dead by kill -9, `efsfs info` on a mounted file system,
# and -o ro on a read-only data directory.
#
# mount(8) runs /sbin/mount.efsfs; for the duration of the test that is a
# symlink to $EFSFS (an installed helper is moved aside and put back on exit).
# Needs: EFSFS (efsfs binary), root, /dev/fuse, mount(8) from util-linux.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
command -v mount >/dev/null || fail "mount(8) is missing"

# Per-mount options (sixth field of /proc/self/mountinfo) of the mount at $1.
mount_flags()
{
	awk -v m="$(canon "$1")" '$5 == m { s = $6 } END { print s }' /proc/self/mountinfo
}

# Source of the mount at $1 (the field after the file system type).
mount_source()
{
	awk -v m="$(canon "$1")" '$5 == m { for (i = 7; $i != "-"; i++); s = $(i + 2) }
		END { print s }' /proc/self/mountinfo
}

# has_flag FLAGS FLAG: FLAG is one of the comma-separated FLAGS.
has_flag()
{
	[[ ",$1," == *",$2,"* ]]
}

NAME=lm
MNT="$TEST_TMP/mnt"
mkdir -p -- "$MNT"
chmod 755 -- "$MNT"
make_config "$NAME"
CONF=$EFSFS_CONFIG
efsfs_mkfs "$NAME"
install_mount_helper

# ---- VFS flags: noexec, nosuid, nodev reach the kernel's mount ---------------------------

# The default for a FUSE mount, also for root: nosuid,nodev, exec allowed.
efsfs_mount "$NAME" "$MNT"
FLAGS=$(mount_flags "$MNT")
if ! has_flag "$FLAGS" nosuid || ! has_flag "$FLAGS" nodev || has_flag "$FLAGS" noexec; then
	fail "a default mount has flags '$FLAGS', expected nosuid,nodev and no noexec"
fi
pass "a default mount is nosuid,nodev and allows exec ($FLAGS)"
cp -- /bin/true "$MNT/true"
chmod 755 -- "$MNT/true"
assert_ok "a binary on a default mount runs" "$MNT/true"
efsfs_umount "$MNT"

run mount -t efsfs -o "rw,noexec,nosuid,nodev,config=$CONF" "$NAME" "$MNT"
assert_eq 0 "$RC" "mount -t efsfs -o rw,noexec,nosuid,nodev exits 0 ($ERR)"
efsfs_adopt_mount "$NAME" "$MNT"
FLAGS=$(mount_flags "$MNT")
for f in nosuid nodev noexec; do
	has_flag "$FLAGS" "$f" || fail "-o noexec,nosuid,nodev: mountinfo flags '$FLAGS' lack $f"
done
pass "mountinfo shows nosuid,nodev,noexec ($FLAGS)"
assert_errno EACCES "a binary on a noexec mount does not run" "$MNT/true"
efsfs_umount "$MNT"

# suid and dev are honoured too when root asks for them; exec undoes noexec.
# (mount(8) passes only the flags it sets, so suid, dev and exec reach the
# helper only when it is called directly, or through efsfs mount -o.)
run "$HELPER" "$NAME" "$MNT" -o "suid,dev,noexec,exec,config=$CONF"
assert_eq 0 "$RC" "mount.efsfs -o suid,dev,noexec,exec exits 0 ($ERR)"
efsfs_adopt_mount "$NAME" "$MNT"
FLAGS=$(mount_flags "$MNT")
if has_flag "$FLAGS" nosuid || has_flag "$FLAGS" nodev || has_flag "$FLAGS" noexec; then
	fail "-o suid,dev,noexec,exec: mountinfo flags are '$FLAGS'"
fi
pass "-o suid,dev,exec clear nosuid, nodev and noexec ($FLAGS)"
assert_ok "a binary on an exec mount runs" "$MNT/true"
efsfs_umount "$MNT"
efsfs_mount "$NAME" "$MNT" suid
FLAGS=$(mount_flags "$MNT")
if has_flag "$FLAGS" nosuid || ! has_flag "$FLAGS" nodev; then
	fail "efsfs mount -o suid: mountinfo flags are '$FLAGS', expected nodev only"
fi
pass "efsfs mount -o suid clears nosuid only ($FLAGS)"
efsfs_umount "$MNT"

# ---- the source as written: mount -a twice with a NAME:/ fstab line -----------------------

FSTAB="$TEST_TMP/fstab"
printf '# efsfs lifecycle_mount test\n%s %s efsfs defaults,_netdev,nofail,config=%s 0 0\n' \
	"$NAME:/" "$(canon "$MNT")" "$CONF" >"$FSTAB"
run mount -T "$FSTAB" -a
assert_eq 0 "$RC" "mount -T FSTAB -a with a NAME:/ line exits 0 ($ERR)"
efsfs_adopt_mount "$NAME" "$MNT"
run mount -T "$FSTAB" -a
assert_eq 0 "$RC" "a second mount -T FSTAB -a exits 0 ($ERR; source $(mount_source "$MNT"), \
$HELPER -> $(readlink -- "$HELPER"))"
if [[ "$ERR" == *"in use"* ]]; then
	fail "the second mount -a tried to mount again: $ERR"
fi
pass "the second mount -a sees the file system mounted"
assert_eq 1 "$(awk -v m="$(canon "$MNT")" '$5 == m' /proc/self/mountinfo | wc -l)" \
	"one mount on $MNT after mount -a twice"
assert_eq "$NAME:/" "$(mount_source "$MNT")" "the mount's source is NAME:/ as written in fstab"
efsfs_umount "$MNT"
printf '%s %s efsfs _netdev,config=%s 0 0\n' "$NAME" "$(canon "$MNT")" "$CONF" >"$FSTAB"
run mount -T "$FSTAB" -a
assert_eq 0 "$RC" "mount -T FSTAB -a with a NAME line exits 0 ($ERR)"
efsfs_adopt_mount "$NAME" "$MNT"
assert_eq "$NAME" "$(mount_source "$MNT")" "the mount's source is NAME as written in fstab"
run mount -T "$FSTAB" -a
assert_eq 0 "$RC" "a second mount -a of a NAME line exits 0 ($ERR)"
efsfs_umount "$MNT"

# ---- efsfs info on a mounted file system ---------------------------------------------------

run "$EFSFS" info "$NAME"
assert_eq 0 "$RC" "efsfs info of an unmounted file system exits 0 ($ERR)"
INFO_OFFLINE=$OUT
grep -qE "^file_system_id: $FS_ID\$" <<<"$INFO_OFFLINE" ||
	fail "efsfs info does not show $FS_ID: $INFO_OFFLINE"
efsfs_mount "$NAME" "$MNT"
run "$EFSFS" info "$NAME"
assert_eq 0 "$RC" "efsfs info of a mounted file system exits 0 ($ERR)"
assert_eq "$INFO_OFFLINE" "$OUT" "efsfs info says the same mounted and unmounted"
printf 'after info\n' >"$MNT/after-info"
assert_eq "after info" "$(cat -- "$MNT/after-info")" "the mount still works after efsfs info"
efsfs_umount "$MNT"

# ---- a mount point left dead by kill -9 ----------------------------------------------------

# kill_daemon MNT: kill -9 of the daemon serving MNT, leaving its dead mount there.
kill_daemon()
{
	local mnt pid
	mnt=$(canon "$1")
	pid=${MOUNT_PIDS[$mnt]}
	kill -KILL "$pid"
	wait_until "$EFSFS_WAIT_SECS" pid_gone "$pid" || fail "daemon $pid survived kill -9"
	unset "MOUNT_PIDS[$mnt]" "MOUNT_NAMES[$mnt]"
	if stat -- "$mnt" >/dev/null 2>&1; then
		fail "$mnt still answers after its daemon was killed"
	fi
}

# mounts_on MNT: how many mounts are stacked on MNT.
mounts_on()
{
	awk -v m="$(canon "$1")" '$5 == m' /proc/self/mountinfo | wc -l
}

efsfs_mount "$NAME" "$MNT"
printf 'before kill\n' >"$MNT/before-kill"
sync -- "$MNT/before-kill"
kill_daemon "$MNT"
run "$EFSFS" mount "$NAME" "$MNT"
assert_eq 0 "$RC" "efsfs mount on the dead mount of the same file system exits 0 ($ERR)"
[[ "$ERR" == *"daemon that died"*"detached"* ]] ||
	fail "efsfs mount did not say it detached the dead mount: $ERR"
pass "efsfs mount says it detached the dead mount"
efsfs_adopt_mount "$NAME" "$MNT"
assert_eq 1 "$(mounts_on "$MNT")" "only the new mount is on $MNT"
assert_eq "before kill" "$(cat -- "$MNT/before-kill")" "a file synced before kill -9 reads back"
kill_daemon "$MNT"
run mount -t efsfs -o "config=$CONF" "$NAME:/" "$MNT"
assert_eq 0 "$RC" "mount -t efsfs NAME:/ on the dead mount exits 0 ($ERR)"
efsfs_adopt_mount "$NAME" "$MNT"
assert_eq 1 "$(mounts_on "$MNT")" "only the new mount is on $MNT after mount(8)"
efsfs_umount "$MNT"

# The dead mount of another file system is left alone, with what to do.
make_config other
efsfs_mkfs other
OTHER_MNT="$TEST_TMP/other-mnt"
efsfs_mount other "$OTHER_MNT"
kill_daemon "$OTHER_MNT"
at_exit "umount -l -- '$(canon "$OTHER_MNT")' 2>/dev/null || true"
EFSFS_CONFIG=$CONF run "$EFSFS" mount "$NAME" "$OTHER_MNT"
if ((RC == 0)) || [[ "$ERR" != *"umount $(canon "$OTHER_MNT")"* ]]; then
	fail "mount on another file system's dead mount: exit $RC, stderr lacks 'umount DIR': $ERR"
fi
pass "mount on another file system's dead mount fails and says to umount it first"
assert_eq 1 "$(mounts_on "$OTHER_MNT")" "the other file system's dead mount is left in place"
umount -- "$OTHER_MNT" || fail "umount of the dead mount $OTHER_MNT"
run "$EFSFS" mount "$NAME" "$OTHER_MNT"
assert_eq 0 "$RC" "after umount DIR, the mount works ($ERR)"
efsfs_adopt_mount "$NAME" "$OTHER_MNT"
efsfs_umount "$OTHER_MNT"

# ---- umount, then at once mount or fsck: the daemon that is letting go is waited for ---------

# umount(8) returns when the kernel has detached the mount, before the daemon
# has closed the file system; a mount or fsck right after waits for it.
LOOPS=100
efsfs_mount "$NAME" "$MNT"
START=$SECONDS
for ((i = 1; i <= LOOPS; i++)); do
	printf 'loop %d\n' "$i" >"$MNT/loop"
	umount -- "$MNT" || fail "umount $MNT (iteration $i)"
	run "$EFSFS" mount "$NAME" "$MNT"
	if ((RC != 0)); then
		fail "umount; efsfs mount failed in iteration $i of $LOOPS: $ERR"
	fi
done
ELAPSED=$((SECONDS - START))
pass "umount; efsfs mount worked $LOOPS times out of $LOOPS (${ELAPSED}s)"
((ELAPSED < 240)) || fail "$LOOPS umount+mount cycles took ${ELAPSED}s"
assert_eq "loop $LOOPS" "$(cat -- "$MNT/loop")" "the file written before the last umount is there"
START=$SECONDS
for ((i = 1; i <= LOOPS; i++)); do
	umount -- "$MNT" || fail "umount $MNT (fsck iteration $i)"
	run "$EFSFS" fsck "$NAME"
	if ((RC != 0)); then
		fail "umount; efsfs fsck failed in iteration $i: $OUT $ERR"
	fi
	run "$EFSFS" mount "$NAME" "$MNT"
	((RC == 0)) || fail "efsfs mount after fsck failed in iteration $i: $ERR"
done
pass "umount; efsfs fsck worked $LOOPS times out of $LOOPS ($((SECONDS - START))s)"
((SECONDS - START < 300)) || fail "$LOOPS umount+fsck cycles took $((SECONDS - START))s"
efsfs_adopt_mount "$NAME" "$MNT"
efsfs_umount "$MNT"

# A second mount of a mounted file system joins its daemon at once.
efsfs_mount "$NAME" "$MNT"
MNT2="$TEST_TMP/mnt2"
mkdir -p -- "$MNT2"
START=$SECONDS
run "$EFSFS" mount "$NAME" "$MNT2"
assert_eq 0 "$RC" "a second mount of a mounted file system works ($ERR)"
((SECONDS - START < 5)) || fail "the second mount of a mounted file system took $((SECONDS - START))s"
efsfs_adopt_mount "$NAME" "$MNT2"
assert_eq "${MOUNT_PIDS[$(canon "$MNT")]}" "${MOUNT_PIDS[$(canon "$MNT2")]}" \
	"one daemon serves both mounts"
pass "a second mount of a mounted file system is attached at once"
efsfs_umount "$MNT2"
efsfs_umount "$MNT"

# ---- -o ro: a read-only data directory, and nothing written ----------------------------

RO=rofs
RO_MNT="$TEST_TMP/ro-mnt"
make_config "$RO"
efsfs_mkfs "$RO"
RO_DIR=${DATA_DIRS[$RO]}
efsfs_mount "$RO" "$RO_MNT"
RO_REF="$TEST_TMP/ro-big.ref"
head -c $((5 * 1024 * 1024 + 3)) /dev/urandom >"$RO_REF"
cp -- "$RO_REF" "$RO_MNT/big"
printf 'small\n' >"$RO_MNT/small"
mkdir -- "$RO_MNT/dir"
efsfs_umount "$RO_MNT"
run "$EFSFS" lifecycle run --as-of +31d "$RO"
assert_eq 0 "$RC" "the big file's chunks go to IA ($OUT $ERR)"
grep -qE '^chunks_to_ia: 2$' <<<"$OUT" || fail "lifecycle run did not move 2 chunks: $OUT"

# snapshot DIR: every file below DIR with its size, mode, mtime and checksum,
# but the runtime files a mount makes: the control socket (so the directory's
# own mtime) and the lock file's text, which names the daemon.
snapshot()
{
	# the lock's text, the control socket and (without syslog) the log file
	# are the daemon's own; everything of the file system must stay as it was
	(cd -- "$1" && find . -mindepth 1 \( -path ./control.sock -o -path ./lock -o \
		-path './efsfs.log*' \) -prune -o -printf '%p %s %m %T@\n' | sort &&
		find . -type f ! -path ./lock ! -path './efsfs.log*' -exec md5sum {} + | sort)
}

# -o ro with a writable data directory writes nothing to it.
BEFORE=$(snapshot "$RO_DIR")
efsfs_mount "$RO" "$RO_MNT" ro
has_flag "$(mount_flags "$RO_MNT")" ro || fail "-o ro: mountinfo flags $(mount_flags "$RO_MNT")"
assert_same_file "$RO_REF" "$RO_MNT/big" "-o ro: a file with cold chunks reads back"
assert_eq small "$(cat -- "$RO_MNT/small")" "-o ro: a small file reads back"
assert_errno EROFS "-o ro: creating a file fails with EROFS" touch -- "$RO_MNT/new"
run "$EFSFS" lifecycle run --as-of +400d "$RO"
if ((RC == 0)) || [[ "$OUT$ERR" != *"Read-only file system"* ]]; then
	fail "lifecycle run on a read-only mount: exit $RC: $OUT $ERR"
fi
pass "lifecycle run on a read-only mount is refused (EROFS)"
run "$EFSFS" gc "$RO"
((RC != 0)) || fail "gc on a read-only mount succeeded: $OUT"
run "$EFSFS" stats "$RO"
grep -qE '^Chunks\{StorageClass=IA\}: 2$' <<<"$OUT" ||
	fail "the read-only mount's stats changed or failed: $OUT $ERR"
pass "nothing moved on the read-only mount"
run "$EFSFS" mount "$RO" "$MNT"
if ((RC == 0)) || [[ "$ERR" != *"open read-only (its first mount was -o ro)"* ]]; then
	fail "a read-write mount beside a read-only one: exit $RC: $ERR"
fi
is_not_mounted "$MNT" || fail "the refused read-write mount left a mount on $MNT"
pass "a read-write mount beside the read-only one is refused, saying why"
run "$EFSFS" mount -o ro "$RO" "$MNT"
assert_eq 0 "$RC" "a second -o ro mount joins the read-only daemon ($ERR)"
efsfs_adopt_mount "$RO" "$MNT"
assert_same_file "$RO_REF" "$MNT/big" "the second read-only mount reads the cold file"
efsfs_umount "$MNT"
efsfs_umount "$RO_MNT"
AFTER=$(snapshot "$RO_DIR")
if [[ "$BEFORE" != "$AFTER" ]]; then
	fail "-o ro changed the data directory: $(diff <(echo "$BEFORE") <(echo "$AFTER") || true)"
fi
pass "-o ro left every file of the data directory as it was"

# mount_fg NAME MNT CMD...: CMD mounts NAME on MNT in the foreground; it runs in
# the background and is recorded as the daemon (in a read-only data directory
# the lock file cannot name it).
mount_fg()
{
	local name=$1 mnt
	mnt=$(canon "$2")
	shift 2
	"$@" >>"$TEST_TMP/mount-fg.log" 2>&1 </dev/null &
	MOUNT_PIDS[$mnt]=$!
	MOUNT_NAMES[$mnt]=$name
	wait_until "$EFSFS_WAIT_SECS" is_efsfs_mounted "$mnt" ||
		fail "'$*' did not mount $name: $(tail -n 5 "$TEST_TMP/mount-fg.log")"
	pass "'$*' mounted $name"
}

# A read-only data directory (a read-only bind mount over it).  Its meta.db
# is 0644 as older efsfs made it: a read-only open must not need to chmod it
# (the directory itself is 0700).
chmod 0644 -- "$RO_DIR/meta.db"
mount --bind -- "$RO_DIR" "$RO_DIR" || fail "bind mount of $RO_DIR"
at_exit "umount -l -- '$RO_DIR' 2>/dev/null || true"
mount -o remount,bind,ro -- "$RO_DIR" || fail "remount $RO_DIR read-only"
assert_errno EROFS "the data directory is read-only" touch -- "$RO_DIR/probe"
run "$EFSFS" mount "$RO" "$RO_MNT"
if ((RC == 0)) || [[ "$ERR" != *"-o ro"* ]]; then
	fail "a read-write mount of a read-only data directory: exit $RC: $ERR"
fi
pass "a read-write mount of a read-only data directory fails and names -o ro"
mount_fg "$RO" "$RO_MNT" "$EFSFS" mount -f -o ro "$RO" "$RO_MNT"
assert_same_file "$RO_REF" "$RO_MNT/big" "read-only data directory: the cold file reads back"
assert_eq small "$(cat -- "$RO_MNT/small")" "read-only data directory: the small file reads"
[[ -d "$RO_MNT/dir" ]] || fail "read-only data directory: dir is missing"
run "$EFSFS" info "$RO"
assert_eq 0 "$RC" "efsfs info beside a read-only mount of a read-only directory ($ERR)"
run "$EFSFS" stats "$RO"
assert_eq 0 "$RC" "efsfs stats beside a read-only mount of a read-only directory ($ERR)"
efsfs_umount "$RO_MNT"
mount_fg "$RO" "$RO_MNT" mount -t efsfs -o "ro,foreground,config=$CONF" "$RO" "$RO_MNT"
assert_same_file "$RO_REF" "$RO_MNT/big" "mount(8) -o ro: the cold file reads back"
efsfs_umount "$RO_MNT"
umount -- "$RO_DIR" || fail "umount of the bind mount $RO_DIR"

# After a crash the WAL holds changes a read-only directory cannot replay:
# the refusal says what to do; a read-write mount once, then -o ro works.
efsfs_mount "$RO" "$RO_MNT"
printf 'after crash\n' >"$RO_MNT/crash"
sync -- "$RO_MNT/crash"
efsfs_crash "$RO_MNT"
mount --bind -- "$RO_DIR" "$RO_DIR" && mount -o remount,bind,ro -- "$RO_DIR" ||
	fail "read-only bind mount of $RO_DIR"
run "$EFSFS" mount -o ro "$RO" "$RO_MNT"
if ((RC == 0)) || [[ "$ERR" != *"read-write once"* ]]; then
	fail "-o ro of a crashed file system in a read-only directory: exit $RC: $ERR"
fi
pass "-o ro after a crash in a read-only directory says to mount read-write once"
umount -- "$RO_DIR"
efsfs_mount "$RO" "$RO_MNT"
efsfs_umount "$RO_MNT"
mount --bind -- "$RO_DIR" "$RO_DIR" && mount -o remount,bind,ro -- "$RO_DIR" ||
	fail "read-only bind mount of $RO_DIR"
mount_fg "$RO" "$RO_MNT" "$EFSFS" mount -f -o ro "$RO" "$RO_MNT"
assert_eq "after crash" "$(cat -- "$RO_MNT/crash")" "-o ro after the recovery mount reads the file"
efsfs_umount "$RO_MNT"
umount -- "$RO_DIR"

finish
