#!/usr/bin/env bash
# bench/run.sh - runs the same workloads on efsfs, the native file system,
# bindfs, s3fs and rclone mount, and prints one table of medians and ratios to
# native.  By default native, efsfs and bindfs each run on a fresh ext4 of
# their own on a loop device (--fs loop); --fs host puts every target's files
# on the disk that holds the temp dir.  See bench/README.md.
#
#   bench/run.sh [--quick] [--runs N] [--warmup 0|1] [--targets LIST] [--workloads LIST]
#                [--fs loop|host] [--out FILE] [--efsfs PATH] [--keep]
#
# Needs root (mounts, loop devices, drop_caches) and /dev/fuse.  Missing peers are installed
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
		                    [--workloads LIST] [--fs loop|host]
		                    [--out FILE] [--efsfs PATH] [--keep]
		  --quick            only the quick set (big file, 100 small files, stat) and
		                     the cold-chunk read, 3 runs unless --runs says otherwise
		  --runs N           runs of every workload per target (default 5, --quick 3)
		  --warmup 0|1       an uncounted first run of every workload per target
		                     (default 1: the first run on this VM is slow everywhere)
		  --targets LIST     comma-separated subset of: ${ALL_TARGETS[*]}
		  --workloads LIST   comma-separated workload ids (see bench/README.md)
		  --fs loop|host     loop (default): native, efsfs and bindfs each keep their
		                     files on a fresh ext4 (journal) of their own, on a loop
		                     device over an image file in the temp dir, and the disk
		                     columns count each one's loop device; host: every target's
		                     files on the disk of the temp dir, whose counters the disk
		                     columns show (s3fs, rclone and s3rver are there in both)
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
BENCH_FS=loop
ARGS_TEXT="$*"
while (($#)); do
	case $1 in
	--quick) QUICK=1 ;;
	--runs) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage; RUNS=$2; shift ;;
	--warmup) [[ $# -ge 2 && $2 =~ ^[01]$ ]] || usage; WARMUP=$2; shift ;;
	--targets) [[ $# -ge 2 ]] || usage; TARGETS_ARG=$2; shift ;;
	--workloads) [[ $# -ge 2 ]] || usage; WORKLOADS_ARG=$2; shift ;;
	--fs) [[ $# -ge 2 && $2 =~ ^(loop|host)$ ]] || usage; BENCH_FS=$2; shift ;;
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
# shellcheck source=bench/requests.sh
source "$BENCH_DIR/requests.sh"

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
	echo "bench/run.sh: needs root (FUSE mounts of other file systems, loop devices, drop_caches)" >&2
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
	# a second Ctrl-C must not leave mounts and loop devices behind
	trap - EXIT
	trap '' INT TERM
	req_restore
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

# The block device that holds $BENCH_TMP (so the data of every target without
# a loop file system of its own: all of them under --fs host, s3rver's files
# always): its sector counters (/sys/dev/block/MAJ:MIN/stat, fields 3 and 7,
# 512-byte sectors) before and after each run give the disk bytes the run read
# and wrote.  A target on a loop file system counts its loop device's instead
# (TARGET_STAT); DISK_STAT is the file of the target that runs now.
DISK_STAT=""
DISK_NAME=""
DISK_NOTE=""
HOST_STAT=""
disk_find()
{
	local mm src
	mm=$(findmnt -n -o MAJ:MIN -T "$BENCH_TMP" 2>/dev/null | head -n 1 | tr -d ' ')
	if [[ -z "$mm" || ! -r /sys/dev/block/$mm/stat ]]; then
		# btrfs and the like show an anonymous device: try the mount's source
		src=$(findmnt -n -o SOURCE -T "$BENCH_TMP" 2>/dev/null | head -n 1)
		mm=$(lsblk -n -d -o MAJ:MIN -- "${src%%\[*}" 2>/dev/null | head -n 1 | tr -d ' ')
	fi
	if [[ -n "$mm" && -r /sys/dev/block/$mm/stat ]]; then
		HOST_STAT=/sys/dev/block/$mm/stat
		DISK_NAME="$(basename "$(readlink -f "/sys/dev/block/$mm")") ($mm)"
	else
		DISK_NOTE="no block device found for $BENCH_TMP: the disk columns of the targets on it are empty"
	fi
}
disk_find

for t in "${TARGETS[@]}"; do
	log "setting up $t"
	target_setup "$t" || log "$t: n/a (${TARGET_NA[$t]})"
done

# on_loop TARGET: true when the target's files are on a loop file system of
# its own (loopfs_setup keeps TARGET_LOOP only for one it mounted).
on_loop()
{
	[[ -n "${TARGET_LOOP[$1]:-}" ]]
}

ACTIVE=()
declare -A TARGET_STAT=()	# target -> the sector counters its disk columns read
DISK_COLS=0			# 1 when some target has them
for t in "${TARGETS[@]}"; do
	[[ -n "${TARGET_DIR[$t]:-}" ]] || continue
	ACTIVE+=("$t")
	if on_loop "$t"; then
		TARGET_STAT[$t]=/sys/block/${TARGET_LOOP[$t]#/dev/}/stat
	else
		TARGET_STAT[$t]=$HOST_STAT
	fi
	[[ -r "${TARGET_STAT[$t]}" ]] || TARGET_STAT[$t]=""
	[[ -n "${TARGET_STAT[$t]}" ]] && DISK_COLS=1
done
if [[ " ${WORKLOADS[*]} " == *" untar "* ]]; then
	untar_make_tarballs "${ACTIVE[@]}" || { echo "bench/run.sh: cannot make the tarballs" >&2; exit 1; }
fi
if [[ " ${WORKLOADS[*]} " == *" gitclone "* ]]; then
	log "making the git repositories"
	gitclone_make_repos "${ACTIVE[@]}" ||
		{ echo "bench/run.sh: cannot make the git repositories (see logs/gitclone.log)" >&2; exit 1; }
fi

# ---- the runs ----------------------------------------------------------------------

req_setup || log "$REQ_NOTE"

declare -A SAMPLES=()	# "wl target" -> space-separated rates
declare -A CELL_NA=()	# "wl target" -> why there is no value
declare -A WL_SECS=()	# wl -> seconds it took (preparation and all runs)
declare -A DISK_R=() DISK_W=()	# "wl target" -> space-separated MiB read / written per run
PT_OPENS=""		# the most passthrough opens "efsfs stats" reported after a workload
START=$(date +%s)

# disk_sectors: "READ WRITTEN" sectors of the current target's disk now.
disk_sectors()
{
	awk '{ print $3, $7 }' "$DISK_STAT"
}

# disk_since_mark: MiB read and written since the last disk_mark, as "R W".
disk_since_mark()
{
	local r0 w0 r1 w1
	read -r r0 w0 < <(awk '{ print $3, $7 }' "$BENCH_TMP/disk.mark") || return 1
	read -r r1 w1 < <(disk_sectors) || return 1
	awk -v a="$r0" -v b="$w0" -v c="$r1" -v d="$w1" \
		'BEGIN { printf "%.1f %.1f\n", (c - a) * 512 / 1048576, (d - b) * 512 / 1048576 }'
}

# "PassthroughOpens" of efsfs stats: how many opens went to FUSE passthrough.
efsfs_passthrough_opens()
{
	timeout 30 "$EFSFS" stats "$EFSFS_NAME" 2>/dev/null | awk -F': *' '$1 == "PassthroughOpens" { print $2 }'
}

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
		# the order rotates from run to run, so that going first or
		# last (a disk that has just been written, the host's caches)
		# falls to each target in turn rather than always to one
		order=()
		for ((i = 0; i < ${#runnable[@]}; i++)); do
			order+=("${runnable[(i + run - 1 + WARMUP) % ${#runnable[@]}]}")
		done
		for t in "${order[@]}"; do
			[[ -n "${CELL_NA["$w $t"]:-}" ]] && continue
			# the run's settle or drop_caches marks the start of its timed part again
			DISK_STAT=${TARGET_STAT[$t]}
			disk_mark
			# the warm-up run of a FUSE target counts its requests
			# (REQ_TRACING names the mount whose connection counts)
			tracing=0
			((run < 1 && REQ_ON)) && [[ $t != native && -n "${TARGET_MNT[$t]:-}" ]] && tracing=1
			if ! v=$(REQ_TRACING=$( ((tracing)) && echo "${TARGET_MNT[$t]}") \
				"wl_${w}_run" "$t" "${TARGET_DIR[$t]}" "$run" 2>>"$BENCH_TMP/logs/$w.log") ||
				[[ ! $v =~ ^[0-9.]+$ ]]; then
				((tracing)) && req_stop      # a failed run counts nothing
				CELL_NA["$w $t"]="failed in run $run (see logs/$w.log)"
				log "$w on $t run $run failed:"
				tail -n 5 "$BENCH_TMP/logs/$w.log" >&2
				continue
			fi
			((tracing)) && req_collect "$w" "$t"
			# untimed: what the run left dirty is its writing too
			sync
			disk=""
			[[ -n "$DISK_STAT" ]] && disk=$(disk_since_mark)
			if ((run < 1)); then
				log "$w on $t warm-up (not counted): $v ${WL_UNIT[$w]}${disk:+, disk MiB r/w ${disk/ //}}"
				continue
			fi
			SAMPLES["$w $t"]+="$v "
			if [[ -n "$disk" ]]; then
				DISK_R["$w $t"]+="${disk% *} "
				DISK_W["$w $t"]+="${disk#* } "
			fi
			log "$w on $t run $run/$RUNS: $v ${WL_UNIT[$w]}${disk:+, disk MiB r/w ${disk/ //}}"
		done
	done
	WL_SECS[$w]=$(($(date +%s) - wl_start))
	if [[ " ${runnable[*]} " == *" efsfs "* ]]; then
		n=$(efsfs_passthrough_opens)
		[[ $n =~ ^[0-9]+$ ]] && { [[ -z "$PT_OPENS" ]] || ((n > PT_OPENS)); } && PT_OPENS=$n
	fi
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

declare -A MED=() MED_R=() MED_W=()
for w in "${WORKLOADS[@]}"; do
	for t in "${TARGETS[@]}"; do
		[[ -n "${SAMPLES["$w $t"]:-}" && -z "${CELL_NA["$w $t"]:-}" ]] || continue
		MED["$w $t"]=$(median <<<"${SAMPLES["$w $t"]}")
		[[ -n "${DISK_R["$w $t"]:-}" ]] || continue
		MED_R["$w $t"]=$(median <<<"${DISK_R["$w $t"]}")
		MED_W["$w $t"]=$(median <<<"${DISK_W["$w $t"]}")
	done
done

# True when TARGET read less than half of native's disk bytes in workload WL,
# one that starts cold (WL_COLD), and native read at least 1 MiB: its rate did
# not pay for the same disk reads.
disk_flagged()
{
	local w=$1 t=$2
	[[ " ${WL_COLD[*]} " == *" $w "* ]] || return 1
	[[ $t != native && -n "${MED_R["$w $t"]:-}" && -n "${MED_R["$w native"]:-}" ]] || return 1
	awk -v a="${MED_R["$w $t"]}" -v b="${MED_R["$w native"]}" 'BEGIN { exit !(b >= 1 && a < 0.5 * b) }'
}

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

# "READ/WRITTEN" median disk MiB of a target's runs, "!" when disk_flagged.
disk_cell()
{
	local w=$1 t=$2
	if [[ -n "${MED_R["$w $t"]:-}" ]]; then
		printf '%s/%s' "$(fmt_num "${MED_R["$w $t"]}")" "$(fmt_num "${MED_W["$w $t"]}")"
		disk_flagged "$w" "$t" && printf '!'
	elif [[ -n "${WL_ONLY[$w]:-}" && "${WL_ONLY[$w]}" != "$t" ]]; then
		printf -- '-'
	else
		printf 'n/a'
	fi
}

# ratio_num A_WL A_TARGET B_WL B_TARGET: the ratio of two medians, or nothing.
ratio_num()
{
	local a=${MED["$1 $2"]:-} b=${MED["$3 $4"]:-}
	[[ -n "$a" && -n "$b" ]] || return 0
	awk -v a="$a" -v b="$b" 'BEGIN {
		if (b <= 0) exit; else if (a / b < 0.1) printf "%.3f", a / b; else printf "%.2f", a / b }'
}

ratio_cell()
{
	local w=$1 t=$2 base=${3:-native} r
	r=$(ratio_num "$w" "$t" "$w" "$base")
	if [[ -n "$r" ]]; then
		printf '%s' "$r"
		wl_is_scaled "$w" "$t" && printf '*'
		[[ $base == native ]] && disk_flagged "$w" "$t" && printf '!'
	elif [[ -n "${WL_ONLY[$w]:-}" && "${WL_ONLY[$w]}" != "$t" ]]; then
		printf -- '-'
	else
		printf 'n/a'
	fi
}

print_table()
{
	local w t line i ncols others=() has_native=0
	for t in "${TARGETS[@]}"; do
		[[ $t != native ]] && others+=("$t")
	done
	[[ " ${TARGETS[*]} " == *" native "* ]] && has_native=1
	line="| workload | unit |"
	for t in "${TARGETS[@]}"; do line+=" $t |"; done
	if ((has_native)); then
		for t in "${others[@]}"; do line+=" $t/native |"; done
	fi
	if ((DISK_COLS)); then
		for t in "${TARGETS[@]}"; do line+=" $t disk MiB r/w |"; done
	fi
	echo "$line"
	ncols=$((2 + ${#TARGETS[@]}))
	((has_native)) && ncols=$((ncols + ${#others[@]}))
	((DISK_COLS)) && ncols=$((ncols + ${#TARGETS[@]}))
	line="|"
	for ((i = 0; i < ncols; i++)); do line+="---|"; done
	echo "$line"
	for w in "${WORKLOADS[@]}"; do
		line="| ${WL_LABEL[$w]} | ${WL_UNIT[$w]} |"
		for t in "${TARGETS[@]}"; do line+=" $(cell "$w" "$t") |"; done
		if ((has_native)); then
			for t in "${others[@]}"; do line+=" $(ratio_cell "$w" "$t") |"; done
		fi
		if ((DISK_COLS)); then
			for t in "${TARGETS[@]}"; do line+=" $(disk_cell "$w" "$t") |"; done
		fi
		echo "$line"
	done
}

# paired_ratios A_WL A_TARGET B_WL B_TARGET: the ratio of every run of A to
# the same run of B (the targets take turns within a run, so a pair saw the
# same machine), as "median min max"; nothing when the runs do not pair up.
paired_ratios()
{
	[[ -n "${SAMPLES["$1 $2"]:-}" && -n "${SAMPLES["$3 $4"]:-}" ]] || return 0
	awk -v a="${SAMPLES["$1 $2"]}" -v b="${SAMPLES["$3 $4"]}" 'BEGIN {
		n = split(a, x, " "); m = split(b, y, " ")
		if (n != m || n == 0) exit
		for (i = 1; i <= n; i++) { if (y[i] <= 0) exit; r[i] = x[i] / y[i] }
		for (i = 2; i <= n; i++) { v = r[i]; for (j = i - 1; j >= 1 && r[j] > v; j--) r[j + 1] = r[j]; r[j + 1] = v }
		med = n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
		printf "%.2f %.2f %.2f\n", med, r[1], r[n] }'
}

# goal_text A_WL A_TARGET B_WL B_TARGET MIN: "0.42 (goal >= 0.5: BELOW; run by
# run 0.40, 0.31-0.47)"; MIN "-" for a ratio without a goal; "not measured".
goal_text()
{
	local r p pm plo phi verdict=""
	r=$(ratio_num "$1" "$2" "$3" "$4")
	if [[ -z "$r" ]]; then
		printf 'not measured'
		return
	fi
	if [[ $5 != - ]]; then
		if awk -v r="$r" -v m="$5" 'BEGIN { exit !(r + 0 >= m) }'; then
			verdict="goal >= $5: PASS"
		else
			verdict="goal >= $5: BELOW"
		fi
	fi
	p=$(paired_ratios "$1" "$2" "$3" "$4")
	if [[ -n "$p" ]]; then
		read -r pm plo phi <<<"$p"
		printf '%s (%s%srun by run %s, %s-%s)' "$r" "$verdict" "${verdict:+; }" "$pm" "$plo" "$phi"
	elif [[ -n "$verdict" ]]; then
		printf '%s (%s)' "$r" "$verdict"
	else
		printf '%s' "$r"
	fi
}

selected()
{
	[[ " ${WORKLOADS[*]} " == *" $1 "* ]]
}

print_goals()
{
	local w native_min line flag
	echo "Goals (efsfs, issue 13; ratios of medians, then the median and range of the run-by-run ratios):"
	for w in "${WL_META[@]}" gitclone; do
		selected "$w" || continue
		native_min=0.5
		[[ $w == gitclone ]] && native_min=0.6
		line="- ${WL_LABEL[$w]}: vs native $(goal_text "$w" efsfs "$w" native "$native_min")"
		if [[ $w == gitclone ]]; then
			line+="; vs bindfs $(goal_text "$w" efsfs "$w" bindfs -)"
		else
			line+="; vs bindfs $(goal_text "$w" efsfs "$w" bindfs 1.5)"
		fi
		echo "$line"
	done
	if selected pcreate1 && selected pcreate4; then
		line="- parallel scaling, 4-process rate / 1-process rate: efsfs $(goal_text pcreate4 efsfs pcreate1 efsfs 2.5)"
		for t in native bindfs; do
			[[ -n "${MED["pcreate4 $t"]:-}" ]] && line+="; $t $(goal_text pcreate4 "$t" pcreate1 "$t" -)"
		done
		echo "$line"
	fi
	for w in "${WL_DATA[@]}"; do
		selected "$w" || continue
		flag=""
		disk_flagged "$w" efsfs &&
			flag=" ! efsfs read $(fmt_num "${MED_R["$w efsfs"]}") MiB from the disk, native $(fmt_num "${MED_R["$w native"]}"): not the same work"
		echo "- ${WL_LABEL[$w]}: vs native $(goal_text "$w" efsfs "$w" native 0.95)$flag"
	done
	if selected iaread; then
		if [[ -n "${MED["iaread efsfs"]:-}" ]]; then
			line="- ${WL_LABEL[iaread]}: $(fmt_num "${MED["iaread efsfs"]}") IOPS"
			if awk -v r="${MED["iaread efsfs"]}" 'BEGIN { exit !(r >= 2110) }'; then
				line+=" (goal >= 2110, 10x the 211 of issue 13: PASS)"
			else
				line+=" (goal >= 2110, 10x the 211 of issue 13: BELOW)"
			fi
			echo "$line"
		else
			echo "- ${WL_LABEL[iaread]}: n/a (${CELL_NA["iaread efsfs"]:-not run})"
		fi
	fi
	if selected coldread; then
		if [[ -n "${MED["coldread efsfs"]:-}" ]]; then
			echo "- ${WL_LABEL[coldread]}: $(fmt_num "${MED["coldread efsfs"]}") MiB/s (no goal)"
		else
			echo "- ${WL_LABEL[coldread]}: n/a (${CELL_NA["coldread efsfs"]:-not run})"
		fi
	fi
}

# True when a selected workload uses size key $1.
wl_uses_key()
{
	local w k
	for w in "${WORKLOADS[@]}"; do
		k=$(wl_size_key "$w") || continue
		[[ $k == "$1" || ($k == rand_file && $1 == rand_time) ]] && return 0
	done
	return 1
}

print_notes()
{
	local t w scaled=0 k flagged=0
	for w in "${WORKLOADS[@]}"; do
		for t in "${TARGETS[@]}"; do
			wl_is_scaled "$w" "$t" && scaled=1
			disk_flagged "$w" "$t" && flagged=1
		done
	done
	echo
	echo "Medians of $RUNS runs after $WARMUP uncounted warm-up run, the targets in an order that rotates from run to run; every unit is a rate (higher is better); ratios are target/native."
	echo "Cold cache: sync and drop_caches before the timed part; efsfs is also remounted first, so that its daemon's own caches (SQLite's pages) start empty too."
	if ((DISK_COLS)); then
		echo "disk MiB r/w: median MiB read/written during a run's timed part and the sync after it, $(disk_text)."
		((flagged)) &&
			echo "! a cold-cache workload in which the target read less than half of native's disk bytes: its rate is not for the same work (page cache, or a different layout on disk)."
	fi
	if ((scaled)); then
		printf '* scaled down for the object-store targets:'
		for k in seq rand_file rand_time create stat untar meta rmrf pcreate walk git qbig nullreq; do
			wl_uses_key "$k" || continue
			[[ "$(size_of "$k" native)" != "${SIZE_SLOW[$k]}" ]] &&
				printf ' %s %s (not %s),' "$k" "${SIZE_SLOW[$k]}" "$(size_of "$k" native)"
		done
		echo " so their caches help them more than the others."
	fi
	for t in "${TARGETS[@]}"; do
		[[ -n "${TARGET_NA[$t]:-}" ]] && echo "n/a: $t: ${TARGET_NA[$t]}"
		[[ -n "${TARGET_FS_NA[$t]:-}" && -n "${TARGET_DIR[$t]:-}" ]] &&
			echo "--fs loop: $t ran on the host's disk, not on a loop file system of its own: ${TARGET_FS_NA[$t]}"
	done
	for w in "${WORKLOADS[@]}"; do
		for t in "${TARGETS[@]}"; do
			[[ -n "${CELL_NA["$w $t"]:-}" ]] && echo "n/a: ${WL_LABEL[$w]} on $t: ${CELL_NA["$w $t"]}"
		done
	done
	[[ -n "$DROP_NOTE" ]] && echo "$DROP_NOTE"
	[[ -n "$DISK_NOTE" ]] && echo "$DISK_NOTE"
	echo
	print_goals
	print_requests
}

# The FUSE requests per unit of each workload (warm-up run), and for efsfs
# the ceiling they set (req_ceiling; bench/README.md, "Requests and ceilings").
print_requests()
{
	local w t r sync bg detail bgd line qreq=0 c ceil treq tnat any=0
	echo
	if ((REQ_ON == 0)); then
		echo "FUSE requests: ${REQ_NOTE:-not counted}"
		return
	fi
	echo "FUSE requests per unit (the kernel's fuse:fuse_request_send event on the target's own connection, in the timed part of the warm-up run): waited for, + sent in the background (RELEASE, RELEASEDIR), which overlap with the next; FORGETs are not counted:"
	for w in "${WORKLOADS[@]}"; do
		line=""
		for t in "${TARGETS[@]}"; do
			[[ $t == native ]] && continue
			if r=$(req_per_unit "$w" "$t"); then
				read -r sync bg detail <<<"${r%%|*}"
				bgd=${r#*|}
				line+="${line:+; }$t $sync${detail:+ ($detail)}"
				[[ $bg != 0.00 ]] && line+=" + $bg${bgd:+ ($bgd)}"
			elif [[ "${REQ_COUNTS["$w $t"]:-}" == lost ]]; then
				line+="${line:+; }$t not counted (the trace buffer lost events)"
			fi
		done
		[[ -n "$line" ]] && { echo "- ${WL_LABEL[$w]}: $line"; any=1; }
	done
	((any)) || echo "- none counted (no workload with a count of operations ran on a FUSE target)"
	[[ -n "${MED["nullreq efsfs"]:-}" ]] || return 0
	r=$(req_per_unit nullreq efsfs) && read -r qreq _ <<<"${r%%|*}"
	c=$(req_ceiling 1 "${MED["nullreq efsfs"]}" "${MED["nullreq native"]:-0}" "$qreq" 1) || return 0
	read -r _ treq _ <<<"$c"
	echo "Ceilings for efsfs: the time one request adds ($treq us: efsfs's nullreq call less native's, over its $qreq requests a call) times the requests it waited for, added to native's time per unit: the most efsfs could reach if it added nothing else:"
	for w in "${WORKLOADS[@]}"; do
		[[ $w == nullreq || $w == pcreate4 ]] && continue      # pcreate4: not one at a time
		[[ -n "${MED["$w native"]:-}" && -n "${MED["$w efsfs"]:-}" ]] || continue
		r=$(req_per_unit "$w" efsfs) || continue
		read -r sync _ <<<"${r%%|*}"
		c=$(req_ceiling "$sync" "${MED["nullreq efsfs"]}" "${MED["nullreq native"]:-0}" "$qreq" \
			"${MED["$w native"]}") || continue
		read -r ceil treq tnat <<<"$c"
		echo "- ${WL_LABEL[$w]}: at most ${ceil}x native ($sync x $treq us + $tnat us); now $(ratio_num "$w" efsfs "$w" native)x"
	done
}

# What the efsfs binary was built from: "commit C (+ uncommitted changes) of
# SRC, build type T", from the meson build directory it sits in; C is the
# source tree's HEAD, flagged when sources are newer than the binary.
efsfs_build_info()
{
	local d info src bt commit dirty=""
	d=$(dirname -- "$EFSFS")
	for info in "$d/meson-info" "$d/../meson-info"; do
		[[ -f "$info/meson-info.json" ]] && break
	done
	if [[ ! -f "$info/meson-info.json" ]]; then
		printf 'not from a meson build directory (commit and build type unknown)'
		return
	fi
	src=$(grep -o '"source": *"[^"]*"' "$info/meson-info.json" | sed 's/.*: *"\(.*\)"/\1/')
	bt=$(grep -o '"name": *"buildtype", *"value": *"[^"]*"' "$info/intro-buildoptions.json" 2>/dev/null |
		sed 's/.*"value": *"\(.*\)"/\1/')
	commit=$(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null) || commit="?"
	[[ -n "$(git -C "$src" status --porcelain --untracked-files=no 2>/dev/null)" ]] &&
		dirty=" + uncommitted changes"
	# the commit is the source tree's now: say so when it has moved on since the build
	[[ -n "$(find "$src" \( -path "$src/build*" -o -path "$src/.git" -o -path "$src/tests" -o \
		-path "$src/bench" \) -prune -o -newer "$EFSFS" \( -name '*.[ch]' -o -name meson.build \) \
		-print -quit 2>/dev/null)" ]] &&
		dirty+=" (C sources or meson.build newer than the binary: not rebuilt?)"
	printf 'commit %s%s of %s, build type %s' "$commit" "$dirty" "$src" "${bt:-?}"
}

# split_targets: sets LOOP_T (the active targets on a loop file system of
# their own) and HOST_T (the others, on the disk that holds $BENCH_TMP).
split_targets()
{
	local t
	LOOP_T=()
	HOST_T=()
	for t in "${ACTIVE[@]}"; do
		if on_loop "$t"; then LOOP_T+=("$t"); else HOST_T+=("$t"); fi
	done
}

# list_text WORD...: "a, b, c".
list_text()
{
	local IFS=,
	printf '%s' "$*" | sed 's/,/, /g'
}

# What the disk columns count, for the note under the table.
disk_text()
{
	local text=""
	split_targets
	((${#LOOP_T[@]})) &&
		text="for $(list_text "${LOOP_T[@]}") on each one's own loop device (its I/O alone)"
	((${#HOST_T[@]})) &&
		text+="${text:+; }for $(list_text "${HOST_T[@]}") on the whole ${DISK_NAME:-?} (other processes' I/O counts too)"
	printf '%s' "$text"
}

# The header's line on the file systems the targets' files are on and what
# the disk columns count.
fs_text()
{
	local t i dev hostfs devs="" out="(--fs loop) " s3 plain=() parts=()
	hostfs="$(findmnt -n -o FSTYPE -T "$BENCH_TMP" 2>/dev/null || stat -f -c %T "$BENCH_TMP") at ${TMPDIR:-/var/tmp}${DISK_NAME:+ on $DISK_NAME}"
	if [[ $BENCH_FS == host ]]; then
		printf '(--fs host) every target'"'"'s files on %s; disk columns: the whole device (other processes'"'"' I/O counts too)' "$hostfs"
		return
	fi
	split_targets
	for t in "${LOOP_T[@]}"; do
		dev=${TARGET_LOOP[$t]#/dev/}
		devs+="${devs:+, }$t $dev"
		# say so where a device is not what the line promises
		[[ -d /proc/fs/jbd2/$dev-8 ]] || devs+=" (NO journal)"
		[[ "$(cat "/sys/block/$dev/loop/dio" 2>/dev/null)" == 1 ]] || devs+=" (NO direct I/O)"
	done
	((${#LOOP_T[@]})) &&
		parts+=("$devs: a fresh ext4 (journal) per target on a loop device over a file on ${DISK_NAME:-the disk of $BENCH_TMP}, direct I/O")
	for t in "${HOST_T[@]}"; do
		[[ -z "${TARGET_FS_NA[$t]:-}" ]] && plain+=("$t")
	done
	if ((${#plain[@]})); then
		s3=""
		[[ " ${plain[*]} " == *" s3fs "* || " ${plain[*]} " == *" rclone "* ]] && s3=" (and s3rver)"
		parts+=("$(list_text "${plain[@]}")$s3: $hostfs")
	fi
	for t in "${HOST_T[@]}"; do
		[[ -n "${TARGET_FS_NA[$t]:-}" ]] && parts+=("$t: $hostfs (NO loop file system: ${TARGET_FS_NA[$t]})")
	done
	parts+=("disk columns: $(disk_text)")
	for i in "${!parts[@]}"; do
		((i)) && out+="; "
		out+=${parts[$i]}
	done
	printf '%s' "$out"
}

print_settings()
{
	local pt
	echo "Command: bench/run.sh $ARGS_TEXT"
	echo "Date: $(date -u +%Y-%m-%dT%H:%M:%SZ); kernel $(uname -r); $(nproc) CPUs; run time ${ELAPSED}s"
	echo "File systems: $(fs_text)"
	if [[ " ${TARGETS[*]} " == *" efsfs "* && -n "$EFSFS" ]]; then
		echo "efsfs: $EFSFS ($("$EFSFS" version 2>/dev/null || echo '?')), $(efsfs_build_info)"
		if [[ -n "$PT_OPENS" ]]; then
			if ((PT_OPENS > 0)); then
				pt="active ($PT_OPENS opens went to passthrough, efsfs stats PassthroughOpens)"
			else
				pt="not active (efsfs stats: PassthroughOpens 0)"
			fi
		else
			pt="unknown (efsfs stats gave no PassthroughOpens)"
		fi
		echo "efsfs FUSE passthrough: $pt; FUSE over io_uring allowed by the kernel (enable_uring): $(cat /sys/module/fuse/parameters/enable_uring 2>/dev/null || echo n/a)"
		if [[ -f "$BENCH_TMP/efsfs.conf" ]]; then
			echo "efsfs config ($EFSFS_NAME): $(awk 'NF && $1 !~ /^[#;[]/ { printf "%s%s", sep, $0; sep = "; " }' \
				"$BENCH_TMP/efsfs.conf" | sed "s|$BENCH_TMP|\$BENCH_TMP|g")"
		fi
	fi
	echo "Tools: fio $(fio --version 2>/dev/null ||
		echo n/a); bindfs $(bindfs --version 2>/dev/null | awk '{ print $2; exit }');" \
		"git $(git --version 2>/dev/null | awk '{ print $3 }');" \
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
	echo "Raw samples (workload target: runs; then disk MiB read, written per run):"
	for w in "${WORKLOADS[@]}"; do
		for t in "${TARGETS[@]}"; do
			[[ -n "${SAMPLES["$w $t"]:-}" ]] || continue
			echo "  $w $t: ${SAMPLES["$w $t"]}"
			[[ -n "${DISK_R["$w $t"]:-}" ]] &&
				echo "  $w $t disk read: ${DISK_R["$w $t"]}; written: ${DISK_W["$w $t"]}"
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
