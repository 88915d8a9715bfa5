#!/usr/bin/env bash
# scripts/test.sh - the second of README's two commands: installs what is
# missing (Debian 12), builds efsfs twice (optimised, and with ASan+UBSan),
# starts a local s3rver on 127.0.0.1 for the S3 tests, and runs every test
# (unit and mount suites) in both builds.  Run as root (the mount tests use
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

for b in build:release build-asan:asan; do
	dir=${b%%:*}
	if [ ! -d "$dir" ]; then
		if [ "${b##*:}" = asan ]; then
			meson setup "$dir" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
		else
			meson setup "$dir" --buildtype=release >/dev/null
		fi
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

status=0
for dir in build build-asan; do
	echo "== $dir: unit and mount suites" >&2
	meson test -C "$dir" --no-rebuild --print-errorlogs --suite unit --suite mount ||
		status=1
done

# One closing line over both builds, from meson's own logs (one line per test).
count_results() {
	local passed=0 failed=0 skipped=0 f
	for f in build/meson-logs/testlog.json build-asan/meson-logs/testlog.json; do
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
