#!/bin/bash
# tests/mount/tier.sh - mount suite: the lifecycle engine on a real mount with
# its IA and Archive classes in S3 (a private s3rver on 127.0.0.1 that this
# script starts, stops and restarts).  Files written through the mount move to
# IA (`efsfs lifecycle run --as-of +31d`) and to Archive (+91d): the per-class
# sizes follow, the local data shrinks, the objects appear in the bucket, and
# everything reads back with its checksum after the page cache is dropped.
# With AFTER_1_ACCESS a read brings the chunks back.  Faults: S3 down while a
# cold file is read (EIO within a bound, the mount stays up, the read works
# once S3 is back), S3 down during a lifecycle run (it fails, nothing is lost,
# fsck says it cannot list the store, and is clean once S3 is back), and kill -9
# of the daemon in the middle of a run (remount, every checksum, fsck clean, gc
# leaves exactly the objects the chunk map names).
# Needs: EFSFS, EFSFS_SRC (for tests/lib/s3rver.sh), root, /dev/fuse, node and
# npm (s3rver.sh installs s3rver), curl.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
s3rver_setup

sanitizer_to_files

NAME=tier
MNT="$TEST_TMP/mnt"
REF="$TEST_TMP/ref"                   # reference copies, outside the mount
S3DIR="$TEST_TMP/s3"
BUCKET=efsfs-tier
PREFIX=cold
CS=$((64 * 1024))                     # chunk size: many chunks from little data
S3PORT=""

# ---- s3rver ------------------------------------------------------------------------

s3_start()
{
	EFSFS_SRC="$EFSFS_SRC" bash "$S3RVER_SH" start "$S3DIR" "$S3PORT" "$BUCKET" ||
		fail "cannot start s3rver on 127.0.0.1:$S3PORT (log: $S3DIR/s3rver.log)"
}

s3_stop()
{
	EFSFS_SRC="$EFSFS_SRC" bash "$S3RVER_SH" stop "$S3DIR"
}

# Objects in the bucket, as s3rver stores them on disk.
s3_objects()
{
	if [[ -d "$S3DIR/data/$BUCKET" ]]; then
		# chunk objects only, not the store's claim (tier/owner.c)
		find "$S3DIR/data/$BUCKET" -type f -name '*._S3rver_object' ! -name 'claim._S3rver_object' | wc -l
	else
		echo 0
	fi
}

# ---- efsfs commands ------------------------------------------------------------------

# run CMD...: runs CMD with a time limit; sets RC and OUT (stdout and stderr).
run()
{
	RC=0
	timeout 300 "$@" >"$TEST_TMP/run.out" 2>&1 </dev/null || RC=$?
	OUT=$(<"$TEST_TMP/run.out")
}

# lifecycle_run ASOF: `efsfs lifecycle run --as-of ASOF`; sets RC and OUT.
lifecycle_run()
{
	run "$EFSFS" lifecycle run --as-of "$1" "$NAME"
	echo "lifecycle run --as-of $1 (exit $RC):" >>"$TEST_TMP/runs.log"
	echo "$OUT" >>"$TEST_TMP/runs.log"
}

# field KEY: the value of "KEY: value" in the last run's output ("" when absent).
field()
{
	awk -v k="$1" 'index($0, k ": ") == 1 { print substr($0, length(k) + 3); exit }' \
		"$TEST_TMP/run.out"
}

# stats: `efsfs stats` into the STATS_* variables (bytes and chunk counts).
stats()
{
	run "$EFSFS" stats "$NAME"
	((RC == 0)) || fail "efsfs stats exited $RC: $OUT"
	STATS_TOTAL=$(field 'StorageBytes{StorageClass=Total}')
	STATS_STANDARD=$(field 'StorageBytes{StorageClass=Standard}')
	STATS_IA=$(field 'StorageBytes{StorageClass=IA}')
	STATS_ARCHIVE=$(field 'StorageBytes{StorageClass=Archive}')
	STATS_IA_CHUNKS=$(field 'Chunks{StorageClass=IA}')
	STATS_ARCHIVE_CHUNKS=$(field 'Chunks{StorageClass=Archive}')
	[[ "$STATS_TOTAL$STATS_STANDARD$STATS_IA$STATS_ARCHIVE$STATS_IA_CHUNKS$STATS_ARCHIVE_CHUNKS" \
		=~ ^[0-9]+$ ]] || fail "efsfs stats printed unexpected output: $OUT"
	((STATS_TOTAL == STATS_STANDARD + STATS_IA + STATS_ARCHIVE)) ||
		fail "stats do not add up: $OUT"
}

# Bytes the STANDARD data takes on the local disk.
local_bytes()
{
	du -s --block-size=1 "${DATA_DIRS[$NAME]}/data" | cut -f1
}

drop_caches()
{
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# make_file REL SIZE: random content in the mount and a reference copy in $REF.
make_file()
{
	mkdir -p "$(dirname "$REF/$1")" "$(dirname "$MNT/$1")"
	head -c "$2" /dev/urandom >"$REF/$1"
	cp -- "$REF/$1" "$MNT/$1"
	FILES+=("$1")
}

# chunks_of SIZE: chunks a file of SIZE bytes has.
chunks_of()
{
	echo $((($1 + CS - 1) / CS))
}

# check_files MSG [FILE...]: each file (default: all) reads back equal to its
# reference, through a cold page cache.
check_files()
{
	local msg=$1 f
	shift
	if (($# == 0)); then
		set -- "${FILES[@]}"
	fi
	drop_caches
	for f in "$@"; do
		cmp -- "$REF/$f" "$MNT/$f" || fail "$msg: $f differs from what was written"
	done
	pass "$msg"
}

tier_config()
{
	make_config "$NAME" "chunk_size = 64K" \
		"transition_to_ia = AFTER_30_DAYS" "transition_to_archive = AFTER_90_DAYS" \
		"ia_store = s3://$BUCKET/$PREFIX" "s3_endpoint = http://127.0.0.1:$S3PORT" \
		"s3_url_style = path" "archive_storage_class = STANDARD_IA" \
		"lifecycle_interval = 604800" "$@"
}

# ---- set-up --------------------------------------------------------------------------

s3rver_pick_port
mkdir -p "$S3DIR" "$REF"
at_exit s3_stop
s3_start
pass "s3rver on 127.0.0.1:$S3PORT"

FILES=()
tier_config
efsfs_mkfs "$NAME"
efsfs_mount "$NAME" "$MNT"
B1=$((3 * 1024 * 1024)) B2=$((1024 * 1024 + 123)) SMALL=$((100 * 1024))
make_file big1 "$B1"
make_file big2 "$B2"
make_file small "$SMALL"
BIG=$((B1 + B2))
BIG_CHUNKS=$(($(chunks_of "$B1") + $(chunks_of "$B2")))
sync

# ---- IA after 30 days --------------------------------------------------------------------

stats
assert_eq "$((BIG + SMALL)) 0 0" "$STATS_STANDARD $STATS_IA $STATS_ARCHIVE" \
	"all data in Standard before the lifecycle runs"
local_before=$(local_bytes)
lifecycle_run +29d
assert_eq "0 0 0" "$RC $(field chunks_to_ia) $(field chunks_failed)" "nothing moves at 29 days"
lifecycle_run +31d
assert_eq "0 $BIG_CHUNKS $BIG 0" \
	"$RC $(field chunks_to_ia) $(field bytes_to_ia) $(field chunks_failed)" \
	"lifecycle run at 31 days moves the big files' chunks to IA"
stats
assert_eq "$SMALL $BIG $BIG_CHUNKS 0" \
	"$STATS_STANDARD $STATS_IA $STATS_IA_CHUNKS $STATS_ARCHIVE" \
	"stats: IA holds the big files, Standard only the small one"
local_after=$(local_bytes)
((local_after <= local_before - BIG * 9 / 10)) ||
	fail "local data did not shrink: $local_before -> $local_after bytes"
pass "local data shrank from $local_before to $local_after bytes"
assert_eq "$BIG_CHUNKS" "$(s3_objects)" "one object per IA chunk in the bucket"
obj=$(find "$S3DIR/data/$BUCKET/$PREFIX" -type f -name '*._S3rver_object' ! -name 'claim._S3rver_object' \
	-print -quit)
[[ -n "$obj" ]] || fail "no object under the prefix $PREFIX in the bucket"
assert_eq "EFSC" "$(head -c 4 -- "$obj")" "objects are in efsfs's chunk format"
check_files "cold data reads back after dropping caches"
stats
assert_eq "$BIG $BIG_CHUNKS" "$STATS_IA $STATS_IA_CHUNKS" \
	"reads without AFTER_1_ACCESS leave the chunks in IA"

# ---- Archive after 90 days ------------------------------------------------------------------

lifecycle_run +91d
assert_eq "0 $BIG_CHUNKS $BIG 0" \
	"$RC $(field chunks_to_archive) $(field bytes_to_archive) $(field chunks_failed)" \
	"lifecycle run at 91 days moves the IA chunks to Archive"
stats
assert_eq "$SMALL 0 $BIG $BIG_CHUNKS" \
	"$STATS_STANDARD $STATS_IA $STATS_ARCHIVE $STATS_ARCHIVE_CHUNKS" \
	"stats: the big files are in Archive"
assert_eq "$BIG_CHUNKS" "$(s3_objects)" "the IA objects were replaced, not duplicated"
meta=$(find "$S3DIR/data/$BUCKET/$PREFIX" -type f -name '*._S3rver_metadata.json' \
	! -name 'claim._S3rver_metadata.json' -print -quit)
[[ -n "$meta" ]] || fail "s3rver kept no metadata for the Archive objects"
grep -q '"x-amz-storage-class": *"STANDARD_IA"' "$meta" ||
	fail "Archive object stored without archive_storage_class: $(cat "$meta")"
pass "Archive objects carry archive_storage_class"
check_files "Archive data reads back after dropping caches"

# ---- S3 down while a cold file is read -------------------------------------------------------

s3_stop
drop_caches
start=$(date +%s%N)
rc=0
timeout 120 cat -- "$MNT/big1" >/dev/null 2>"$TEST_TMP/cat.err" || rc=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
((rc != 0 && rc != 124)) || fail "reading a cold file with S3 down: cat exited $rc"
grep -q "Input/output error" "$TEST_TMP/cat.err" ||
	fail "reading a cold file with S3 down: $(cat "$TEST_TMP/cat.err")"
((elapsed_ms < 60000)) || fail "EIO took ${elapsed_ms} ms with S3 down (limit 60 s)"
pass "cold read with S3 down fails with EIO in ${elapsed_ms} ms"
is_efsfs_mounted "$MNT" || fail "the mount went away after a failed cold read"
check_files "the mount stays up: local data reads with S3 down" small
s3_start
check_files "the cold file reads back once S3 is back" big1

# ---- S3 stalled while a cold file is read --------------------------------------------------
# s3rver stopped with SIGSTOP takes the request and never answers: a read of
# a cold chunk waits.  Meanwhile the rest of the mount must answer, even a
# close of another handle of the same file, whose release waits behind that
# read for the file's I/O lock (fuse/loop.c then hands requests on instead of
# serving them in turn).

S3PID=$(cat "$S3DIR/s3rver.pid")
s3_has_unread_request()
{
	# s3rver's side of the connection holds bytes it has not read
	ss -Htn state established "( sport = :$S3PORT )" | awk '$1 > 0 { f = 1 } END { exit !f }'
}
drop_caches
exec {held}<"$MNT/big1"
kill -STOP "$S3PID"
# The first chunk (the earlier full read left only the last ones in the
# daemon's cache), with O_DIRECT: one READ, no readahead.  The held handle
# is not inherited, so that closing it below is its last close.
timeout 120 dd if="$MNT/big1" of="$TEST_TMP/stalled.out" bs=64K count=1 iflag=direct status=none \
	2>"$TEST_TMP/stalled.err" {held}<&- &
ddpid=$!
if ! wait_until 30 s3_has_unread_request; then
	kill -CONT "$S3PID"
	fail "the cold read sent no request to the stopped s3rver"
fi
kill -0 "$ddpid" 2>/dev/null || { kill -CONT "$S3PID"; fail "the cold read did not wait for S3"; }
exec {held}<&-
stall_ok=1
timeout 10 stat -- "$MNT/small" >/dev/null || stall_ok=0
timeout 10 cmp -- "$REF/small" "$MNT/small" || stall_ok=0
timeout 10 touch -- "$MNT/during-stall" || stall_ok=0
timeout 10 ls -- "$MNT" >/dev/null || stall_ok=0
still_waiting=0
kill -0 "$ddpid" 2>/dev/null && still_waiting=1
kill -CONT "$S3PID"
((stall_ok)) || fail "with a cold read waiting for S3, stat/read/create of other files hung"
((still_waiting)) || fail "the cold read ended before S3 was resumed: $(cat "$TEST_TMP/stalled.err")"
pass "with a cold read waiting for a stalled S3, the rest of the mount answers"
rc=0
wait "$ddpid" || rc=$?
assert_eq 0 "$rc" "the stalled cold read completes once S3 answers"
cmp -n 65536 -- "$REF/big1" "$TEST_TMP/stalled.out" ||
	fail "the stalled cold read returned other data than was written"
pass "the stalled cold read returns the right data"
rm -f -- "$MNT/during-stall"

# ---- S3 down during a lifecycle run --------------------------------------------------------------

FRESH=$((3 * CS + 1))
make_file fresh "$FRESH"
sync
s3_stop
lifecycle_run +31d
((RC != 0)) || fail "lifecycle run with S3 down exited 0: $OUT"
assert_eq "$(chunks_of "$FRESH") 0" "$(field chunks_failed) $(field chunks_to_ia)" \
	"lifecycle run with S3 down counts every chunk it tried as failed"
[[ -n "$(field first_error)" ]] || fail "lifecycle run with S3 down names no error: $OUT"
pass "lifecycle run with S3 down exits $RC: $(field first_error)"
stats
assert_eq "$((SMALL + FRESH)) 0 $BIG" "$STATS_STANDARD $STATS_IA $STATS_ARCHIVE" \
	"stats unchanged by the failed run"
check_files "local data still reads after the failed run" small fresh
efsfs_umount "$MNT"
# fsck cannot vouch for cold objects it cannot list: an error naming the store
run "$EFSFS" fsck "$NAME"
((RC == 1)) || fail "fsck with S3 down exited $RC, expected 1: $OUT"
[[ "$OUT" == *"cannot list its objects"* ]] || fail "fsck with S3 down does not say why: $OUT"
pass "fsck with S3 down says it cannot check the cold objects"
s3_start
run "$EFSFS" fsck "$NAME"
((RC == 0)) || fail "fsck after the failed run exited $RC: $OUT"
pass "fsck clean after the failed run"

# ---- AFTER_1_ACCESS ------------------------------------------------------------------------------

tier_config "transition_to_primary_storage_class = AFTER_1_ACCESS"
efsfs_mount "$NAME" "$MNT"
check_files "AFTER_1_ACCESS: big2 reads back" big2
stats
assert_eq "$((SMALL + FRESH + B2)) $B1 $(chunks_of "$B1")" \
	"$STATS_STANDARD $STATS_ARCHIVE $STATS_ARCHIVE_CHUNKS" \
	"AFTER_1_ACCESS: reading big2 brought its chunks back"
assert_eq "$(chunks_of "$B1")" "$(s3_objects)" "AFTER_1_ACCESS: big2's objects were deleted"
check_files "AFTER_1_ACCESS: everything reads back"
stats
assert_eq "$((BIG + SMALL + FRESH)) 0 0" "$STATS_STANDARD $STATS_IA $STATS_ARCHIVE" \
	"AFTER_1_ACCESS: all data back in Standard"
assert_eq 0 "$(s3_objects)" "AFTER_1_ACCESS: no object left"

# ---- kill -9 of the daemon during a lifecycle run ---------------------------------------------------

for ((i = 0; i < 8; i++)); do
	make_file "many/f$i" $((2 * 1024 * 1024 + i * 1000))
done
sync
total_chunks=0
for f in "${FILES[@]}"; do
	size=$(stat -c %s -- "$REF/$f")
	((size < 128 * 1024)) || total_chunks=$((total_chunks + $(chunks_of "$size")))
done
"$EFSFS" lifecycle run --as-of +31d "$NAME" >"$TEST_TMP/bg-run.out" 2>&1 </dev/null &
bg=$!
# shellcheck disable=SC2016 # evaluated at each try
wait_until 60 eval '(($(s3_objects) >= 20))' || fail "the background run made no progress"
efsfs_crash "$MNT"
at_kill=$(s3_objects)
rc=0
wait "$bg" || rc=$?
((rc != 0)) || fail "the interrupted lifecycle run exited 0: $(cat "$TEST_TMP/bg-run.out")"
((at_kill < total_chunks)) ||
	fail "the run had finished ($at_kill of $total_chunks chunks) before the kill"
pass "daemon killed with $at_kill of $total_chunks chunks moved"
efsfs_mount "$NAME" "$MNT"
check_files "every file has its checksum after the crash"
efsfs_umount "$MNT"
run "$EFSFS" fsck "$NAME"
((RC == 0)) || fail "fsck after the crash exited $RC: $OUT"
pass "fsck clean after the crash"
run "$EFSFS" gc "$NAME"
((RC == 0)) || fail "efsfs gc exited $RC: $OUT"
pass "gc after the crash: $(field objects_deleted) objects deleted"
stats
assert_eq "$((STATS_IA_CHUNKS + STATS_ARCHIVE_CHUNKS))" "$(s3_objects)" \
	"after gc the bucket holds exactly the chunks the chunk map names"
# the interrupted run finishes, and the data is still right
lifecycle_run +31d
assert_eq "0 0" "$RC $(field chunks_failed)" "the lifecycle run completes after the crash"
stats
assert_eq "$total_chunks $total_chunks" "$STATS_IA_CHUNKS $(s3_objects)" \
	"every big chunk in IA, one object each"
efsfs_mount "$NAME" "$MNT"
check_files "every file reads back from IA after the crash"
stats
assert_eq "0 0 0" "$STATS_IA $STATS_IA_CHUNKS $(s3_objects)" \
	"AFTER_1_ACCESS: the reads brought every IA chunk back and deleted its object"
efsfs_umount "$MNT"
assert_no_sanitizer_report
finish
