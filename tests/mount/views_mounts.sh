#!/bin/bash
# tests/mount/views_mounts.sh - mount suite: the mounts that show part of a
# file system, beside a mount of its root, all served by one daemon:
#   - NAME:/path and fs-ID:/path show that directory as their root (what is
#     made there is seen below /path through the root mount, nothing outside
#     it is reachable), with the source as written in /proc/mounts;
#   - -o accesspoint=fsap-...: the access point's root directory, made with
#     its CreationInfo when missing, files created as its PosixUser whatever
#     the caller; a missing path without CreationInfo and an unknown access
#     point are refused, saying why.
# Needs: EFSFS, root, /dev/fuse.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse

NAME=views
make_config "$NAME"
CONF=$EFSFS_CONFIG
efsfs_mkfs "$NAME"
ID=$FS_ID
helper_setup 0 1 2 3 4
M0=$(canon "$TEST_TMP/m0") M1=$(canon "$TEST_TMP/m1") M2=$(canon "$TEST_TMP/m2")
M3=$(canon "$TEST_TMP/m3") M4=$(canon "$TEST_TMP/m4")

helper_mount "$NAME" "$M0"
PID=${MOUNT_PIDS[$M0]}
mkdir -p -- "$M0/projects/a"
printf 'inside\n' >"$M0/projects/a/f"
printf 'outside\n' >"$M0/outside"

# ---- NAME:/path and fs-ID:/path ------------------------------------------------------------

helper_mount "$NAME:/projects" "$M1"
assert_eq "$PID" "${MOUNT_PIDS[$M1]}" "the subdirectory mount joins the root mount's daemon"
assert_eq "$NAME:/projects" "$(source_of "$M1")" "the source is NAME:/projects as written"
assert_eq a "$(ls -- "$M1")" "NAME:/projects shows the directory's entries only"
assert_eq inside "$(cat -- "$M1/a/f")" "a file below the subdirectory reads"
[[ ! -e "$M1/outside" && ! -e "$M1/projects" ]] || fail "the subdirectory mount shows its parent's entries"
pass "nothing outside /projects shows on the subdirectory mount"
assert_eq "$(stat -c %i -- "$M0/projects")" "$(stat -c %i -- "$M1")" \
	"the subdirectory mount's root is /projects' inode"
printf 'made below\n' >"$M1/new"
assert_eq "made below" "$(cat -- "$M0/projects/new")" "a file made on the subdirectory mount is in /projects"
helper_mount "$ID:/projects/a" "$M2"
assert_eq f "$(ls -- "$M2")" "fs-ID:/projects/a shows that directory"
efsfs_umount "$M2"
efsfs_umount "$M1"

# ---- access points ---------------------------------------------------------------------------

run "$EFSFS" access-point create "$NAME" --posix-user Uid=1234,Gid=2345 \
	--root-directory 'Path=/apps/one,CreationInfo={OwnerUid=1234,OwnerGid=2345,Permissions=0750}'
((RC == 0)) || fail "efsfs access-point create exited $RC: $ERR"
AP=$(grep -oE 'fsap-[0-9a-f]{17}' <<<"$OUT" | head -n 1)
[[ -n "$AP" ]] || fail "efsfs access-point create printed no fsap- id: $OUT"
[[ ! -e "$M0/apps" ]] || fail "creating the access point made its directory already"
helper_mount "$NAME" "$M3" "accesspoint=$AP"
assert_eq "1234 2345 750" "$(stat -c '%u %g %a' -- "$M0/apps/one")" \
	"the access point's root was made with its CreationInfo"
touch -- "$M3/by-root"
assert_eq "1234 2345" "$(stat -c '%u %g' -- "$M0/apps/one/by-root")" \
	"a file root made through the access point belongs to its PosixUser"
[[ ! -e "$M3/outside" && ! -e "$M3/apps" ]] || fail "the access point mount shows what is outside its root"
pass "nothing outside the access point's root shows on its mount"
efsfs_umount "$M3"

run "$EFSFS" access-point create "$NAME" --posix-user Uid=1,Gid=1 --root-directory Path=/missing
((RC == 0)) || fail "efsfs access-point create (no CreationInfo) exited $RC: $ERR"
AP2=$(grep -oE 'fsap-[0-9a-f]{17}' <<<"$OUT" | head -n 1)
run "$HELPER_BIN" "$NAME" "$M4" -o "config=$CONF,accesspoint=$AP2"
((RC != 0)) && [[ "$ERR" == *"/missing"* ]] ||
	fail "an access point whose missing path has no CreationInfo: exit $RC: $ERR"
is_not_mounted "$M4" || fail "the refused access point mount left a mount"
pass "an access point with a missing path and no CreationInfo is refused, naming the path"
run "$HELPER_BIN" "$NAME" "$M4" -o "config=$CONF,accesspoint=fsap-0123456789abcdef0"
((RC != 0)) && [[ "$ERR" == *"fsap-0123456789abcdef0"* ]] ||
	fail "an unknown access point: exit $RC: $ERR"
is_not_mounted "$M4" || fail "the unknown access point's mount left a mount"
pass "an unknown access point is refused, naming it"

efsfs_umount "$M0"
run "$EFSFS" fsck "$NAME"
((RC == 0)) || fail "fsck exited $RC: $OUT $ERR"
pass "fsck is clean"
finish
