#!/usr/bin/env bash
# scripts/deps.sh - installs what building, running and testing efsfs needs
# on Debian 12, from Debian's packages only, skipping what is there already.
# Sourced by quickstart.sh and test.sh; safe to run again.
set -euo pipefail

efsfs_deps() {
	local want=(build-essential meson ninja-build pkg-config libfuse3-dev fuse3
		libsqlite3-dev libzstd-dev libssl-dev libcurl4-openssl-dev ca-certificates
		libinih-dev libexpat1-dev libjansson-dev liburing-dev check curl attr util-linux libmicrohttpd-dev)
	if [ "${1:-}" = test ]; then
		want+=(fio iproute2)   # iproute2: ss, in tests/mount/tier.sh
		want+=(clang libclang-rt-dev)   # libFuzzer for tests/fuzz
		want+=(groff-base)     # tests/mount/help.sh renders the man pages
		want+=(prometheus)     # promtool: tests/mount/meter.sh checks the endpoint
		want+=(libcap2-bin e2fsprogs)   # setcap, mkfs.ext4: tests/mount/privilege.sh
		want+=(python3-yaml jq)   # tests/check_kubernetes.py; access_points.sh; test.sh
		# s3rver (npm) needs node and npm; keep a node that is already installed
		command -v node >/dev/null 2>&1 || want+=(nodejs)
		command -v npm >/dev/null 2>&1 || want+=(npm)
	fi
	local missing=()
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		echo "efsfs: installing ${missing[*]}" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
	[ -e /dev/fuse ] || modprobe fuse 2>/dev/null || true
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	efsfs_deps "${1:-}"
fi
