#!/bin/bash
# tests/lib/s3rver.sh - runs a local s3rver (an S3 API emulator on node.js) for the s3 object
# store tests, on 127.0.0.1 only.
#
#   s3rver.sh start DIR PORT [BUCKET]   start it with data in DIR/data and BUCKET (default
#                                       "efsfs-test") created; returns once it answers
#   s3rver.sh stop DIR                  stop the instance started with DIR, wait for its exit
#
# s3rver 3.7.1 is installed on first use into "$EFSFS_SRC/.cache/npm" (EFSFS_SRC defaults to
# the source tree this script is in).  It checks that the access key id is S3RVER (secret
# S3RVER), that x-amz-date is within 15 minutes and that x-amz-content-sha256 is well formed;
# it does not verify Signature Version 4 signatures.  s3rver-put.js (loaded into it) makes it
# answer a PUT only once the object is stored, as S3 does.  It also serves virtual-host style
# requests for Host "BUCKET.s3.localhost:PORT" (started with --service-endpoint localhost).
# The pid is in DIR/s3rver.pid, the log in DIR/s3rver.log.
set -euo pipefail

S3RVER_VERSION=3.7.1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${EFSFS_SRC:-$(cd "$here/../.." && pwd)}
prefix="$src/.cache/npm"
bin="$prefix/node_modules/.bin/s3rver"

die() {
	echo "s3rver.sh: $*" >&2
	exit 1
}

install_s3rver() {
	if [[ -x $bin ]] && [[ $(node -p "require('$prefix/node_modules/s3rver/package.json').version" \
		2>/dev/null) == "$S3RVER_VERSION" ]]; then
		return 0
	fi
	command -v node >/dev/null || die "node is not installed (apt-get install nodejs npm)"
	command -v npm >/dev/null || die "npm is not installed (apt-get install npm)"
	mkdir -p "$prefix"
	npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
		"s3rver@$S3RVER_VERSION" >&2 || die "npm install s3rver@$S3RVER_VERSION failed"
	[[ -x $bin ]] || die "npm install did not produce $bin"
}

start() {
	local dir=$1 port=$2 bucket=${3:-efsfs-test} pid i code
	[[ $port =~ ^[0-9]+$ ]] || die "bad port: $port"
	command -v curl >/dev/null || die "curl is not installed"
	install_s3rver
	mkdir -p "$dir/data"
	dir=$(cd "$dir" && pwd)
	if [[ -f $dir/s3rver.pid ]] && kill -0 "$(cat "$dir/s3rver.pid")" 2>/dev/null; then
		die "already running with pid $(cat "$dir/s3rver.pid") for $dir"
	fi
	# --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens with DES,
	# which OpenSSL 3 (node >= 17) only offers through its legacy provider; without it every
	# truncated list answers 500 InternalError.
	# --require s3rver-put.js: a PUT is answered once its object is in the file, not
	# before (a GET right after it could read a short object; see that file).
	# setsid: own process group, so that the caller's job control does not touch it
	EFSFS_S3RVER_PREFIX="$prefix" setsid node --openssl-legacy-provider \
		--require "$here/s3rver-put.js" "$bin" --directory "$dir/data" --address 127.0.0.1 \
		--port "$port" --silent --service-endpoint localhost --configure-bucket "$bucket" \
		>"$dir/s3rver.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$dir/s3rver.pid"
	# wait until it answers: any HTTP status counts; bounded to about 30 s
	for ((i = 0; i < 300; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$dir/s3rver.log" >&2
			rm -f "$dir/s3rver.pid"
			die "s3rver exited during startup"
		fi
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
			"http://127.0.0.1:$port/$bucket" 2>/dev/null || true)
		if [[ $code != 000 && -n $code ]]; then
			return 0
		fi
		# pace the probes (a refused connection returns at once)
		sleep 0.1
	done
	kill "$pid" 2>/dev/null || true
	die "s3rver did not answer on 127.0.0.1:$port"
}

stop() {
	local dir=$1 pid i
	[[ -f $dir/s3rver.pid ]] || return 0
	pid=$(cat "$dir/s3rver.pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -9 "$pid" 2>/dev/null || true
		fi
		# reap it when it is our child; otherwise it is gone or a zombie of another shell
		wait "$pid" 2>/dev/null || true
	fi
	rm -f "$dir/s3rver.pid"
}

case ${1:-} in
start)
	[[ $# -ge 3 ]] || die "usage: s3rver.sh start DIR PORT [BUCKET]"
	start "$2" "$3" "${4:-}"
	;;
stop)
	[[ $# -eq 2 ]] || die "usage: s3rver.sh stop DIR"
	stop "$2"
	;;
*)
	die "usage: s3rver.sh start DIR PORT [BUCKET] | s3rver.sh stop DIR"
	;;
esac
