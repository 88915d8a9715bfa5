#!/bin/bash
# scripts/cache-timeouts.sh - what the kernel's attribute, entry and negative
# timeouts buy on warm metadata workloads (the figures behind the defaults in
# common/conf.c and README's configuration table).
#
# usage: scripts/cache-timeouts.sh EFSFS_BINARY [FILES] [TIMEOUTS...]
# For each timeout T (default: 1 30 3600) it makes a file system with
# attr_timeout = entry_timeout = negative_timeout = T, a tree of FILES files
# (default 5000) in 50 directories, runs each workload once to warm the
# caches, then 5 times waits 2 s (longer than the old 1 s default) and times
# it again; the median of the 5 is printed:
#   find -ls    every name and its attributes (readdir, lookups, getattr)
#   stat all    lstat of every path from a list, as git status does
#   missing     lstat of FILES names that do not exist (a compiler's include
#               path search, a shell's PATH)
# Prints one line per workload and timeout: seconds of the warm run.  On a
# loaded machine the runs scatter; compare medians of a quiet one.  Root
# only (it mounts); everything lives in a temporary directory it removes.
set -euo pipefail

efsfs=${1:?usage: cache-timeouts.sh EFSFS_BINARY [FILES] [TIMEOUTS...]}
files=${2:-5000}
shift $(($# >= 2 ? 2 : 1))
timeouts=("$@")
((${#timeouts[@]})) || timeouts=(1 30 3600)
tmp=$(mktemp -d /tmp/efsfs-cache.XXXXXX)
mnt=$tmp/mnt
cleanup()
{
	umount "$mnt" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$mnt"

now() { date +%s.%N; }
timed()
{
	local t0 t1
	t0=$(now)
	"$@" >/dev/null 2>&1 || true
	t1=$(now)
	echo "$t1 - $t0" | bc
}
stat_all() { xargs -a "$tmp/list" -d '\n' stat -c '' --; }
stat_missing() { xargs -a "$tmp/missing" -d '\n' stat -c '' -- 2>/dev/null || true; }

for t in "${timeouts[@]}"; do
	name=cache$$_${t//./_}
	cat >"$tmp/efsfs.conf" <<-EOF
		[$name]
		data_dir = $tmp/data-$name
		attr_timeout = $t
		entry_timeout = $t
		negative_timeout = $t
	EOF
	export EFSFS_CONFIG=$tmp/efsfs.conf
	"$efsfs" mkfs "$name" >/dev/null
	"$efsfs" mount "$name" "$mnt" </dev/null >/dev/null
	for ((i = 0; i < files; i++)); do
		d=$mnt/d$((i % 50))
		[[ -d $d ]] || mkdir "$d"
		echo "$i" >"$d/f$i"
	done
	(cd "$mnt" && find . -type f) | sed "s|^\.|$mnt|" >"$tmp/list"
	sed 's|/f\([0-9]*\)$|/missing\1.h|' "$tmp/list" >"$tmp/missing"
	for w in find stat missing; do
		case $w in
		find) cmd=(find "$mnt" -ls) ;;
		stat) cmd=(stat_all) ;;
		missing) cmd=(stat_missing) ;;
		esac
		timed "${cmd[@]}" >/dev/null
		runs=()
		for ((r = 0; r < 5; r++)); do
			sleep 2
			runs+=("$(timed "${cmd[@]}")")
		done
		printf '%-8s timeout %-5s warm median %s s (runs: %s)\n' "$w" "$t" \
			"$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 3p)" "${runs[*]}"
	done
	umount "$mnt"
	for ((n = 0; n < 100; n++)); do
		grep -qF " $mnt " /proc/mounts || break
		sleep 0.1
	done
done
