#!/bin/bash
# tests/mount/access_points.sh - mount suite: `efsfs access-point create |
# list | describe | delete` end to end, on an unmounted file system (the CLI
# opens it) and on a mounted one (through the daemon's control socket): the
# AWS CLI's shorthand and JSON spellings, the JSON of list and describe,
# the fs- id in place of NAME, bad input (a malformed --posix-user, a path
# with .., a missing CreationInfo field, an unknown id) refused with the
# field named and nothing created, access points surviving a remount, and
# fsck clean afterwards, and a read-only mount listing but refusing
# changes.  Mounts through an access point are the mounts
# stream's (accesspoint=); this script installs nothing system-wide.
# Needs: EFSFS, root, /dev/fuse, jq.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
command -v jq >/dev/null || fail "jq is needed (apt-get install jq)"

make_config aps
efsfs_mkfs aps
MNT="$TEST_TMP/mnt"

# ---- unmounted: the CLI opens the file system itself ----------------------------
run "$EFSFS" access-point create aps --posix-user Uid=1000,Gid=1000,SecondaryGids=1001,1002 \
	--root-directory 'Path=/apps/web,CreationInfo={OwnerUid=1000,OwnerGid=1000,Permissions=0755}' \
	--tags Key=Name,Value=web Key=team,Value=blue
assert_eq 0 "$RC" "access-point create (shorthand) exits 0: $ERR"
WEB=$OUT
[[ "$WEB" =~ ^fsap-[0-9a-f]{17}$ ]] || fail "create printed '$WEB', not an fsap- id"
pass "access-point create prints an fsap- id ($WEB)"

# the AWS docs' JSON form, with the fs- id for NAME
run "$EFSFS" access-point create "$FS_ID" --posix-user '{"Uid": 2000, "Gid": 2000}' \
	--root-directory '{"Path": "/apps/db", "CreationInfo": {"OwnerUid": 2000, "OwnerGid": 2000, "Permissions": "700"}}' \
	--tags '[{"Key": "Name", "Value": "db"}]' --client-token db-1
assert_eq 0 "$RC" "access-point create (JSON, by fs- id) exits 0: $ERR"
DB=$OUT
[[ "$DB" =~ ^fsap-[0-9a-f]{17}$ && "$DB" != "$WEB" ]] || fail "second id '$DB' (first $WEB)"
run "$EFSFS" access-point create "$FS_ID" --posix-user '{"Uid": 2000, "Gid": 2000}' \
	--root-directory '{"Path": "/apps/db", "CreationInfo": {"OwnerUid": 2000, "OwnerGid": 2000, "Permissions": "700"}}' \
	--tags '[{"Key": "Name", "Value": "db"}]' --client-token db-1
assert_eq "0 $DB" "$RC $OUT" "the same request with the same client token returns the same id"
pass "JSON option values, the fs- id as NAME and the client token work"

run "$EFSFS" access-point describe aps "$WEB"
assert_eq 0 "$RC" "describe exits 0: $ERR"
got=$(jq -c '[.AccessPointId, .FileSystemId, .Name, .PosixUser, .RootDirectory,
	.LifeCycleState, (.Tags | length)]' <<<"$OUT")
assert_eq "[\"$WEB\",\"$FS_ID\",\"web\",{\"Uid\":1000,\"Gid\":1000,\"SecondaryGids\":[1001,1002]},{\"Path\":\"/apps/web\",\"CreationInfo\":{\"OwnerUid\":1000,\"OwnerGid\":1000,\"Permissions\":\"0755\"}},\"available\",2]" \
	"$got" "describe shows the access point as EFS does"
run "$EFSFS" access-point list aps
assert_eq 0 "$RC" "list exits 0: $ERR"
assert_eq "$WEB $DB" "$(jq -r '[.AccessPoints[].AccessPointId] | join(" ")' <<<"$OUT")" \
	"list shows both, in creation order"
pass "describe and list print EFS's JSON"

# ---- bad input: refused, the field named, nothing made --------------------------
expect_refused()
{
	local want=$1
	shift
	run "$EFSFS" access-point "$@"
	((RC != 0)) || fail "access-point $* exited 0"
	grep -qF -- "$want" <<<"$ERR$OUT" || fail "access-point $*: '$ERR$OUT' lacks '$want'"
}
expect_refused "PosixUser: Gid is missing" create aps --posix-user Uid=1000
expect_refused "PosixUser Uid 'x'" create aps --posix-user Uid=x,Gid=1
expect_refused "'..' is not allowed" create aps --posix-user Uid=1,Gid=1 --root-directory Path=/a/../b
expect_refused "CreationInfo: Permissions is missing" create aps --posix-user Uid=1,Gid=1 \
	--root-directory 'Path=/a,CreationInfo={OwnerUid=1,OwnerGid=1}'
expect_refused "Permissions '0855'" create aps --posix-user Uid=1,Gid=1 \
	--root-directory 'Path=/a,CreationInfo={OwnerUid=1,OwnerGid=1,Permissions=0855}'
expect_refused "--posix-user is required" create aps
expect_refused "more than 4 components" create aps --posix-user Uid=1,Gid=1 --root-directory Path=/a/b/c/d/e
expect_refused "AccessPointNotFound" describe aps fsap-00000000000000000
expect_refused "not an access point id" delete aps fsap-nothex
expect_refused "IdempotentParameterMismatch" create aps --posix-user Uid=1,Gid=1 --client-token db-1
run "$EFSFS" access-point list aps
assert_eq 2 "$(jq '.AccessPoints | length' <<<"$OUT")" "no bad request made an access point"
pass "bad input is refused with the field named, and nothing is created"

# ---- mounted: through the daemon; then a remount keeps them ----------------------
efsfs_mount aps "$MNT"
run "$EFSFS" access-point create aps --posix-user Uid=3000,Gid=3000 --tag Key=Name,Value=live
assert_eq 0 "$RC" "create while mounted exits 0: $ERR"
LIVE=$OUT
run "$EFSFS" access-point delete aps "$DB"
assert_eq 0 "$RC" "delete while mounted exits 0: $ERR"
run "$EFSFS" access-point list aps
assert_eq "$WEB $LIVE" "$(jq -r '[.AccessPoints[].AccessPointId] | join(" ")' <<<"$OUT")" \
	"list through the daemon"
# the access point's root is made at the first mount through it, not at create
[[ ! -e "$MNT/apps" ]] || fail "create made the root directory already"
efsfs_umount "$MNT"
pass "create, delete and list go through the daemon while mounted"

efsfs_mount aps "$MNT"
efsfs_umount "$MNT"
run "$EFSFS" access-point describe aps "$LIVE"
assert_eq "0 live /" "$RC $(jq -r '.Name + " " + .RootDirectory.Path' <<<"$OUT")" \
	"an access point made through the daemon survives a remount"
run "$EFSFS" access-point describe aps "$DB"
assert_eq 1 "$RC" "the deleted one is gone after a remount"
pass "access points survive remounts"

# a read-only mount's daemon refuses changes and still lists
efsfs_mount aps "$MNT" ro
expect_refused "open read-only" create aps --posix-user Uid=1,Gid=1
expect_refused "Read-only file system" delete aps "$LIVE"
run "$EFSFS" access-point list aps
assert_eq "0 2" "$RC $(jq '.AccessPoints | length' <<<"$OUT")" "a read-only mount lists"
efsfs_umount "$MNT"
pass "through a read-only mount: listed, not changed"

out=$(efsfs_fsck aps 2>&1) || fail "efsfs fsck aps: $out"
pass "fsck is clean"
finish
