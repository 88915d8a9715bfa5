#!/bin/bash
# tests/mount/squash_cache.sh - mount suite: on a root-squashing mount
# (client_root_access = false, not through an access point) the daemon
# checks permissions itself (no default_permissions), so the kernel's
# dentry cache must not let one local user walk a path another user looked
# up before.  User A owns a 0700 directory with a 0644 file in it and stats
# the file; user B's stat and read of it must then fail with EACCES, as on
# ext4, and so must B's lookup of a missing name A looked up (not ENOENT).
# Squashed root (65534) is refused the same way; A keeps its access.
# Needs: EFSFS, root, /dev/fuse, useradd/userdel, setpriv.  Adds two users:
# run under /tmp/efsfs-systest.lock
# (`flock /tmp/efsfs-systest.lock meson test -C build squash_cache`).

# The users' commands are single-quoted on purpose: their shell expands them.
# shellcheck disable=SC2016
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
for tool in useradd userdel setpriv; do
	command -v "$tool" >/dev/null || skip "$tool is missing"
done

for u in efsfs-sqa efsfs-sqb; do
	if ! id -u "$u" >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$u" ||
			fail "useradd $u"
		at_exit "userdel '$u' 2>/dev/null"
	fi
done
A_UID=$(id -u efsfs-sqa)

# as USER CMD...: runs CMD as USER with only its own group.
as()
{
	local u=$1
	shift
	env -u ASAN_OPTIONS -u UBSAN_OPTIONS \
		setpriv --reuid="$u" --regid="$u" --clear-groups -- "$@"
}

NAME=squash
MNT="$TEST_TMP/mnt"
# A's directory is made through a mount where root is root; the root
# directory is root's 0755, which squashed root could not write.
make_config "$NAME" "allow_other = true"
efsfs_mkfs "$NAME"
efsfs_mount "$NAME" "$MNT"
mkdir -- "$MNT/home"
chown efsfs-sqa:efsfs-sqa -- "$MNT/home"
efsfs_umount "$MNT"

make_config "$NAME" "allow_other = true" "client_root_access = false"
efsfs_mount "$NAME" "$MNT"
D="$MNT/home/private"
as efsfs-sqa sh -c 'umask 022 && mkdir -m 0700 "$1" && echo secret >"$1/f" && chmod 0644 "$1/f"' \
	sh "$D" || fail "user A cannot make its directory on the squash mount"
assert_eq "$A_UID 700" "$(stat -c '%u %a' -- "$D")" "A's directory is A's, mode 0700"

# A looks the names up: the kernel now has dentries for f and a negative one for missing
assert_eq "secret" "$(as efsfs-sqa cat -- "$D/f")" "A reads its file"
as efsfs-sqa stat -- "$D/f" >/dev/null || fail "A cannot stat its file"
assert_fails "A's lookup of a missing name fails" as efsfs-sqa stat -- "$D/missing"

for round in 1 2; do
	assert_errno EACCES "B cannot stat A's file through A's cached lookup ($round)" \
		as efsfs-sqb stat -- "$D/f"
	assert_errno EACCES "B cannot read A's file through A's cached lookup ($round)" \
		as efsfs-sqb cat -- "$D/f"
	assert_errno EACCES "B's lookup of a missing name A looked up is EACCES, not ENOENT ($round)" \
		as efsfs-sqb stat -- "$D/missing"
	assert_errno EACCES "squashed root cannot read A's file ($round)" cat -- "$D/f"
	assert_eq "secret" "$(as efsfs-sqa cat -- "$D/f")" "A still reads its file ($round)"
done

# what B may search it still finds, and a lookup answers what changed at once
as efsfs-sqa chmod 0755 -- "$D"
assert_eq "secret" "$(as efsfs-sqb cat -- "$D/f")" "B reads the file once A opens the directory"
as efsfs-sqa chmod 0700 -- "$D"
assert_errno EACCES "B is refused again once A closes the directory" as efsfs-sqb cat -- "$D/f"

efsfs_umount "$MNT"
out=$(efsfs_fsck "$NAME" 2>&1) || fail "efsfs fsck $NAME: $out"
pass "fsck is clean"
finish
