#!/usr/bin/env bash
# scripts/test.sh - the second of README's two commands: installs what is
# missing (Debian 12), builds efsfs three times (optimised, with ASan+UBSan,
# and with ThreadSanitizer), starts a local s3rver on 127.0.0.1 for the S3
# tests, and runs every test (unit and mount suites) in the first two builds
# (and the mount scripts with FUSE over io_uring, suite mount_uring, in the first)
# and the unit suite in the TSan build, then each fuzz target for a while
# under clang's libFuzzer.  Run as root (the mount tests use
# /dev/fuse).  .ci/run calls this.  Ends with "N passed, N failed".
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/scripts/deps.sh"
efsfs_deps test
cd "$src"

work=$(mktemp -d /tmp/efsfs-test.XXXXXX)
s3port=$((20000 + RANDOM % 20000))
cleanup() {
	EFSFS_SRC="$src" bash tests/lib/s3rver.sh stop "$work/s3" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

for b in build:release build-asan:asan build-tsan:tsan; do
	dir=${b%%:*}
	if [ ! -d "$dir" ]; then
		case ${b##*:} in
		asan) meson setup "$dir" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null ;;
		tsan) meson setup "$dir" -Db_sanitize=thread -Db_lundef=false >/dev/null ;;
		*) meson setup "$dir" --buildtype=release >/dev/null ;;
		esac
	fi
	ninja -C "$dir" >/dev/null
done

mkdir -p "$work/s3"
EFSFS_SRC="$src" bash tests/lib/s3rver.sh start "$work/s3" "$s3port"
export EFSFS_S3_ENDPOINT="http://127.0.0.1:$s3port" EFSFS_S3_BUCKET=efsfs-test
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
# Sanitizer reports go to files, so that those of a detached mount daemon
# (whose stderr is /dev/null) are seen too; any report fails the run.
mkdir -p "$work/san"
export ASAN_OPTIONS="detect_leaks=1:log_path=$work/san/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$work/san/ubsan"
# TSan: a data race or a lock-order inversion fails the test (exit 66) and
# leaves its report; no suppressions (none has been needed).
export TSAN_OPTIONS="second_deadlock_stack=1:log_path=$work/san/tsan"

status=0
# The mount scripts again with FUSE over io_uring (suite mount_uring) in the
# release build only: the same scripts as the mount suite, which runs under
# ASan too, and the ring's own test (uring.sh) is in the mount suite.
for dir in build build-asan; do
	extra=()
	[[ $dir == build ]] && extra=(--suite mount_uring)
	echo "== $dir: unit and mount suites ${extra[*]}" >&2
	meson test -C "$dir" --no-rebuild --print-errorlogs --suite unit --suite mount \
		"${extra[@]}" || status=1
done
# Under TSan the unit suite only (the group committer, the tier thread, the
# control socket's threads), to keep CI within its 20 minutes on 2 cores.
echo "== build-tsan: unit suite" >&2
meson test -C build-tsan --no-rebuild --print-errorlogs --suite unit || status=1

# The fuzz targets under clang's libFuzzer (ASan+UBSan), EFSFS_FUZZ_SECS
# each (default 20, so that the five keep CI within its 20 minutes),
# starting from their seed corpus in a scratch copy; a crash, a leak, UB or
# a failed check fails the run and keeps the input.
fuzz_passed=0 fuzz_failed=0
if command -v clang >/dev/null 2>&1; then
	if [ ! -d build-fuzz ]; then
		CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
			-Db_lundef=false -Dc_args=-fno-sanitize-recover=undefined >/dev/null
	fi
	targets=(conf codec s3 sigv4 apcmd)
	ninja -C build-fuzz "${targets[@]/#/tests/fuzz/fuzz_}" >/dev/null
	for t in "${targets[@]}"; do
		mkdir -p "$work/fuzz/$t"
		echo "== fuzz_$t: ${EFSFS_FUZZ_SECS:-20} s" >&2
		if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			"build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="${EFSFS_FUZZ_SECS:-20}" \
			-timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
			-artifact_prefix="$work/fuzz/$t-" "$work/fuzz/$t" "tests/fuzz/corpus/$t" \
			>"$work/fuzz/$t.log" 2>&1; then
			fuzz_passed=$((fuzz_passed + 1))
			tail -n 1 "$work/fuzz/$t.log" >&2
		else
			fuzz_failed=$((fuzz_failed + 1))
			echo "fuzz_$t FAILED:" >&2
			grep -v '^#' "$work/fuzz/$t.log" | tail -n 40 >&2
			for a in "$work/fuzz/$t"-*; do
				[ -e "$a" ] && { echo "input $a (base64):"; base64 -w0 "$a"; echo; } >&2
			done
		fi
	done
else
	echo "== fuzz: clang is not installed; the seed corpora ran in the unit suite only" >&2
fi

# meson's own logs of the three builds, one record per test
testlogs=(build/meson-logs/testlog.json build-asan/meson-logs/testlog.json
	build-tsan/meson-logs/testlog.json)

# What failed, next to the closing line: each failed test's FAIL lines and
# its last lines of output and of stderr (CI shows the start and the end of
# this output only).
failure_digest() {
	local f
	for f in "${testlogs[@]}"; do
		[ -f "$f" ] || continue
		jq -r --arg b "${f%%/*}" 'select(.result != "OK" and .result != "SKIP") |
			"== failed: \($b) \(.name) (\(.result))",
			((.stdout // "") | split("\n") | map(select(test("^FAIL"))) | .[:10][]),
			"-- its last lines:",
			((.stdout // "") | split("\n") | .[-12:][]),
			"-- its last lines on stderr:",
			((.stderr // "") | split("\n") | .[-8:][])' "$f" >&2 || true
	done
}
failure_digest

# One closing line over the builds, from meson's own logs (one line per test).
count_results() {
	local passed=$fuzz_passed failed=$fuzz_failed skipped=0 f
	for f in "${testlogs[@]}"; do
		[ -f "$f" ] || continue
		passed=$((passed + $(grep -c '"result": "OK"' "$f" || true)))
		failed=$((failed + $(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$f" || true)))
		skipped=$((skipped + $(grep -c '"result": "SKIP"' "$f" || true)))
	done
	echo "$passed passed, $failed failed, $skipped skipped"
	# CI runs as root with /dev/fuse: a skipped test there is a broken test
	[ "$failed" = 0 ] && { [ "$skipped" = 0 ] || [ "${CI:-}" != true ]; }
}
count_results || status=1
if compgen -G "$work/san/*" >/dev/null; then
	echo "sanitizer reports:" >&2
	cat "$work"/san/* >&2
	status=1
fi
exit "$status"
