#!/usr/bin/env bash
# scripts/bench-uring.sh - A/B of FUSE over io_uring against the /dev/fuse
# loop: two efsfs file systems on the same disk, one with fuse_uring = on
# and one with fuse_uring = off (all else default: passthrough,
# fuse_spin_us = 50), and farm-bench timing the same command on each in
# turn (A = ring, B = loop, ratio pair by pair).  Workloads: create 2,000
# 4 KiB files (bench/fsops.c), lstat them with a cold dentry/inode cache,
# untar a 2,000-file source-like tree.  The fuse module's enable_uring is
# set for the run and put back at exit.
#
#   scripts/bench-uring.sh [EFSFS] [RUNS]
#
# Needs root, /dev/fuse, cc and farm-bench.  Prints farm-bench's reports.
set -euo pipefail

EFSFS=$(realpath "${1:-build/efsfs}")
RUNS=${2:-7}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PARAM=/sys/module/fuse/parameters/enable_uring
T=$(mktemp -d /var/tmp/efsfs-uring-ab.XXXXXX)
WAS=$(cat "$PARAM")

cleanup()
{
	for m in ring loop; do
		umount "$T/mnt-$m" 2>/dev/null || true
	done
	echo "$WAS" >"$PARAM"
	rm -rf -- "$T"
}
trap cleanup EXIT

cc -O2 -o "$T/fsops" "$SRC/bench/fsops.c"
echo Y >"$PARAM"
export EFSFS_CONFIG=$T/efsfs.conf
for m in ring loop; do
	u=off
	[[ $m == ring ]] && u=on
	cat >>"$EFSFS_CONFIG" <<-CONF
		[$m]
		data_dir = $T/data-$m
		log_file = $T/$m.log
		statfs = local
		fuse_uring = $u
	CONF
	mkdir -p "$T/mnt-$m"
	"$EFSFS" mkfs "$m" >/dev/null
	"$EFSFS" mount "$m" "$T/mnt-$m" >/dev/null
done
for _ in $(seq 50); do
	grep -q "serving FUSE over io_uring" "$T/ring.log" && break
	sleep 0.1
done
grep -q "serving FUSE over io_uring" "$T/ring.log" || { echo "the ring did not start" >&2; exit 1; }

"$T/fsops" tree "$T/tree" 2000 1 >/dev/null
tar -C "$T/tree" -cf "$T/tree.tar" .
for m in ring loop; do
	"$T/fsops" create "$T/mnt-$m/statset" 2000 4096 >/dev/null
done

# ab WHAT SNIPPET: farm-bench of sh -c SNIPPET, @M@ being the ring's mount
# point for A and the loop's for B (SNIPPET has no single quotes).
ab()
{
	local what=$1 s=$2
	echo "== $what (A: fuse_uring = on, B: fuse_uring = off)"
	farm-bench -n "$RUNS" --timeout 900 --vs "sh -c '${s//@M@/$T/mnt-loop}'" -- \
		sh -c "${s//@M@/$T/mnt-ring}"
}
ab "create 2000 x 4 KiB" "exec $T/fsops create \$(mktemp -u -p @M@) 2000 4096"
ab "lstat 2000, cold dentries and inodes" \
	"echo 2 >/proc/sys/vm/drop_caches; exec $T/fsops stat @M@/statset 2000"
ab "untar 2000 files" "d=\$(mktemp -d -p @M@); exec tar -C \$d -xf $T/tree.tar"
for m in ring loop; do
	umount "$T/mnt-$m"
done
for _ in $(seq 100); do
	grep -q "served" "$T/ring.log" && break
	sleep 0.1
done
grep "served" "$T/ring.log" || true
