#!/usr/bin/env bash
# bench/run.sh - runs the same workloads on efsfs, the native file system,
# bindfs, s3fs and rclone mount, and prints one table of medians and ratios to
# native.  See bench/README.md.
#
#   bench/run.sh [--quick] [--runs N] [--warmup 0|1] [--targets LIST] [--workloads LIST]
#                [--out FILE] [--efsfs PATH] [--keep]
#
# Needs root (mounts, drop_caches) and /dev/fuse.  Missing peers are installed
# with apt-get; ones that cannot be installed or set up show as "n/a".
# Exit codes: 0 the table was printed, 1 setup failed, 2 bad usage.
set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_SRC=$(cd "$BENCH_DIR/.." && pwd)
ALL_TARGETS=(native efsfs bindfs s3fs rclone)

usage()
{
	cat >&2 <<-EOF
		usage: bench/run.sh [--quick] [--runs N] [--warmup 0|1] [--targets LIST]
		                    [--workloads LIST]
		                    [--out FILE] [--efsfs PATH] [--keep]
		  --quick            only the quick set (big file, 100 small files, stat) and
		                     the cold-chunk read, 3 runs unless --runs says otherwise
		  --runs N           runs of every workload per target (default 5, --quick 3)
		  --warmup 0|1       an uncounted first run of every workload per target
		                     (default 1: the first run on this VM is slow everywhere)
		  --targets LIST     comma-separated subset of: ${ALL_TARGETS[*]}
		  --workloads LIST   comma-separated workload ids (see bench/README.md)
		  --out FILE         also write the report (table, settings, raw samples) to FILE
		  --efsfs PATH       the efsfs binary (default: \$EFSFS, else build/efsfs, else PATH)
		  --keep             keep the temp dir (logs) after the run
	EOF
	exit 2
}

QUICK=0
RUNS=""
WARMUP=1
TARGETS_ARG=$(IFS=,; echo "${ALL_TARGETS[*]}")
WORKLOADS_ARG=""
OUT=""
KEEP=0
EFSFS=${EFSFS:-}
ARGS_TEXT="$*"
while (($#)); do
	case $1 in
	--quick) QUICK=1 ;;
	--runs) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage; RUNS=$2; shift ;;
	--warmup) [[ $# -ge 2 && $2 =~ ^[01]$ ]] || usage; WARMUP=$2; shift ;;
	--targets) [[ $# -ge 2 ]] || usage; TARGETS_ARG=$2; shift ;;
	--workloads) [[ $# -ge 2 ]] || usage; WORKLOADS_ARG=$2; shift ;;
	--out) [[ $# -ge 2 ]] || usage; OUT=$2; shift ;;
	--efsfs) [[ $# -ge 2 ]] || usage; EFSFS=$2; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) usage ;;
	*) echo "bench/run.sh: unknown argument '$1'" >&2; usage ;;
	esac
	shift
done
[[ -n "$RUNS" ]] || RUNS=$((QUICK ? 3 : 5))
if [[ -z "$EFSFS" ]]; then
	if [[ -x "$BENCH_SRC/build/efsfs" ]]; then
		EFSFS=$BENCH_SRC/build/efsfs
	else
		EFSFS=$(command -v efsfs || true)
	fi
fi
[[ -z "$EFSFS" ]] || EFSFS=$(realpath -- "$EFSFS")

# shellcheck source=bench/targets.sh
source "$BENCH_DIR/targets.sh"
# shellcheck source=bench/workloads.sh
source "$BENCH_DIR/workloads.sh"

IFS=, read -r -a TARGETS <<<"$TARGETS_ARG"
for t in "${TARGETS[@]}"; do
	[[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "bench/run.sh: unknown target '$t'" >&2; usage; }
done
if [[ -n "$WORKLOADS_ARG" ]]; then
	IFS=, read -r -a WORKLOADS <<<"$WORKLOADS_ARG"
elif ((QUICK)); then
	WORKLOADS=("${WL_QUICK[@]}")
else
	WORKLOADS=("${WL_FULL[@]}")
fi
for w in "${WORKLOADS[@]}"; do
	[[ -n "${WL_LABEL[$w]:-}" ]] || { echo "bench/run.sh: unknown workload '$w'" >&2; usage; }
done

if ((EUID != 0)); then
	echo "bench/run.sh: needs root (FUSE mounts of other file systems, drop_caches)" >&2
	exit 1
fi
if [[ ! -c /dev/fuse ]]; then
	echo "bench/run.sh: /dev/fuse is missing" >&2
	exit 1
fi

# A workload run hanging on a stuck mount must not hang the whole bench.
WL_TIMEOUT=${BENCH_TIMEOUT:-600}

# /var/tmp, not /tmp: /tmp may be a tmpfs, and "native" must be a disk.
BENCH_TMP=$(mktemp -d "${TMPDIR:-/var/tmp}/efsfs-bench.XXXXXX") || exit 1
BENCH_TMP=$(realpath -- "$BENCH_TMP")
mkdir -p "$BENCH_TMP/logs"

cleanup()
{
	local rc=$? mnt
	trap - EXIT INT TERM
	target_teardown_all
	# never rm -rf through a mount that is still there
	awk -v t="$BENCH_TMP/" 'index($2, t) == 1 { print $2 }' /proc/mounts |
		while read -r mnt; do umount -l -- "$mnt" 2>/dev/null; done
	if awk -v t="$BENCH_TMP/" 'index($2, t) == 1 { f = 1 } END { exit !f }' /proc/mounts; then
		log "something is still mounted below $BENCH_TMP; leaving it in place"
	elif ((KEEP)); then
		log "kept $BENCH_TMP"
	else
		rm -rf -- "$BENCH_TMP"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- preparation -----------------------------------------------------------------

FSOPS=$BENCH_TMP/fsops
if ! cc -std=gnu11 -O2 -D_GNU_SOURCE -Wall -Wextra -o "$FSOPS" "$BENCH_DIR/fsops.c" \
	2>"$BENCH_TMP/logs/fsops-build.log"; then
	cat "$BENCH_TMP/logs/fsops-build.log" >&2
	echo "bench/run.sh: cannot compile bench/fsops.c (is cc installed?)" >&2
	exit 1
fi
ensure_tool fio fio || log "fio is not installable: fio workloads are n/a"

DROP_NOTE=""
[[ -w /proc/sys/vm/drop_caches ]] ||
	DROP_NOTE="drop_caches is not writable here: 'cold cache' rows ran with warm caches"

for t in "${TARGETS[@]}"; do
	log "setting up $t"
	target_setup "$t" || log "$t: n/a (${TARGET_NA[$t]})"
done

ACTIVE=()
for t in "${TARGETS[@]}"; do
	[[ -n "${TARGET_DIR[$t]:-}" ]] && ACTIVE+=("$t")
done
if [[ " ${WORKLOADS[*]} " == *" untar "* ]]; then
	untar_make_tarballs "${ACTIVE[@]}" || { echo "bench/run.sh: cannot make the tarballs" >&2; exit 1; }
fi

# ---- the runs ----------------------------------------------------------------------

declare -A SAMPLES=()	# "wl target" -> space-separated rates
declare -A CELL_NA=()	# "wl target" -> why there is no value
declare -A WL_SECS=()	# wl -> seconds it took (preparation and all runs)
START=$(date +%s)

for w in "${WORKLOADS[@]}"; do
	wl_start=$(date +%s)
	runnable=()
	for t in "${ACTIVE[@]}"; do
		if [[ -n "${WL_ONLY[$w]:-}" && "${WL_ONLY[$w]}" != "$t" ]]; then
			continue
		fi
		if declare -F "wl_${w}_prep" >/dev/null; then
			if ! why=$("wl_${w}_prep" "$t" "${TARGET_DIR[$t]}" 2>>"$BENCH_TMP/logs/$w.log"); then
				CELL_NA["$w $t"]=${why:-preparation failed}
				log "$w on $t: n/a (${CELL_NA["$w $t"]})"
				continue
			fi
		fi
		runnable+=("$t")
	done
	for ((run = 1 - WARMUP; run <= RUNS; run++)); do
		for t in "${runnable[@]}"; do
			[[ -n "${CELL_NA["$w $t"]:-}" ]] && continue
			if ! v=$("wl_${w}_run" "$t" "${TARGET_DIR[$t]}" "$run" 2>>"$BENCH_TMP/logs/$w.log") ||
				[[ ! $v =~ ^[0-9.]+$ ]]; then
				CELL_NA["$w $t"]="failed in run $run (see logs/$w.log)"
				log "$w on $t run $run failed:"
				tail -n 5 "$BENCH_TMP/logs/$w.log" >&2
				continue
			fi
			if ((run < 1)); then
				log "$w on $t warm-up (not counted): $v ${WL_UNIT[$w]}"
				continue
			fi
			SAMPLES["$w $t"]+="$v "
			log "$w on $t run $run/$RUNS: $v ${WL_UNIT[$w]}"
		done
	done
	WL_SECS[$w]=$(($(date +%s) - wl_start))
	for t in "${runnable[@]}"; do
		if declare -F "wl_${w}_done" >/dev/null; then
			"wl_${w}_done" "$t" "${TARGET_DIR[$t]}" 2>>"$BENCH_TMP/logs/$w.log" || true
		fi
	done
done
ELAPSED=$(($(date +%s) - START))

# ---- the table -----------------------------------------------------------------------

median()
{
	tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) exit 1
		      if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

fmt_num()
{
	awk -v v="$1" 'BEGIN {
		if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else printf "%.2f", v }'
}

declare -A MED=()
for w in "${WORKLOADS[@]}"; do
	for t in "${TARGETS[@]}"; do
		[[ -n "${SAMPLES["$w $t"]:-}" && -z "${CELL_NA["$w $t"]:-}" ]] || continue
		MED["$w $t"]=$(median <<<"${SAMPLES["$w $t"]}")
	done
done

cell()
{
	local w=$1 t=$2
	if [[ -n "${MED["$w $t"]:-}" ]]; then
		printf '%s%s' "$(fmt_num "${MED["$w $t"]}")" "$(wl_is_scaled "$w" "$t" && echo '*')"
	elif [[ -n "${WL_ONLY[$w]:-}" && "${WL_ONLY[$w]}" != "$t" ]]; then
		printf -- '-'
	else
		printf 'n/a'
	fi
}

ratio_cell()
{
	local w=$1 t=$2 base=${3:-native}
	if [[ -n "${MED["$w $t"]:-}" && -n "${MED["$w $base"]:-}" ]]; then
		awk -v a="${MED["$w $t"]}" -v b="${MED["$w $base"]}" 'BEGIN {
			if (b <= 0) printf "n/a"; else if (a / b < 0.1) printf "%.3f", a / b
			else printf "%.2f", a / b }'
		wl_is_scaled "$w" "$t" && printf '*'
	elif [[ -n "${WL_ONLY[$w]:-}" && "${WL_ONLY[$w]}" != "$t" ]]; then
		printf -- '-'
	else
		printf 'n/a'
	fi
}

print_table()
{
	local w t line i ncols others=()
	for t in "${TARGETS[@]}"; do
		[[ $t != native ]] && others+=("$t")
	done
	line="| workload | unit |"
	for t in "${TARGETS[@]}"; do line+=" $t |"; done
	if [[ " ${TARGETS[*]} " == *" native "* ]]; then
		for t in "${others[@]}"; do line+=" $t/native |"; done
	fi
	echo "$line"
	ncols=$((2 + ${#TARGETS[@]}))
	[[ " ${TARGETS[*]} " == *" native "* ]] && ncols=$((ncols + ${#others[@]}))
	line="|"
	for ((i = 0; i < ncols; i++)); do line+="---|"; done
	echo "$line"
	for w in "${WORKLOADS[@]}"; do
		line="| ${WL_LABEL[$w]} | ${WL_UNIT[$w]} |"
		for t in "${TARGETS[@]}"; do line+=" $(cell "$w" "$t") |"; done
		if [[ " ${TARGETS[*]} " == *" native "* ]]; then
			for t in "${others[@]}"; do line+=" $(ratio_cell "$w" "$t") |"; done
		fi
		echo "$line"
	done
}

# paired_ratios WL TARGET BASE: the ratio of every run of TARGET to the same
# run of BASE (the targets take turns within a run, so a pair saw the same
# machine), as "median min max"; nothing when the runs do not pair up.
paired_ratios()
{
	local w=$1 t=$2 base=$3
	[[ -n "${SAMPLES["$w $t"]:-}" && -n "${SAMPLES["$w $base"]:-}" ]] || return 0
	awk -v a="${SAMPLES["$w $t"]}" -v b="${SAMPLES["$w $base"]}" 'BEGIN {
		n = split(a, x, " "); m = split(b, y, " ")
		if (n != m || n == 0) exit
		for (i = 1; i <= n; i++) { if (y[i] <= 0) exit; r[i] = x[i] / y[i] }
		for (i = 2; i <= n; i++) { v = r[i]; for (j = i - 1; j >= 1 && r[j] > v; j--) r[j + 1] = r[j]; r[j + 1] = v }
		med = n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
		printf "%.2f %.2f %.2f\n", med, r[1], r[n] }'
}

# goal LABEL WL TARGET BASE MIN
goal()
{
	local label=$1 w=$2 t=$3 base=$4 min=$5 r p verdict
	if [[ -z "${MED["$w $t"]:-}" || -z "${MED["$w $base"]:-}" ]]; then
		printf -- '- %s: not measured\n' "$label"
		return
	fi
	r=$(ratio_cell "$w" "$t" "$base")
	if awk -v r="$r" -v m="$min" 'BEGIN { exit !(r + 0 >= m) }'; then
		verdict=PASS
	else
		verdict="BELOW GOAL"
	fi
	p=$(paired_ratios "$w" "$t" "$base")
	if [[ -n "$p" ]]; then
		read -r pm plo phi <<<"$p"
		printf -- '- %s: %s (goal >= %s) %s; run by run: median %s, from %s to %s\n' \
			"$label" "$r" "$min" "$verdict" "$pm" "$plo" "$phi"
	else
		printf -- '- %s: %s (goal >= %s) %s\n' "$label" "$r" "$min" "$verdict"
	fi
}

# True when a selected workload uses size key $1.
wl_uses_key()
{
	local w
	for w in "${WORKLOADS[@]}"; do
		case $1:$w in
		seq:seqwrite | seq:seqread | rand_*:randrw | qbig:qwrite | qbig:qread) return 0 ;;
		create:create | stat:stat | untar:untar | meta:meta) return 0 ;;
		esac
	done
	return 1
}

print_notes()
{
	local t w scaled=0 k
	for w in "${WORKLOADS[@]}"; do
		for t in "${TARGETS[@]}"; do
			wl_is_scaled "$w" "$t" && scaled=1
		done
	done
	echo
	echo "Medians of $RUNS runs after $WARMUP uncounted warm-up run; every unit is a rate (higher is better); ratios are target/native."
	echo "Goal lines also give the ratio run by run: each run of efsfs against the same run of the other target (the targets take turns within a run)."
	if ((scaled)); then
		printf '* scaled down for the object-store targets:'
		for k in seq rand_file rand_time create stat untar meta qbig; do
			wl_uses_key "$k" || continue
			[[ "$(size_of "$k" native)" != "${SIZE_SLOW[$k]}" ]] &&
				printf ' %s %s (not %s),' "$k" "${SIZE_SLOW[$k]}" "$(size_of "$k" native)"
		done
		echo " so their caches help them more than the others."
	fi
	for t in "${TARGETS[@]}"; do
		[[ -n "${TARGET_NA[$t]:-}" ]] && echo "n/a: $t: ${TARGET_NA[$t]}"
	done
	for w in "${WORKLOADS[@]}"; do
		for t in "${TARGETS[@]}"; do
			[[ -n "${CELL_NA["$w $t"]:-}" ]] && echo "n/a: ${WL_LABEL[$w]} on $t: ${CELL_NA["$w $t"]}"
		done
	done
	[[ -n "$DROP_NOTE" ]] && echo "$DROP_NOTE"
	echo
	echo "Goals (efsfs):"
	goal "seq write vs native" seqwrite efsfs native 0.9
	goal "4k randrw vs native" randrw efsfs native 0.9
	goal "small-file create vs bindfs" create efsfs bindfs 1.5
	goal "untar vs bindfs" untar efsfs bindfs 1.0
	if [[ -n "${MED["coldread efsfs"]:-}" ]]; then
		echo "- cold-chunk read: $(fmt_num "${MED["coldread efsfs"]}") MiB/s"
	else
		echo "- cold-chunk read: n/a (${CELL_NA["coldread efsfs"]:-not run})"
	fi
}

print_settings()
{
	echo "Command: bench/run.sh $ARGS_TEXT"
	echo "Date: $(date -u +%Y-%m-%dT%H:%M:%SZ); kernel $(uname -r); $(nproc) CPUs;" \
		"native = $(findmnt -n -o FSTYPE -T "$BENCH_TMP" 2>/dev/null || stat -f -c %T "$BENCH_TMP") at ${TMPDIR:-/var/tmp}; run time ${ELAPSED}s"
	echo "efsfs: $EFSFS ($("$EFSFS" version 2>/dev/null || echo '?')); fio $(fio --version 2>/dev/null ||
		echo n/a); bindfs $(bindfs --version 2>/dev/null | awk '{ print $2; exit }');" \
		"s3fs $(s3fs --version 2>/dev/null | awk '/V[0-9]/ { print $NF == "" ? "" : $0; exit }' |
		grep -oE 'V[0-9.]+' || echo n/a); rclone $(rclone version 2>/dev/null |
		awk 'NR == 1 { print $2 }' || echo n/a)"
}

print_raw()
{
	local w t
	echo "Seconds per workload (all targets, preparation included):"
	for w in "${WORKLOADS[@]}"; do
		echo "  $w: ${WL_SECS[$w]:-?}"
	done
	echo "Raw samples (workload target: runs):"
	for w in "${WORKLOADS[@]}"; do
		for t in "${TARGETS[@]}"; do
			[[ -n "${SAMPLES["$w $t"]:-}" ]] && echo "  $w $t: ${SAMPLES["$w $t"]}"
		done
	done
}

{
	echo
	print_settings
	echo
	print_table
	print_notes
} | tee "${OUT:-/dev/null}"
if [[ -n "$OUT" ]]; then
	{
		echo
		print_raw
	} >>"$OUT"
fi
exit 0
