#!/bin/bash
# tests/mount/cli.sh - mount suite: the efsfs command line and the mount
# plumbing around it: mkfs/info, `efsfs mount`, mount(8) through the
# mount.efsfs helper and fstab lines, the single-mount lock, config errors,
# fsck on a mounted and an unmounted file system, statfs, usage errors.
#
# mount(8) runs /sbin/mount.efsfs; for the duration of the test that is a
# symlink to $EFSFS (an installed helper is moved aside and put back on exit).
# Needs: EFSFS (efsfs binary), root, /dev/fuse, mount(8) from util-linux.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
command -v mount >/dev/null || fail "mount(8) is missing"

# expect_failure MSG WANT...: the last run exited non-zero and its stderr
# contains every WANT string.
expect_failure()
{
	local msg=$1 want
	shift
	if ((RC == 0)); then
		fail "$msg: succeeded (stdout: $OUT; stderr: $ERR)"
	fi
	for want in "$@"; do
		if [[ "$ERR" != *"$want"* ]]; then
			fail "$msg: exit $RC, stderr lacks '$want': $ERR"
		fi
	done
	pass "$msg"
}

# expect_usage MSG: the last run exited 2 and printed the usage text on stderr.
expect_usage()
{
	if ((RC != 2)); then
		fail "$1: exited $RC, expected 2 (stderr: $ERR)"
	fi
	if [[ "$ERR" != *"usage: efsfs"* ]]; then
		fail "$1: no usage text on stderr: $ERR"
	fi
	pass "$1"
}

# Source (first field) of the mount at $1 in /proc/mounts.
mount_source()
{
	awk -v m="$(canon "$1")" '$2 == m { s = $1 } END { print s }' /proc/mounts
}

# Options (fourth field) of the mount at $1 in /proc/mounts.
mount_options()
{
	awk -v m="$(canon "$1")" '$2 == m { s = $4 } END { print s }' /proc/mounts
}

# ---- mkfs and info ----------------------------------------------------------------------

MNT="$TEST_TMP/mnt"
MNT2="$TEST_TMP/mnt2"
mkdir -p -- "$MNT" "$MNT2"
chmod 755 -- "$MNT" "$MNT2"
make_config cli
CONF=$EFSFS_CONFIG

run "$EFSFS" mkfs cli
if ((RC != 0)); then
	fail "efsfs mkfs cli exited $RC: $ERR"
fi
if [[ ! "$OUT" =~ ^fs-[0-9a-f]{17}$ ]]; then
	fail "mkfs printed '$OUT' on stdout, expected exactly one fs- id"
fi
ID=$OUT
pass "mkfs prints the id $ID"

run "$EFSFS" mkfs cli
expect_failure "a second mkfs of the same file system fails" "exists"
run "$EFSFS" info cli
assert_eq 0 "$RC" "efsfs info exits 0"
if ! grep -qE "^file_system_id: $ID\$" <<<"$OUT"; then
	fail "efsfs info does not show $ID: $OUT"
fi
pass "efsfs info shows the id made by mkfs"
run "$EFSFS" --config "$CONF" info cli
if [[ "$OUT" != *"$ID"* ]]; then
	fail "efsfs --config FILE info does not show $ID: $OUT $ERR"
fi
pass "--config FILE is read like \$EFSFS_CONFIG"

# ---- usage errors -----------------------------------------------------------------------

run "$EFSFS" no-such-command
expect_usage "an unknown command exits 2"
run "$EFSFS"
expect_usage "no command exits 2"
run "$EFSFS" --no-such-option info cli
expect_usage "an unknown global option exits 2"
run "$EFSFS" mount cli
expect_usage "mount without a mount point exits 2"
run "$EFSFS" mount -z cli "$MNT"
expect_usage "mount with an unknown option exits 2"
run "$EFSFS" mkfs
expect_usage "mkfs without a name exits 2"
run "$EFSFS" mkfs --chunk-size lots other
expect_usage "mkfs with a malformed chunk size exits 2"
run "$EFSFS" fsck
expect_usage "fsck without a name exits 2"
run "$EFSFS" info cli extra
expect_usage "info with two names exits 2"
run "$EFSFS" mkfs ../escape
expect_failure "mkfs refuses a name with a slash" "not a valid file system name"
if ! is_not_mounted "$MNT" || ! is_not_mounted "$MNT2"; then
	fail "a bad command line mounted something"
fi
pass "nothing was mounted by the bad command lines"

# ---- efsfs mount, persistence, statfs ----------------------------------------------------

efsfs_mount cli "$MNT"
assert_eq cli "$(mount_source "$MNT")" "the mount's source is the file system name"
REF="$TEST_TMP/big.ref"
head -c $((9 * 1024 * 1024 + 4097)) /dev/urandom >"$REF"
mkdir -- "$MNT/dir"
cp -- "$REF" "$MNT/dir/big"
printf 'hello efsfs\n' >"$MNT/small"
ln -s dir/big "$MNT/link"
assert_same_file "$REF" "$MNT/dir/big" "a 9 MiB file reads back while mounted"

read -r FRSIZE BLOCKS BFREE BAVAIL FILES NAMELEN < <(stat -f -c '%S %b %f %a %c %l' -- "$MNT")
if ((FRSIZE <= 0 || FRSIZE % 1024 != 0)); then
	fail "statfs fundamental block size $FRSIZE is not a multiple of 1 KiB"
fi
TOTAL_KIB=$((BLOCKS * (FRSIZE / 1024)))
if ((TOTAL_KIB < (1 << 53))); then
	fail "statfs size is $TOTAL_KIB KiB ($BLOCKS x $FRSIZE), expected at least 8 EiB"
fi
pass "statfs reports at least 8 EiB ($TOTAL_KIB KiB)"
if ((BFREE > BLOCKS || BAVAIL > BLOCKS || BAVAIL <= 0)); then
	fail "statfs free/available blocks ($BFREE/$BAVAIL) do not fit total $BLOCKS"
fi
pass "statfs free and available blocks fit in the total"
if ((FILES < (1 << 32))); then
	fail "statfs reports only $FILES inodes"
fi
assert_eq 255 "$NAMELEN" "statfs reports 255-byte names"
DF_KIB=$(df -k --output=size -- "$MNT" | tail -n 1 | tr -d ' ')
assert_eq "$TOTAL_KIB" "$DF_KIB" "df shows the same size as statfs"

# ---- a second mount joins the daemon; the lock refuses fsck ----------------------------------

PID=${MOUNT_PIDS[$(canon "$MNT")]}
run "$EFSFS" mount cli "$MNT2"
assert_eq 0 "$RC" "a second efsfs mount of the same file system works ($ERR)"
efsfs_adopt_mount cli "$MNT2"
assert_eq "$PID" "${MOUNT_PIDS[$(canon "$MNT2")]}" "the second mount is served by the first daemon"
assert_same_file "$REF" "$MNT2/dir/big" "the second mount reads what the first wrote"
umount -- "$MNT2" || fail "umount $MNT2"
wait_until "$EFSFS_WAIT_SECS" is_not_mounted "$MNT2" || fail "$MNT2 stays mounted"
unset "MOUNT_PIDS[$(canon "$MNT2")]" "MOUNT_NAMES[$(canon "$MNT2")]"
pid_gone "$PID" && fail "unmounting the second mount stopped the daemon of the first"
pass "unmounting the second mount leaves the daemon serving the first"
run "$EFSFS" fsck cli
expect_failure "fsck of a mounted file system fails" "in use" "pid=$PID"
assert_same_file "$REF" "$MNT/dir/big" "the first mount still reads after the refusals"
printf 'still writable\n' >"$MNT/after-refusal"
assert_eq "still writable" "$(cat -- "$MNT/after-refusal")" \
	"the first mount still writes after the refusals"
assert_eq "$PID" "$(efsfs_daemon_pid cli)" "the lock file still names the first daemon"

efsfs_umount "$MNT"
run "$EFSFS" fsck cli
if ((RC != 0)); then
	fail "fsck after umount exited $RC: $OUT $ERR"
fi
if ! grep -qE '(^|[^0-9])0 errors' <<<"$OUT"; then
	fail "fsck after umount does not say '0 errors': $OUT"
fi
pass "fsck after umount exits 0 with 0 errors"

efsfs_mount cli "$MNT"
assert_same_file "$REF" "$MNT/dir/big" "the big file persists across umount and mount"
assert_eq "hello efsfs" "$(cat -- "$MNT/small")" "the small file persists"
assert_eq "dir/big" "$(readlink -- "$MNT/link")" "the symlink persists"
assert_eq "still writable" "$(cat -- "$MNT/after-refusal")" "a file written last persists"

# SIGTERM to the daemon ends the mount as umount does: the request loop's
# threads stop (the reader is woken from /dev/fuse), the file system is
# unmounted and closed clean, and what was written is there next time.
PID=${MOUNT_PIDS[$(canon "$MNT")]}
printf 'before sigterm\n' >"$MNT/sigterm"
kill -TERM "$PID"
wait_until "$EFSFS_WAIT_SECS" pid_gone "$PID" || fail "daemon $PID still runs after SIGTERM"
wait_until "$EFSFS_WAIT_SECS" is_not_mounted "$MNT" || fail "$MNT is still mounted after SIGTERM"
pass "SIGTERM stops the daemon and unmounts"
unset "MOUNT_PIDS[$(canon "$MNT")]" "MOUNT_NAMES[$(canon "$MNT")]"
run "$EFSFS" fsck cli
if ((RC != 0)) || ! grep -qE '(^|[^0-9])0 errors' <<<"$OUT"; then
	fail "fsck after SIGTERM exited $RC: $OUT $ERR"
fi
pass "fsck after SIGTERM exits 0 with 0 errors"
efsfs_mount cli "$MNT"
assert_eq "before sigterm" "$(cat -- "$MNT/sigterm")" "a file written before SIGTERM persists"
efsfs_umount "$MNT"

# ---- errors before mounting ------------------------------------------------------------

run "$EFSFS" mount cli "$TEST_TMP/no-such-dir"
expect_failure "mount on a missing mount point fails" "$TEST_TMP/no-such-dir" \
	"No such file or directory"
touch -- "$TEST_TMP/a-file"
run "$EFSFS" mount cli "$TEST_TMP/a-file"
expect_failure "mount on a regular file fails" "$TEST_TMP/a-file" "Not a directory"

make_config never
run "$EFSFS" mount never "$MNT"
expect_failure "mount of a file system never made fails" "efsfs mkfs never"
if ! is_not_mounted "$MNT"; then
	fail "the failed mount of 'never' left something on $MNT"
fi
pass "the failed mount of 'never' mounted nothing"
if [[ -e "${DATA_DIRS[never]}/meta.db" ]]; then
	fail "mount of 'never' created ${DATA_DIRS[never]}/meta.db"
fi
pass "mount of 'never' did not create a file system"

# bad_config TAG SECTION LINE3: writes $TEST_TMP/bad-TAG.conf, a config for
# SECTION (data_dir $TEST_TMP/data/SECTION) whose third line is LINE3.
bad_config()
{
	local f="$TEST_TMP/bad-$1.conf"
	printf '# a config with an error on line 3\n[%s]\n%s\ndata_dir = %s\n' \
		"$2" "$3" "$TEST_TMP/data/$2" >"$f"
	echo "$f"
}

# check_bad_config TAG LINE3 KEY: mount, fsck and mkfs refuse a config whose
# line 3 is LINE3 and name the file, line and key.
check_bad_config()
{
	local tag=$1 line=$2 key=$3 conf
	conf=$(bad_config "$tag" cli "$line")
	run "$EFSFS" --config "$conf" mount cli "$MNT"
	expect_failure "efsfs mount with a bad $tag in the config fails, naming file:line: key" \
		"$conf:3: $key:"
	is_not_mounted "$MNT" || fail "efsfs mount with a bad $tag left a mount on $MNT"
	run "$EFSFS" --config "$conf" fsck cli
	expect_failure "efsfs fsck with a bad $tag in the config fails" "$conf:3: $key:"
	conf=$(bad_config "mkfs-$tag" "new-$tag" "$line")
	run "$EFSFS" --config "$conf" mkfs "new-$tag"
	expect_failure "efsfs mkfs with a bad $tag in the config fails" "$conf:3: $key:"
	if [[ -e "$TEST_TMP/data/new-$tag" ]]; then
		fail "efsfs mkfs with a bad $tag created $TEST_TMP/data/new-$tag"
	fi
	pass "efsfs mkfs with a bad $tag created nothing"
}

BAD_TAGS=(transition key boolean)
declare -A BAD_LINE=([transition]="transition_to_ia = AFTER_2_DAYS"
	[key]="no_such_key = 1" [boolean]="encrypted = maybe")
declare -A BAD_KEY=([transition]=transition_to_ia [key]=no_such_key [boolean]=encrypted)
for tag in "${BAD_TAGS[@]}"; do
	check_bad_config "$tag" "${BAD_LINE[$tag]}" "${BAD_KEY[$tag]}"
done

# ---- mount(8), mount.efsfs and fstab --------------------------------------------------

install_mount_helper

# mount_helper_check SOURCE MSG CMD...: CMD mounts cli on $MNT as SOURCE (cli or
# cli:/, the mount's source as written); checks the mount and umount(8).
mount_helper_check()
{
	local source=$1 msg=$2 pid
	shift 2
	run "$@"
	if ((RC != 0)); then
		fail "$msg: '$*' exited $RC: $ERR"
	fi
	efsfs_adopt_mount cli "$MNT"
	assert_eq "$source" "$(mount_source "$MNT")" "$msg: /proc/mounts names the file system"
	assert_same_file "$REF" "$MNT/dir/big" "$msg: data reads back"
	pid=${MOUNT_PIDS[$(canon "$MNT")]}
	if [[ ",$(mount_options "$MNT")," == *,_netdev,* ||
		",$(mount_options "$MNT")," == *,nofail,* ]]; then
		fail "$msg: fstab-only options reached the kernel: $(mount_options "$MNT")"
	fi
	run umount -- "$MNT"
	if ((RC != 0)); then
		fail "$msg: umount(8) exited $RC: $ERR"
	fi
	wait_until "$EFSFS_WAIT_SECS" is_not_mounted "$MNT" || fail "$msg: still mounted"
	wait_until "$EFSFS_WAIT_SECS" pid_gone "$pid" ||
		fail "$msg: daemon $pid still runs ${EFSFS_WAIT_SECS}s after umount(8)"
	unset "MOUNT_PIDS[$(canon "$MNT")]" "MOUNT_NAMES[$(canon "$MNT")]"
	pass "$msg: umount(8) unmounts and the daemon exits"
}

mount_helper_check cli "mount -t efsfs" mount -t efsfs -o "config=$CONF" cli "$MNT"
mount_helper_check cli:/ "mount -t efsfs NAME:/" mount -t efsfs -o "config=$CONF" cli:/ "$MNT"
mount_helper_check cli "mount.efsfs with fstab-only options" \
	"$HELPER" cli "$MNT" -o "rw,_netdev,nofail,noatime,x-systemd.automount,config=$CONF"

FSTAB="$TEST_TMP/fstab"
printf '# efsfs cli test\n%s %s efsfs _netdev,nofail,config=%s 0 0\n' \
	cli "$(canon "$MNT")" "$CONF" >"$FSTAB"
mount_helper_check cli "fstab line NAME DIR efsfs _netdev,nofail" mount --fstab "$FSTAB" "$MNT"
printf '%s %s efsfs defaults,_netdev,nofail,config=%s 0 0\n' \
	cli:/ "$(canon "$MNT")" "$CONF" >"$FSTAB"
mount_helper_check cli:/ "fstab line NAME:/ DIR efsfs defaults,_netdev,nofail" \
	mount --fstab "$FSTAB" "$MNT"

# An option that is neither ours nor mount(8)'s reaches FUSE, which refuses it:
# the fstab-only options above were accepted because they were dropped.
run mount -t efsfs -o "config=$CONF,no_such_fuse_option" cli "$MNT"
expect_failure "mount -t efsfs with an unknown option fails" "no_such_fuse_option"
is_not_mounted "$MNT" || fail "mount -t efsfs with an unknown option left a mount"
pass "mount -t efsfs with an unknown option mounted nothing"

# Through mount(8): the second mount joins the first daemon.
efsfs_mount cli "$MNT"
PID=${MOUNT_PIDS[$(canon "$MNT")]}
run mount -t efsfs -o "config=$CONF" cli "$MNT2"
assert_eq 0 "$RC" "a second mount -t efsfs of a mounted file system works ($ERR)"
efsfs_adopt_mount cli "$MNT2"
assert_eq "$PID" "${MOUNT_PIDS[$(canon "$MNT2")]}" "mount(8)'s second mount is served by the first daemon"
assert_same_file "$REF" "$MNT2/dir/big" "the second mount -t efsfs reads the big file"
efsfs_umount "$MNT2"
assert_same_file "$REF" "$MNT/dir/big" "the first mount still works after the second went"
efsfs_umount "$MNT"

for tag in "${BAD_TAGS[@]}"; do
	conf="$TEST_TMP/bad-$tag.conf"
	run mount -t efsfs -o "config=$conf" cli "$MNT"
	expect_failure "mount -t efsfs with a bad $tag in the config fails" \
		"$conf:3: ${BAD_KEY[$tag]}:"
	is_not_mounted "$MNT" || fail "mount -t efsfs with a bad $tag left a mount on $MNT"
done
run mount -t efsfs -o "config=$CONF" never "$MNT"
expect_failure "mount -t efsfs of a file system never made fails" "efsfs mkfs never"
is_not_mounted "$MNT" || fail "mount -t efsfs of 'never' left a mount on $MNT"

run "$EFSFS" fsck cli
if ((RC != 0)); then
	fail "final fsck exited $RC: $OUT $ERR"
fi
pass "final fsck is clean"
finish
