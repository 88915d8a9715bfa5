#!/bin/bash
# tests/mount/issue12.sh - mount suite: the file system policy (client_write,
# client_root_access) on every kind of mount through mount.efsfs (the
# build's binary under that name in the temp dir, so /sbin is not touched
# and no lock is needed): the daemon's own first mount and a mount
# attached to it over the control socket.
#   - no ClientRootAccess: root is 65534 on both (it cannot read another
#     uid's 0600 file, nor chown, and what it makes is 65534's), while
#     another uid is itself and reads its own file, and a third uid cannot
#     search the second's 0700 directory, also after the second's lookups;
#   - no ClientWrite: both mounts refuse changes with EROFS and read;
#   - client_root_access changed in the configuration while the daemon
#     runs: an attach then would make a kernel mount and a session that
#     disagree on who checks permissions (no check at all, the other way
#     round twice); it is refused, naming the setting, and the running
#     mounts keep their policy.
# - close-to-open between a root, a subdirectory (NAME:/d) and an access
#   point mount (root /d/ap): a few hundred rounds of writes, renames and
#   unlinks, each seen at once on the others;
# - root on an access point mount (attached, and the daemon's first) is its
#   PosixUser: EACCES on a 0600 file of uid 0, no chown, and uid 2000 reads
#   the PosixUser's 0600 file; -o default_permissions there (the kernel
#   would check the caller) and NAME:/d/../.. are refused;
# - kill -9 of the daemon with the three kinds of mount: ENOTCONN on each,
#   fsck clean, every fsynced file there after mounting again.
# fsck is clean afterwards.
# Needs: EFSFS, root, /dev/fuse, setpriv.  Adds no users (uid 1000 needs no
# passwd entry).

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
command -v setpriv >/dev/null || fail "setpriv is needed (util-linux)"

NAME=issue12
make_config "$NAME"
CONF=$EFSFS_CONFIG
efsfs_mkfs "$NAME"
helper_setup 0 1 2 3
M0=$(canon "$TEST_TMP/m0") M1=$(canon "$TEST_TMP/m1") M2=$(canon "$TEST_TMP/m2")

as_user()
{
	setpriv --reuid=1000 --regid=1000 --clear-groups -- "$@"
}

# ---- the files the checks below are about (full root access) ------------------------------
helper_mount "$NAME" "$M0"
printf 'secret\n' >"$M0/secret"
chmod 600 -- "$M0/secret"
mkdir -- "$M0/u" "$M0/pub"
chown 1000:1000 -- "$M0/u"
chmod 777 -- "$M0/pub"
as_user sh -c "printf 'mine\n' >'$M0/u/f' && chmod 600 '$M0/u/f'" ||
	fail "uid 1000 cannot make its file in its directory"
as_user sh -c "mkdir -m 700 '$M0/u/private' && printf 'open\n' >'$M0/u/private/g' &&
	chmod 644 '$M0/u/private/g'" || fail "uid 1000 cannot make its private directory"
assert_errno EACCES "uid 1000 cannot read root's 0600 file" as_user cat -- "$M0/secret"

# ---- the configuration changed under a running daemon ----------------------------------------
make_config "$NAME" "client_root_access = false"
run "$HELPER_BIN" "$NAME" "$M1" -o "config=$CONF"
if ((RC == 0)); then
	efsfs_adopt_mount "$NAME" "$M1"
	leak=$(as_user cat -- "$M1/secret" 2>&1) || true
	fail "an attach with client_root_access changed to false was served (uid 1000 reads" \
		"root's 0600 file through it: '$leak')"
fi
[[ "$ERR" == *client_root_access* ]] ||
	fail "the attach refused for a changed client_root_access does not name it: $ERR"
is_not_mounted "$M1" || fail "the refused attach left a mount at $M1"
pass "an attach after client_root_access changed is refused, naming the setting"
assert_eq secret "$(cat -- "$M0/secret")" "the running mount keeps full root access"
efsfs_umount "$M0"

# ---- no ClientRootAccess: the first mount and an attached one ----------------------------------
helper_mount "$NAME" "$M0"
helper_mount "$NAME" "$M1"
assert_eq "${MOUNT_PIDS[$M0]}" "${MOUNT_PIDS[$M1]}" "the second mount joins the first's daemon"
for m in "$M0" "$M1"; do
	assert_errno EACCES "root squashed on $m cannot read root's 0600 file" cat -- "$m/secret"
	assert_errno EACCES "root squashed on $m cannot read uid 1000's 0600 file" cat -- "$m/u/f"
	assert_eq mine "$(as_user cat -- "$m/u/f")" "uid 1000 reads its own file on $m"
	# the session checks search permission at lookup; a name one user's
	# lookup left in the kernel's cache must not spare another user's
	assert_errno EACCES "uid 2000 on $m cannot search uid 1000's 0700 directory" \
		setpriv --reuid=2000 --regid=2000 --clear-groups cat -- "$m/u/private/g"
	assert_eq open "$(as_user cat -- "$m/u/private/g")" "uid 1000 reads in its 0700 directory on $m"
	assert_errno EACCES "uid 2000 on $m still cannot, after uid 1000's lookups" \
		setpriv --reuid=2000 --regid=2000 --clear-groups cat -- "$m/u/private/g"
	touch -- "$m/pub/by-root"
	assert_eq "65534 65534" "$(stat -c '%u %g' -- "$m/pub/by-root")" \
		"what root makes on $m belongs to 65534"
	assert_errno EPERM "root squashed on $m cannot chown" chown 0:0 -- "$m/pub/by-root"
	rm -f -- "$m/pub/by-root"
done
make_config "$NAME"
run "$HELPER_BIN" "$NAME" "$M2" -o "config=$CONF"
if ((RC == 0)); then
	efsfs_adopt_mount "$NAME" "$M2"
	fail "an attach with client_root_access changed back to true was served"
fi
[[ "$ERR" == *client_root_access* ]] ||
	fail "the attach refused for a changed client_root_access does not name it: $ERR"
is_not_mounted "$M2" || fail "the refused attach left a mount at $M2"
pass "an attach after client_root_access changed back is refused too"
assert_errno EACCES "the running mounts still squash root" cat -- "$M1/secret"
efsfs_umount "$M1"
efsfs_umount "$M0"

# ---- no ClientWrite ----------------------------------------------------------------------------
make_config "$NAME" "client_write = false"
helper_mount "$NAME" "$M0"
helper_mount "$NAME" "$M1"
for m in "$M0" "$M1"; do
	assert_errno EROFS "$m refuses a new file without ClientWrite" touch -- "$m/new"
	assert_errno EROFS "$m refuses a write without ClientWrite" \
		sh -c "printf x >>'$m/secret'"
	assert_errno EROFS "$m refuses a mkdir without ClientWrite" mkdir -- "$m/d"
	assert_errno EROFS "$m refuses an unlink without ClientWrite" rm -f -- "$m/secret"
	assert_eq secret "$(cat -- "$m/secret")" "$m reads without ClientWrite"
done
efsfs_umount "$M1"
efsfs_umount "$M0"

# ---- close-to-open between a root, a subdirectory and an access point mount -------------------
# Each loop step changes a name or contents through one mount that another
# has just cached (an hour's timeouts, the default): only the sessions'
# notifications, with each session's root mapped to FUSE_ROOT_ID, keep the
# others right.  /d is the subdirectory mount's root, /d/ap the access point's.
make_config "$NAME"
helper_mount "$NAME" "$M0"
mkdir -- "$M0/d"
helper_mount "$NAME:/d" "$M1"
run "$EFSFS" access-point create "$NAME" --posix-user Uid=1000,Gid=1000 \
	--root-directory 'Path=/d/ap,CreationInfo={OwnerUid=1000,OwnerGid=1000,Permissions=0755}'
((RC == 0)) || fail "efsfs access-point create exited $RC: $ERR"
AP=$OUT
helper_mount "$NAME" "$M2" "accesspoint=$AP"
LOOPS=${ISSUE12_LOOPS:-300}
bad=""
for ((i = 0; i < LOOPS && ${#bad} == 0; i++)); do
	printf 'one %d\n' "$i" >"$M0/d/f$i"
	[[ "$(cat -- "$M1/f$i")" == "one $i" ]] || bad="written on the root mount, read on the subdirectory's"
	printf 'two %d, longer\n' "$i" >"$M1/f$i"
	[[ "$(cat -- "$M0/d/f$i")" == "two $i, longer" ]] || bad="rewritten on the subdirectory mount, read on the root's"
	mv -- "$M0/d/f$i" "$M0/d/g$i"
	[[ ! -e "$M1/f$i" && "$(cat -- "$M1/g$i")" == "two $i, longer" ]] ||
		bad="renamed on the root mount, looked up on the subdirectory's"
	printf 'three %d\n' "$i" >"$M2/h$i"
	[[ "$(cat -- "$M1/ap/h$i")" == "three $i" && "$(cat -- "$M0/d/ap/h$i")" == "three $i" ]] ||
		bad="written on the access point mount, read on the others"
	mv -- "$M1/ap/h$i" "$M1/ap/k$i"
	[[ ! -e "$M2/h$i" && "$(cat -- "$M2/k$i")" == "three $i" ]] ||
		bad="renamed on the subdirectory mount, looked up on the access point's"
	rm -- "$M0/d/ap/k$i"
	[[ ! -e "$M2/k$i" && ! -e "$M1/ap/k$i" ]] || bad="unlinked on the root mount, still on the others"
	rm -- "$M1/g$i"
	[[ ! -e "$M0/d/g$i" ]] || bad="unlinked on the subdirectory mount, still on the root's"
done
[[ -z "$bad" ]] || fail "step $((i - 1)): $bad"
pass "$LOOPS rounds of writes, renames and unlinks across root, subdirectory and access point mounts, never stale"
assert_eq "" "$(ls -A -- "$M2")" "the access point's root is empty after the loop"

# ---- the access point's identity, for root too, on an attached and a first mount -------------
printf 'root only\n' >"$M0/d/ap/root-only"
chmod 600 -- "$M0/d/ap/root-only"
ap_identity()
{
	assert_errno EACCES "root on the access point mount $1 cannot read uid 0's 0600 file" \
		cat -- "$1/root-only"
	touch -- "$1/by-root"
	assert_eq "1000 1000" "$(stat -c '%u %g' -- "$1/by-root")" \
		"what root makes on $1 belongs to the access point's PosixUser"
	assert_errno EPERM "root on the access point mount $1 cannot chown" chown 0:0 -- "$1/by-root"
	rm -- "$1/by-root"
	printf 'its own\n' >"$1/its-own"
	chmod 600 -- "$1/its-own"
	assert_eq "its own" "$(setpriv --reuid=2000 --regid=2000 --clear-groups cat -- "$1/its-own")" \
		"uid 2000 on $1 reads the PosixUser's 0600 file (every request runs as it)"
	rm -- "$1/its-own"
	assert_eq "$(stat -c %i -- "$1")" "$(stat -c %i -- "$1/.")" "$1/. is its root"
	[[ "$(stat -c %d -- "$1/..")" != "$(stat -c %d -- "$1")" ]] ||
		fail "$1/.. is on the efsfs mount: it leads above the access point's root"
	pass "$1/.. leaves the mount (the directory it is mounted on)"
}
ap_identity "$M2"
# default_permissions would have the kernel check the caller as well
ap_refuses_default_permissions()
{
	run "$HELPER_BIN" "$NAME" "$TEST_TMP/m3" -o "config=$CONF,accesspoint=$AP,default_permissions"
	if ((RC == 0)); then
		efsfs_adopt_mount "$NAME" "$TEST_TMP/m3"
		fail "an access point mount $1 with -o default_permissions was made"
	fi
	[[ "$ERR" == *default_permissions* ]] ||
		fail "the access point mount $1 with -o default_permissions, refused, does not say why: $ERR"
	is_not_mounted "$TEST_TMP/m3" || fail "the refused default_permissions mount left a mount"
	pass "an access point mount $1 with -o default_permissions is refused, naming it"
}
ap_refuses_default_permissions "attached to a daemon"
run "$HELPER_BIN" "$NAME:/d/../.." "$TEST_TMP/m3" -o "config=$CONF"
((RC != 0)) && [[ "$ERR" == *".."* ]] || fail "a subdirectory mount of /d/../..: exit $RC: $ERR"
is_not_mounted "$TEST_TMP/m3" || fail "the refused /d/../.. mount left a mount"
pass "a subdirectory path with .. is refused, saying why"
efsfs_umount "$M2"
efsfs_umount "$M1"
efsfs_umount "$M0"
ap_refuses_default_permissions "starting the daemon"
helper_mount "$NAME" "$M2" "accesspoint=$AP"
[[ "$ERR" == *"mounted on $M2 (through the access point $AP)"* && "$ERR" != *"(null)"* ]] ||
	fail "the daemon's line for the access point mount does not name it: $ERR"
pass "the daemon says which access point $M2 is mounted through"
ap_identity "$M2"
efsfs_umount "$M2"

# ---- kill -9 with a root, a subdirectory and an access point mount ----------------------------
helper_mount "$NAME" "$M0"
helper_mount "$NAME:/d" "$M1"
helper_mount "$NAME" "$M2" "accesspoint=$AP"
PID=${MOUNT_PIDS[$M0]}
declare -A SUMS=()
for m in "$M0" "$M1" "$M2"; do
	f="$m/synced.$(basename -- "$m")"
	head -c $((300000 + RANDOM)) /dev/urandom >"$f"
	sync -- "$f"
	SUMS[$(basename -- "$f")]=$(sha256sum <"$f")
done
kill -KILL "$PID"
wait_until "$EFSFS_WAIT_SECS" pid_gone "$PID" || fail "daemon $PID survived kill -9"
for m in "$M0" "$M1" "$M2"; do
	unset "MOUNT_PIDS[$m]" "MOUNT_NAMES[$m]"
	assert_dead_mount "after kill -9, $m reports ENOTCONN" "$m"
	umount -- "$m" || fail "umount of the dead mount $m"
done
run "$EFSFS" fsck "$NAME"
((RC == 0)) && grep -qE '(^|[^0-9])0 errors' <<<"$OUT" ||
	fail "fsck after kill -9 exited $RC: $OUT $ERR"
pass "fsck after kill -9 with three kinds of mount is clean"
helper_mount "$NAME" "$M2" "accesspoint=$AP"
helper_mount "$NAME" "$M0"
assert_eq "${SUMS[synced.m0]}" "$(sha256sum <"$M0/synced.m0")" "fsynced on the root mount, there after kill -9"
assert_eq "${SUMS[synced.m1]}" "$(sha256sum <"$M0/d/synced.m1")" \
	"fsynced on the subdirectory mount, there after kill -9"
assert_eq "${SUMS[synced.m2]}" "$(sha256sum <"$M2/synced.m2")" \
	"fsynced on the access point mount, there after kill -9"
assert_eq "1000 1000" "$(stat -c '%u %g' -- "$M0/d/ap/synced.m2")" \
	"the access point's file still belongs to its PosixUser"
efsfs_umount "$M0"
efsfs_umount "$M2"

run "$EFSFS" fsck "$NAME"
((RC == 0)) || fail "fsck exited $RC: $OUT $ERR"
pass "fsck is clean"
finish
