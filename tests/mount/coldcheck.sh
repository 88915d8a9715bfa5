#!/bin/bash
# tests/mount/coldcheck.sh - mount suite: cold objects that someone damaged,
# removed or replayed in the store (the default file:// store in the data
# directory).  Files written through the mount go to IA (`efsfs lifecycle run
# --as-of +31d`); then:
#   - an older version of a chunk's object copied over the current one (a
#     replay) makes the read fail with EIO, never return the old bytes, with
#     an encrypted file system and without;
#   - `efsfs fsck` finds a deleted object (naming the file and the chunk) and
#     an object no chunk refers to; `--deep` finds a flipped byte; `--repair`
#     deletes the unreferenced object and says it cannot recreate the rest.
# Needs: EFSFS, root, /dev/fuse.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse

MNT="$TEST_TMP/mnt"
CS=$((64 * 1024))

# objects_of NAME INO IDX: the object files of chunk IDX of inode INO in NAME's
# file:// store (every version there is).
objects_of()
{
	find "${DATA_DIRS[$1]}/objects" -type f \
		-path "*/$(printf %016x "$2")/$(printf %016x "$3").*" ! -name '.objstore-tmp.*'
}

# the_object NAME INO IDX: the one object of that chunk (fails unless exactly one).
the_object()
{
	local found n
	found=$(objects_of "$@")
	n=$(grep -c . <<<"$found" || true)
	[[ "$n" == 1 ]] || fail "chunk $3 of inode $2: $n objects in the store, expected 1"
	echo "$found"
}

flip_byte()
{
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $(((b ^ 1) & 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc \
		status=none
}

# fsck_logged NAME [OPTIONS...]: efsfs fsck, its output also kept in fsck.log.
fsck_logged()
{
	local rc=0 out
	out=$(efsfs_fsck "$@" 2>&1) || rc=$?
	printf '%s\n' "== efsfs fsck $* (exit $rc)" "$out" >>"$TEST_TMP/fsck.log"
	printf '%s\n' "$out"
	return "$rc"
}

demote()
{
	local out
	out=$(timeout 120 "$EFSFS" lifecycle run --as-of "$2" "$1" 2>&1) ||
		fail "lifecycle run $1: $out"
	grep -q '^chunks_to_ia: [1-9]' <<<"$out" || fail "lifecycle run $1 moved nothing: $out"
}

# ---- a replayed object: EIO, not the old content ------------------------------------

replay()
{
	local name=$1 ino old new rc=0 out
	shift
	make_config "$name" "chunk_size = 64K" "transition_to_ia = AFTER_30_DAYS" "$@"
	efsfs_mkfs "$name"
	efsfs_mount "$name" "$MNT"
	head -c $((4 * CS)) /dev/urandom >"$TEST_TMP/v1"
	cp "$TEST_TMP/v1" "$MNT/f"
	ino=$(stat -c %i "$MNT/f")
	efsfs_umount "$MNT"
	demote "$name" +31d
	old=$(the_object "$name" "$ino" 1)
	cp "$old" "$TEST_TMP/old-object"

	# version 2 of chunk 1, written through the mount, then demoted too
	cp "$TEST_TMP/v1" "$TEST_TMP/v2"
	printf 'version two' | dd of="$TEST_TMP/v2" bs=1 seek=$((CS + 100)) conv=notrunc status=none
	efsfs_mount "$name" "$MNT"
	printf 'version two' | dd of="$MNT/f" bs=1 seek=$((CS + 100)) conv=notrunc status=none
	assert_ok "$name: version 2 reads back" cmp "$TEST_TMP/v2" "$MNT/f"
	efsfs_umount "$MNT"
	demote "$name" +62d
	new=$(the_object "$name" "$ino" 1)
	[[ "$new" != "$old" ]] || fail "$name: chunk 1 kept its object name across versions"

	# the replay: version 1's object under version 2's name
	cp "$TEST_TMP/old-object" "$new"
	efsfs_mount "$name" "$MNT"
	echo 3 >/proc/sys/vm/drop_caches
	out=$(dd if="$MNT/f" of=/dev/null bs=$CS skip=1 count=1 2>&1) || rc=$?
	((rc != 0)) || fail "$name: reading a replayed chunk succeeded"
	[[ "$out" == *"Input/output error"* ]] || fail "$name: replayed chunk: $out"
	pass "$name: a replayed object reads as EIO"
	assert_ok "$name: the other chunks still read" cmp -n "$CS" "$TEST_TMP/v2" "$MNT/f"
	efsfs_umount "$MNT"
	out=$(fsck_logged "$name" --deep 2>&1) && fail "$name: fsck --deep passed a replayed object"
	[[ "$out" == *"/f) chunk 1"* ]] || fail "$name: fsck --deep does not name /f chunk 1: $out"
	pass "$name: fsck --deep reports the replayed object"
}

replay replay
replay replay-enc "encrypted = true"

# ---- fsck of the cold objects ---------------------------------------------------------

NAME=check
make_config "$NAME" "chunk_size = 64K" "transition_to_ia = AFTER_30_DAYS"
efsfs_mkfs "$NAME"
efsfs_mount "$NAME" "$MNT"
mkdir "$MNT/d"
head -c $((4 * CS)) /dev/urandom >"$MNT/d/f"
head -c $((3 * CS)) /dev/urandom >"$MNT/g"
F=$(stat -c %i "$MNT/d/f")
G=$(stat -c %i "$MNT/g")
efsfs_umount "$MNT"
demote "$NAME" +31d

out=$(fsck_logged "$NAME" 2>&1) || fail "fsck of a clean cold file system: $out"
[[ "$out" == *"cold chunks: 7 checked"* ]] || fail "fsck did not check the 7 cold chunks: $out"
pass "fsck: clean, 7 cold chunks checked"
assert_ok "fsck --deep: clean" fsck_logged "$NAME" --deep

# a flipped payload byte: the listing cannot see it, --deep must
OBJ=$(the_object "$NAME" "$F" 1)
flip_byte "$OBJ" 2000
out=$(fsck_logged "$NAME" --deep 2>&1) && fail "fsck --deep passed a flipped byte: $out"
[[ "$out" == *"/d/f) chunk 1"*"$(basename "$OBJ")"* ]] ||
	fail "fsck --deep does not name /d/f chunk 1 and its object: $out"
pass "fsck --deep: a flipped byte in /d/f chunk 1"

# a deleted object: the listing shows it, with the file and the chunk
OBJ=$(the_object "$NAME" "$F" 2)
rm -- "$OBJ"
out=$(fsck_logged "$NAME" 2>&1) && fail "fsck passed a deleted object: $out"
[[ "$out" == *"/d/f) chunk 2 (bytes $((2 * CS))-$((3 * CS - 1)))"*"is missing"* ]] ||
	fail "fsck does not say /d/f chunk 2's object is missing: $out"
[[ "$out" == *"check: 1 error"* ]] || fail "fsck (no --deep) should count 1 error: $out"
pass "fsck: a deleted object of /d/f chunk 2"

# an object no chunk refers to (as a crash between put and commit leaves)
OBJ=$(the_object "$NAME" "$G" 0)
STRAY="${OBJ%.*}.00000000000000ff"
cp -- "$OBJ" "$STRAY"
out=$(fsck_logged "$NAME" 2>&1) || true
[[ "$out" == *"$(basename "$STRAY") ("*"belongs to no chunk"* ]] ||
	fail "fsck does not report the unreferenced object: $out"
[[ "$out" == *"check: 1 error"* ]] || fail "an unreferenced object is not an error: $out"
pass "fsck: reports an object no chunk refers to"

out=$(fsck_logged "$NAME" --repair 2>&1) && fail "fsck --repair claims to repair a lost object: $out"
[[ "$out" == *"deleted 1 object no chunk refers to"* ]] ||
	fail "fsck --repair did not delete the unreferenced object: $out"
[[ ! -e "$STRAY" ]] || fail "fsck --repair left $STRAY"
[[ "$out" == *"cannot be recreated"* ]] || fail "fsck --repair does not say what it cannot do: $out"
pass "fsck --repair: deletes the unreferenced object, cannot recreate the lost one"
[[ -e "$(the_object "$NAME" "$G" 0)" ]] || fail "fsck --repair touched a referenced object"

# what the lost chunk means on the mount: EIO for it, the rest reads
efsfs_mount "$NAME" "$MNT"
assert_fails "the lost chunk reads as an error" dd if="$MNT/d/f" of=/dev/null bs=$CS skip=2 \
	count=1 status=none
assert_ok "the other files read" dd if="$MNT/g" of=/dev/null status=none
efsfs_umount "$MNT"

finish
