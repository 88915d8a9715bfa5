#!/bin/bash
# tests/lib/s3rver_test.sh - suite unit: the s3rver that s3rver.sh starts
# answers a PUT only once the object is stored, so that a GET right after
# the answer returns the whole object (s3rver-put.js).  Its file writes are
# held back (EFSFS_S3RVER_WRITE_DELAY_MS) so that an answer sent before the
# object is in its file is caught on every run, not by chance.
# Needs node and npm (s3rver.sh installs s3rver) and curl; skipped (77)
# without them.  EFSFS_SRC: the source tree (default: the one this is in).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export EFSFS_SRC=${EFSFS_SRC:-$(cd "$here/../.." && pwd)}
for c in node npm curl cmp; do
	command -v "$c" >/dev/null || { echo "SKIP: $c is not installed"; exit 77; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/efsfs-s3rver-test.XXXXXX")
cleanup() {
	bash "$here/s3rver.sh" stop "$tmp/s3" >/dev/null 2>&1 || true
	rm -rf -- "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	exit 1
}

# a free port of 127.0.0.1 (nothing answers there), 50 tries
port=""
for ((i = 0; i < 50; i++)); do
	p=$((20000 + RANDOM % 20000))
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		port=$p
		break
	fi
done
[[ -n "$port" ]] || fail "no free port for s3rver"

bucket=efsfs-put-test
delay_ms=500
mkdir -p "$tmp/s3"
EFSFS_S3RVER_WRITE_DELAY_MS=$delay_ms bash "$here/s3rver.sh" start "$tmp/s3" "$port" "$bucket" ||
	fail "cannot start s3rver (log: $(cat "$tmp/s3/s3rver.log" 2>/dev/null))"

# s3rver checks the access key id, the form of x-amz-content-sha256 and that
# x-amz-date is recent; it does not check the signature.
s3() {
	local date
	date=$(date -u +%Y%m%dT%H%M%SZ)
	curl -sS --max-time 60 -H "Expect:" -H "x-amz-date: $date" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		-H "Authorization: AWS4-HMAC-SHA256 Credential=S3RVER/${date%%T*}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=$(printf '0%.0s' {1..64})" \
		"$@"
}

url="http://127.0.0.1:$port/$bucket/dir/object"
head -c $((100 * 1024)) /dev/urandom >"$tmp/put"
start=$(date +%s%N)
code=$(s3 -o "$tmp/put.out" -w '%{http_code}' -T "$tmp/put" "$url") ||
	fail "PUT $url: curl exited $?"
put_ms=$((($(date +%s%N) - start) / 1000000))
[[ "$code" == 200 ]] || fail "PUT $url answered $code: $(cat "$tmp/put.out")"
code=$(s3 -o "$tmp/get" -w '%{http_code}' "$url") || fail "GET $url: curl exited $?"
[[ "$code" == 200 ]] || fail "GET $url answered $code: $(cat "$tmp/get")"
cmp -s -- "$tmp/put" "$tmp/get" ||
	fail "a GET right after the PUT's answer (after $put_ms ms) returned $(stat -c %s -- \
"$tmp/get") of $(stat -c %s -- "$tmp/put") bytes: the PUT was answered before the object was stored"
echo "ok: a GET right after the PUT's answer (after $put_ms ms, writes held back" \
	"$delay_ms ms) returns the whole object"
