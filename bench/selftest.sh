#!/usr/bin/env bash
# bench/selftest.sh - checks bench/fsops.c, the timed operations behind
# bench/run.sh: it compiles fsops and runs every command that the workloads
# count on in a temp dir, asserting what each must have done (the files it
# made, the counts it printed, the data it wrote).  Needs cc; no root, no
# mount.  Exit 0 when every check passed, 1 otherwise (each failure named).
set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-selftest.XXXXXX") || exit 1
trap 'rm -rf -- "$T"' EXIT
FAILS=0

fail()
{
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}

# expect_eq WHAT GOT WANT
expect_eq()
{
	[[ "$2" == "$3" ]] || fail "$1: got '$2', want '$3'"
}

if ! cc -std=gnu11 -O2 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$T/fsops" "$BENCH_DIR/fsops.c"; then
	echo "FAIL: bench/fsops.c does not compile cleanly" >&2
	exit 1
fi
F=$T/fsops

# smalltree: COUNT files of SIZE, 50 a directory, two levels
out=$("$F" smalltree "$T/st" 120 4k) || fail "smalltree exited $?"
expect_eq "smalltree output" "$out" "0.000000 120 491520"
expect_eq "smalltree files" "$(find "$T/st" -type f | wc -l)" 120
expect_eq "smalltree file sizes" "$(find "$T/st" -type f -size 4k | wc -l)" 120
expect_eq "smalltree directories" "$(find "$T/st" -mindepth 2 -type d | wc -l)" 3
expect_eq "smalltree last file" "$(find "$T/st" -name f000119)" "$T/st/m000/d002/f000119"

# pcreate: NPROC x COUNT files, each process in a directory of its own
out=$("$F" pcreate "$T/pc" 4 30 4k) || fail "pcreate exited $?"
read -r secs ops bytes <<<"$out"
expect_eq "pcreate ops" "$ops" 120
expect_eq "pcreate bytes" "$bytes" $((120 * 4096))
awk -v s="$secs" 'BEGIN { exit !(s > 0) }' || fail "pcreate took no time: $out"
for p in p00 p01 p02 p03; do
	expect_eq "pcreate files in $p" "$(find "$T/pc/$p" -type f -size 4k | wc -l)" 30
done
"$F" pcreate "$T/pc0" 0 30 4k 2>/dev/null
expect_eq "pcreate with 0 processes exits" $? 2
# a child that fails fails the whole command (its directory is a file)
mkdir -p "$T/pcbad"
touch "$T/pcbad/p01"
"$F" pcreate "$T/pcbad" 2 3 1k 2>/dev/null
expect_eq "pcreate with a failing child exits" $? 1

# getxattr: COUNT calls of a missing name, each ENODATA
touch "$T/gx"
out=$("$F" getxattr "$T/gx" 50 2>/dev/null)
rc=$?
if [[ $rc == 0 ]]; then
	read -r secs ops bytes <<<"$out"
	expect_eq "getxattr ops" "$ops" 50
	expect_eq "getxattr bytes" "$bytes" 0
else
	# only a temp dir without user xattrs (tmpfs before Linux 6.6) may fail
	err=$("$F" getxattr "$T/gx" 50 2>&1 >/dev/null)
	expect_eq "getxattr without user xattrs exits" "$rc" 1
	[[ $err == *"getxattr $T/gx: Operation not supported"* ]] || fail "getxattr failed: $err"
fi
# any other failure than ENODATA fails the command, naming the file
err=$("$F" getxattr "$T/gx-missing" 5 2>&1 >/dev/null)
expect_eq "getxattr of a missing file exits" $? 1
[[ $err == *"getxattr $T/gx-missing: No such file"* ]] || fail "getxattr error: $err"

# requests.sh: a trace becomes counts by opcode, the counts requests per
# unit, waited for and in the background (the most frequent first, ties by
# name), and those the ceiling
(
	FAILS=0                 # this subshell's own, added below
	# shellcheck source=bench/workloads.sh
	source "$BENCH_DIR/workloads.sh"
	# shellcheck source=bench/requests.sh
	source "$BENCH_DIR/requests.sh"
	export BENCH_CREATE=10 BENCH_META=5
	mkdir -p "$T/tr/per_cpu/cpu0" "$T/tr/per_cpu/cpu1"
	printf 'overrun: 0\ndropped events: 0\n' >"$T/tr/per_cpu/cpu0/stats"
	printf 'overrun: 0\ndropped events: 0\n' >"$T/tr/per_cpu/cpu1/stats"
	{
		echo "# tracer: nop"
		for i in 1 2 3; do
			echo " fsops-1 [000] ..... 1.0$i: fuse_request_send: connection 52 req $i opcode 1 (FUSE_LOOKUP) len 48"
		done
		echo " fsops-1 [001] ..... 1.04: fuse_request_send: connection 52 req 4 opcode 35 (FUSE_CREATE) len 60"
	} >"$T/tr/trace"
	got=$(req_count_trace "$T/tr" | tr ' ' '\n' | sort | tr '\n' ' ')
	expect_eq "counts of a trace" "$got" " FUSE_CREATE=1 FUSE_LOOKUP=3 "
	echo "# tracer: nop" >"$T/tr/trace"
	expect_eq "counts of an empty trace" "$(req_count_trace "$T/tr")" none
	printf 'overrun: 0\ndropped events: 7\n' >"$T/tr/per_cpu/cpu1/stats"
	expect_eq "counts of a trace that lost events" "$(req_count_trace "$T/tr")" lost
	REQ_COUNTS["create efsfs"]="FUSE_LOOKUP=10 FUSE_CREATE=10 FUSE_RELEASE=10 FUSE_GETATTR=20 FUSE_RELEASEDIR=5 "
	expect_eq "requests per create" "$(req_per_unit create efsfs)" \
		"4.00 1.50 GETATTR 2.00, CREATE 1.00, LOOKUP 1.00|RELEASE 1.00, RELEASEDIR 0.50"
	REQ_COUNTS["meta efsfs"]="FUSE_RENAME=10 "
	expect_eq "requests per metadata operation (6 a round)" "$(req_per_unit meta efsfs)" \
		"0.33 0.00 RENAME 0.33|"
	REQ_COUNTS["stat efsfs"]=none
	expect_eq "no request at all" "$(req_per_unit stat efsfs)" "0.00 0.00 |"
	REQ_COUNTS["stat efsfs"]=lost
	req_per_unit stat efsfs >/dev/null
	expect_eq "a trace that lost events gives no figure" $? 1
	req_per_unit seqwrite efsfs >/dev/null
	expect_eq "a workload without a count of operations gives no figure" $? 1
	# 4 requests of 19 us (20 us a call at 50,000 calls/s, less native's
	# 1 us at 1,000,000/s, 1 request a call) on top of native's 20 us (50,000
	# files/s): 20 / (4 x 19 + 20)
	expect_eq "ceiling" "$(req_ceiling 4 50000 1000000 1 50000)" "0.21 19.0 20.0"
	expect_eq "ceiling, nullreq not run on native" "$(req_ceiling 4 50000 0 1 50000)" "0.20 20.0 20.0"
	expect_eq "ceiling, 2 requests a nullreq call" "$(req_ceiling 4 50000 0 2 50000)" "0.33 10.0 20.0"
	req_ceiling 4 0 0 1 50000 >/dev/null
	expect_eq "no ceiling without efsfs's nullreq" $? 1
	exit "$FAILS"
) || FAILS=$((FAILS + $?))

# write: every block differs beyond its first 8 bytes (no 4 MiB chunk can
# compress it), and the size is right
out=$("$F" write "$T/w.dat" 4M 1M) || fail "write exited $?"
expect_eq "write bytes" "$(stat -c %s "$T/w.dat")" 4194304
for k in 1 2 3; do
	if cmp -s <(tail -c +9 "$T/w.dat" | head -c 65536) \
		<(tail -c +$((k * 1048576 + 9)) "$T/w.dat" | head -c 65536); then
		fail "write: block $k repeats block 0"
	fi
done
out=$("$F" read "$T/w.dat" 1M) || fail "read exited $?"
expect_eq "read ops and bytes" "${out#* }" "4 4194304"

# randread: ops reads of BS bytes each, for about SECS seconds
out=$("$F" randread "$T/w.dat" 4k 1 5) || fail "randread exited $?"
read -r secs ops bytes <<<"$out"
((ops > 0)) || fail "randread did no read: $out"
expect_eq "randread bytes" "$bytes" $((ops * 4096))
awk -v s="$secs" 'BEGIN { exit !(s >= 1 && s < 3) }' || fail "randread ran $secs s, not about 1"
head -c 100 /dev/zero >"$T/tiny"
"$F" randread "$T/tiny" 4k 1 5 2>/dev/null
expect_eq "randread of a file smaller than a block exits" $? 1

# tree: DIV divides the sizes
out1=$("$F" tree "$T/t1" 200 3) || fail "tree exited $?"
out4=$("$F" tree "$T/t4" 200 3 4) || fail "tree with DIV exited $?"
b1=${out1##* } b4=${out4##* }
((b4 * 3 < b1 && b4 * 5 > b1)) || fail "tree DIV 4: $b4 bytes against $b1"
expect_eq "tree files" "$(find "$T/t4" -type f | wc -l)" 200

# bad usage
"$F" create "$T/x" 2>/dev/null
expect_eq "create without SIZE exits" $? 2
"$F" randread "$T/w.dat" 4k 2>/dev/null
expect_eq "randread without SECS exits" $? 2

if ((FAILS)); then
	echo "bench selftest: $FAILS check(s) failed" >&2
	exit 1
fi
echo "bench selftest: all checks passed"
