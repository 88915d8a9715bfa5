#!/bin/bash
# tests/mount/owner.sh - mount suite: whose cold objects are whose (issue 10,
# items 1 and 2), through the CLI and real mounts, with a file:// IA store
# outside the data directories.
#   - The issue's data loss: a file system "orig" with a demoted file; its
#     data directory copied with cp -a to "copy" with the same ia_store.  The
#     copy must refuse to mount, to gc and to run the lifecycle, naming
#     `efsfs reidentify copy`; after reidentify it mounts with a new fs id,
#     reads the file, deletes it, and its gc deletes exactly its own objects;
#     orig still reads every byte and fsck is clean.
#   - ia_store changed while IA holds data: mount refuses naming the old
#     store (so does fsck); `efsfs store set-url` refuses until the objects are copied, then
#     records the new store, and the file reads back from it.
# Needs: EFSFS, root, /dev/fuse.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse

sanitizer_to_files

SHARED="$TEST_TMP/shared"             # the IA store both copies name
NEW="$TEST_TMP/new"                   # where orig's store moves to
MNT="$TEST_TMP/mnt"
REF="$TEST_TMP/ref"
mkdir -p -- "$SHARED" "$NEW"
head -c $((512 * 1024 + 1000)) /dev/urandom >"$REF"

OUT=""
ERR=""
RC=0
# run CMD...: runs it with a timeout; sets OUT, ERR and RC.
run()
{
	RC=0
	OUT=$(timeout 120 "$@" 2>"$TEST_TMP/stderr") || RC=$?
	ERR=$(cat "$TEST_TMP/stderr")
}

# expect_refusal MSG NEEDLE...: the last run failed, and its messages hold every NEEDLE.
expect_refusal()
{
	local msg=$1 n
	shift
	((RC != 0)) || fail "$msg: exited 0: $OUT $ERR"
	for n in "$@"; do
		[[ "$OUT $ERR" == *"$n"* ]] || fail "$msg: no '$n' in: $OUT $ERR"
	done
	pass "$msg"
}

# Chunk objects (not claims) below directory $1.
count_objects()
{
	find "$1" -type f ! -name claim ! -name '.objstore-tmp.*' | wc -l
}

# read_back NAME: mounts NAME, compares the file with the reference, unmounts.
read_back()
{
	efsfs_mount "$1" "$MNT"
	assert_same_file "$REF" "$MNT/f" "$1 reads the file back"
	efsfs_umount "$MNT"
}

# ---- a copied data directory sharing the store --------------------------------------

make_config orig "chunk_size = 64K" "ia_store = file://$SHARED"
efsfs_mkfs orig
ORIG_ID=$FS_ID
efsfs_mount orig "$MNT"
cp -- "$REF" "$MNT/f"
efsfs_umount "$MNT"
run "$EFSFS" lifecycle run --as-of +31d orig
assert_eq 0 "$RC" "lifecycle run exits 0 ($ERR)"
[[ "$OUT" == *"chunks_to_ia: 9"* ]] || fail "9 chunks should move to IA: $OUT"
pass "the file's 9 chunks went to IA"
assert_eq 9 "$(count_objects "$SHARED")" "9 objects in the shared store"

cp -a -- "${DATA_DIRS[orig]}" "$TEST_TMP/data/copy"
make_config copy "chunk_size = 64K" "ia_store = file://$SHARED"

run "$EFSFS" mount copy "$MNT"
expect_refusal "the copy does not mount" "efsfs reidentify copy" "${DATA_DIRS[orig]}"
is_not_mounted "$MNT" || fail "a refused mount left $MNT mounted"
run "$EFSFS" gc copy
expect_refusal "the copy's gc refuses" "efsfs reidentify copy"
run "$EFSFS" lifecycle run --as-of +400d copy
expect_refusal "the copy's lifecycle run refuses" "efsfs reidentify copy"
assert_eq 9 "$(count_objects "$SHARED")" "the copy deleted nothing"
read_back orig

run "$EFSFS" reidentify copy
assert_eq 0 "$RC" "efsfs reidentify copy exits 0 ($ERR)"
[[ "$OUT" =~ ^fs-[0-9a-f]{17}$ && "$OUT" != "$ORIG_ID" ]] ||
	fail "reidentify printed '$OUT', expected a new fs- id (orig is $ORIG_ID)"
COPY_ID=$OUT
pass "the copy is now $COPY_ID"
assert_eq 18 "$(count_objects "$SHARED")" "the copy has its own 9 objects"
run "$EFSFS" info copy
[[ "$OUT" == *"$COPY_ID"* ]] || fail "efsfs info copy does not show $COPY_ID: $OUT $ERR"
pass "efsfs info shows the copy's new id"

efsfs_mount copy "$MNT"
assert_same_file "$REF" "$MNT/f" "the copy reads the file from its own objects"
rm -- "$MNT/f"
efsfs_umount "$MNT"
run "$EFSFS" gc copy
assert_eq 0 "$RC" "the copy's gc exits 0 ($ERR)"
[[ "$OUT" == *"objects_deleted: 9"* ]] || fail "gc of the copy should delete its 9: $OUT"
pass "the copy's gc deletes exactly its own 9 objects"
assert_eq 9 "$(count_objects "$SHARED")" "the original's 9 objects are still there"
read_back orig
run "$EFSFS" gc orig
[[ "$RC" == 0 && "$OUT" == *"objects_deleted: 0"* ]] || fail "gc of orig: $RC $OUT $ERR"
pass "orig has nothing to collect"
run "$EFSFS" gc --legacy orig
[[ "$RC" == 0 && "$OUT" == *"objects_deleted: 0"* ]] || fail "gc --legacy of orig: $RC $OUT $ERR"
pass "gc --legacy finds no objects from before instance ids"
run "$EFSFS" fsck orig
assert_eq 0 "$RC" "fsck orig is clean ($OUT)"

# ---- the store moved ------------------------------------------------------------------

make_config orig "chunk_size = 64K" "ia_store = file://$NEW"
run "$EFSFS" mount orig "$MNT"
expect_refusal "orig does not mount with its IA data elsewhere" "file://$SHARED" \
	"efsfs store set-url orig"
is_not_mounted "$MNT" || fail "a refused mount left $MNT mounted"
run "$EFSFS" fsck orig
expect_refusal "fsck does not report 0 errors with the IA data elsewhere" "file://$SHARED"
# read-only opens write no record but compare it all the same: never an EIO later
run "$EFSFS" mount -o ro orig "$MNT"
expect_refusal "a read-only mount is refused too with the IA data elsewhere" "file://$SHARED"
is_not_mounted "$MNT" || fail "a refused read-only mount left $MNT mounted"
run "$EFSFS" info orig
expect_refusal "info (a read-only open) names the old store" "file://$SHARED"
run "$EFSFS" store set-url orig "file://$SHARED" "file://$NEW"
expect_refusal "set-url refuses before the objects are copied" "9 of 9 IA objects"
cp -a -- "$SHARED/$ORIG_ID" "$NEW/"
run "$EFSFS" store set-url orig "file://$SHARED" "file://$NEW"
assert_eq 0 "$RC" "set-url records the new store ($ERR)"
rm -rf -- "${SHARED:?}/$ORIG_ID"
read_back orig
run "$EFSFS" fsck orig
assert_eq 0 "$RC" "fsck orig is clean after the move ($OUT)"

assert_no_sanitizer_report
finish
