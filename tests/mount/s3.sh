#!/bin/bash
# tests/mount/s3.sh - mount suite: an S3 store that is missing, refuses the
# storage class, has no credentials, or stalls.  Against a private s3rver on
# 127.0.0.1 that this script starts, stops with SIGSTOP and resumes:
#   - mkfs and mount write and delete a probe object in every s3:// store:
#     a missing bucket and a refused archive_storage_class fail at once with
#     a message naming the store, the endpoint and the fix; mkfs
#     --create-bucket creates the bucket (with a LocationConstraint);
#   - without credentials the message names the real keys, and the store once;
#   - an s3_endpoint that is not AWS gets archive_storage_class STANDARD;
#   - with s3rver stopped (SIGSTOP), a cold read fails with EIO and a
#     lifecycle run fails every chunk within the configured time limits, and
#     the run shows its progress on stderr, mounted and unmounted.
# Needs: EFSFS, EFSFS_SRC (for tests/lib/s3rver.sh), root, /dev/fuse, node and
# npm (s3rver.sh installs s3rver), curl.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
s3rver_setup
sanitizer_to_files

S3DIR="$TEST_TMP/s3"
BUCKET=efsfs-s3test
MNT="$TEST_TMP/mnt"
CS=$((64 * 1024))
S3PORT=""
S3PID=""

s3_stop()
{
	[[ -z "$S3PID" ]] || kill -CONT "$S3PID" 2>/dev/null || true
	EFSFS_SRC="$EFSFS_SRC" bash "$S3RVER_SH" stop "$S3DIR"
}

# run CMD...: runs CMD with a time limit; sets RC, OUT (stdout), ERR (stderr), SECS.
run()
{
	local t0
	RC=0
	t0=$(date +%s%N)
	timeout 120 "$@" >"$TEST_TMP/run.out" 2>"$TEST_TMP/run.err" </dev/null || RC=$?
	SECS=$((($(date +%s%N) - t0) / 1000000000))
	OUT=$(<"$TEST_TMP/run.out")
	ERR=$(<"$TEST_TMP/run.err")
	{
		echo "\$ $* (exit $RC, $SECS s)"
		cat "$TEST_TMP/run.out" "$TEST_TMP/run.err"
	} >>"$TEST_TMP/runs.log"
}

field()
{
	awk -v k="$1" 'index($0, k ": ") == 1 { print substr($0, length(k) + 3); exit }' \
		"$TEST_TMP/run.out"
}

s3rver_pick_port
EP="http://127.0.0.1:$S3PORT"
mkdir -p "$S3DIR"
at_exit s3_stop
EFSFS_SRC="$EFSFS_SRC" bash "$S3RVER_SH" start "$S3DIR" "$S3PORT" "$BUCKET" ||
	fail "cannot start s3rver on 127.0.0.1:$S3PORT (log: $S3DIR/s3rver.log)"
S3PID=$(cat "$S3DIR/s3rver.pid")
pass "s3rver on $EP"

# ---- a missing bucket ------------------------------------------------------------------

make_config nobucket "ia_store = s3://no-such-bucket/cold" "s3_endpoint = $EP" \
	"s3_region = eu-west-3"
run "$EFSFS" mkfs nobucket
((RC == 1)) || fail "mkfs with a missing bucket exited $RC: $ERR"
[[ "$ERR" == *'bucket "no-such-bucket" does not exist at '"$EP"* ]] ||
	fail "mkfs with a missing bucket: the message does not name bucket and endpoint: $ERR"
[[ "$ERR" == *"efsfs mkfs --create-bucket nobucket"* ]] ||
	fail "mkfs with a missing bucket: the message does not say how to create it: $ERR"
[[ ! -e "${DATA_DIRS[nobucket]}/meta.db" ]] || fail "mkfs with a missing bucket made a file system"
pass "mkfs with a missing bucket fails: $ERR"

run "$EFSFS" mkfs --create-bucket nobucket
((RC == 0)) || fail "mkfs --create-bucket exited $RC: $ERR"
[[ -d "$S3DIR/data/no-such-bucket" ]] || fail "mkfs --create-bucket made no bucket: $ERR"
pass "mkfs --create-bucket creates the bucket (region eu-west-3) and the file system"
# the probe objects are gone again
n=$(find "$S3DIR/data" -path '*efsfs-probe*' -name '*._S3rver_object' | wc -l)
assert_eq 0 "$n" "no probe object left in the stores"

# the bucket disappears: mount says so before mounting
rm -rf -- "$S3DIR/data/no-such-bucket"
mkdir -p "$MNT"
run "$EFSFS" mount nobucket "$MNT"
((RC != 0)) || fail "mount with a missing bucket exited 0"
is_not_mounted "$MNT" || fail "mounted although the bucket is missing"
[[ "$ERR" == *'bucket "no-such-bucket" does not exist'* ]] ||
	fail "mount with a missing bucket: $ERR"
pass "mount with a missing bucket fails: $ERR"

# ---- storage classes ---------------------------------------------------------------------

make_config glacier "ia_store = s3://$BUCKET/g" "s3_endpoint = $EP" \
	"archive_storage_class = GLACIER_IR"
run "$EFSFS" mkfs glacier
((RC == 1)) || fail "mkfs with GLACIER_IR on s3rver exited $RC: $ERR"
[[ "$ERR" == *"does not accept storage class GLACIER_IR"*"InvalidStorageClass"* &&
	"$ERR" == *"set archive_storage_class"* ]] ||
	fail "mkfs with a refused storage class: unclear message: $ERR"
pass "mkfs with a storage class the store refuses fails: $ERR"

# no class set, an endpoint that is not AWS: STANDARD, with a notice
make_config glacier "ia_store = s3://$BUCKET/g" "s3_endpoint = $EP"
run "$EFSFS" mkfs glacier
((RC == 0)) || fail "mkfs with the default storage class on s3rver exited $RC: $ERR"
[[ "$ERR" == *"archive_storage_class STANDARD"* ]] ||
	fail "mkfs chose the storage class silently: $ERR"
pass "an S3-compatible endpoint gets archive_storage_class STANDARD: $ERR"
# set later to a refused class: mount fails at once
make_config glacier "ia_store = s3://$BUCKET/g" "s3_endpoint = $EP" \
	"archive_storage_class = GLACIER_IR"
run "$EFSFS" mount glacier "$MNT"
((RC != 0)) || fail "mount with GLACIER_IR on s3rver exited 0"
is_not_mounted "$MNT" || fail "mounted although the store refuses the storage class"
[[ "$ERR" == *"does not accept storage class GLACIER_IR"* ]] || fail "mount: $ERR"
pass "mount with a refused storage class fails: $ERR"

# ---- no credentials -------------------------------------------------------------------------

mkdir -p "$TEST_TMP/home"
make_config nocreds "ia_store = s3://$BUCKET/n" "s3_endpoint = $EP"
run env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$TEST_TMP/home" "$EFSFS" mkfs nocreds
((RC == 1)) || fail "mkfs without credentials exited $RC: $ERR"
[[ "$ERR" == *"no S3 credentials"*"s3_access_key_id and s3_secret_access_key"* ]] ||
	fail "the missing-credentials message does not name the real keys: $ERR"
[[ "$ERR" != *" access_key and secret_key"* ]] || fail "the message names keys that do not exist: $ERR"
n=$(grep -o "s3://$BUCKET/n" <<<"$ERR" | wc -l)
assert_eq 1 "$n" "the missing-credentials message names the store once ($ERR)"

# ---- a stalled S3 ----------------------------------------------------------------------------
# s3rver stopped with SIGSTOP accepts connections (the kernel does) and never
# answers.  Small limits: an attempt fails after 1 s without a byte, every
# operation after 3 s.

OPT=3
make_config stall "chunk_size = 64K" "ia_store = s3://$BUCKET/stall" "s3_endpoint = $EP" \
	"s3_low_speed_time = 1" "s3_request_timeout = 2" "s3_operation_timeout = $OPT" \
	"lifecycle_interval = 604800"
efsfs_mkfs stall
efsfs_mount stall "$MNT"
head -c $((3 * CS)) /dev/urandom >"$TEST_TMP/cold.ref"
head -c $((3 * CS)) /dev/urandom >"$TEST_TMP/cold2.ref"
head -c $((3 * CS)) /dev/urandom >"$TEST_TMP/hot.ref"
cp -- "$TEST_TMP/cold.ref" "$MNT/cold"
cp -- "$TEST_TMP/cold2.ref" "$MNT/cold2"
sync
run "$EFSFS" lifecycle run --as-of +31d stall
assert_eq "0 6" "$RC $(field chunks_to_ia)" "with S3 answering, the 6 chunks move to IA"
cp -- "$TEST_TMP/hot.ref" "$MNT/hot"
sync
sync
echo 3 >/proc/sys/vm/drop_caches

# a plain read through the page cache: after the failed readahead the kernel reads the
# page again at once, and that must not wait for a second operation timeout
kill -STOP "$S3PID"
t0=$(date +%s%N)
rc=0
timeout 120 cat -- "$MNT/cold2" >/dev/null 2>"$TEST_TMP/cat.err" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
kill -CONT "$S3PID"
((rc == 1)) || fail "cat of a cold file with S3 stalled exited $rc after $ms ms"
grep -q "Input/output error" "$TEST_TMP/cat.err" || fail "cat with S3 stalled: $(cat "$TEST_TMP/cat.err")"
((ms >= OPT * 1000 - 500 && ms < OPT * 1000 + 2000)) ||
	fail "cat of a cold file with S3 stalled took $ms ms (operation timeout $OPT s)"
pass "cat of a cold file with S3 stalled fails with EIO in $ms ms (one operation timeout)"

# one READ (O_DIRECT) of another file
kill -STOP "$S3PID"
t0=$(date +%s%N)
rc=0
timeout 120 dd if="$MNT/cold" of=/dev/null bs=64K count=1 iflag=direct status=none \
	2>"$TEST_TMP/dd.err" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
kill -CONT "$S3PID"
((rc != 0 && rc != 124)) || fail "cold read with S3 stalled: dd exited $rc after $ms ms"
grep -q "Input/output error" "$TEST_TMP/dd.err" || fail "cold read with S3 stalled: $(cat "$TEST_TMP/dd.err")"
((ms < (OPT + 3) * 1000)) || fail "cold read with S3 stalled took $ms ms (operation timeout $OPT s)"
pass "cold read with S3 stalled fails with EIO in $ms ms (s3_operation_timeout = $OPT s)"
# (a read within a second of a slow failure fails at once: poll, bounded)
wait_until 10 cmp -s -- "$TEST_TMP/cold.ref" "$MNT/cold" ||
	fail "the cold file does not read back once S3 answers"
cmp -- "$TEST_TMP/cold2.ref" "$MNT/cold2" || fail "cold2 does not read back once S3 answers"
pass "the cold files read back once S3 answers again"
echo 3 >/proc/sys/vm/drop_caches

# lifecycle_stalled HOW: a run with S3 stopped fails each of hot's 3 chunks within the
# bound and shows its progress on stderr.
lifecycle_stalled()
{
	kill -STOP "$S3PID"
	run "$EFSFS" lifecycle run --as-of +31d stall
	kill -CONT "$S3PID"
	((RC == 1)) || fail "$1: lifecycle run with S3 stalled exited $RC: $OUT $ERR"
	assert_eq "3 0" "$(field chunks_failed) $(field chunks_to_ia)" \
		"$1: lifecycle run with S3 stalled: every chunk failed"
	((SECS <= 3 * OPT + 5)) || fail "$1: the stalled run took $SECS s (3 chunks, $OPT s each)"
	[[ "$(field first_error)" == *"$EP"* ]] ||
		fail "$1: the error does not name the endpoint: $(field first_error)"
	grep -Eq '^efsfs: stall: lifecycle run: [0-9]+ of 3 chunks done \([0-9]+ s\)$' \
		"$TEST_TMP/run.err" || fail "$1: the stalled run showed no progress on stderr: $ERR"
	[[ "$OUT" != *"chunks done"* ]] || fail "$1: progress went to stdout: $OUT"
	pass "$1: lifecycle run with S3 stalled fails in $SECS s, showing progress: $(field first_error)"
}
lifecycle_stalled "mounted"
efsfs_umount "$MNT"
# Unmounted, the run opens the file system while S3 is stalled: it cannot read
# the stores' claims (tier/owner.c), so it moves nothing and says why, within
# the bound (the claim read at open and again before the pass).
kill -STOP "$S3PID"
run "$EFSFS" lifecycle run --as-of +31d stall
kill -CONT "$S3PID"
((RC == 1)) || fail "unmounted: lifecycle run with S3 stalled exited $RC: $OUT $ERR"
((SECS <= 2 * OPT + 5)) || fail "unmounted: the stalled run took $SECS s ($OPT s a request)"
[[ "$OUT$ERR" == *"$EP"* ]] || fail "unmounted: the error does not name the endpoint: $OUT $ERR"
pass "unmounted: lifecycle run with S3 stalled fails in $SECS s, naming the endpoint"
# ...and moved nothing: the next run moves all three chunks
run "$EFSFS" lifecycle run --as-of +31d stall
assert_eq "0 3" "$RC $(field chunks_to_ia)" "once S3 answers, the run moves the chunks"

# ---- S3 down at mount time ---------------------------------------------------------------
# No answer is not a configuration error: the mount goes ahead with a warning.

s3_stop
S3PID=""
efsfs_mount stall "$MNT"
grep -q "mounting anyway" "$TEST_TMP/mount-stall.log" ||
	fail "mount with S3 down gave no warning: $(tail -n 5 "$TEST_TMP/mount-stall.log")"
pass "mount with S3 down goes ahead with a warning"
efsfs_umount "$MNT"

assert_no_sanitizer_report
finish
