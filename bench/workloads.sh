# bench/workloads.sh - sourced by bench/run.sh: the workloads, as functions.
#
# A workload ID has
#   WL_LABEL[ID], WL_UNIT[ID]    the table's row name and unit (every unit is a
#                                rate: higher is better, so ratios read alike)
#   wl_ID_run TARGET DIR RUN     runs once in DIR and prints the rate (one number)
#   wl_ID_prep TARGET DIR        optional, untimed: makes what every run needs;
#                                prints a reason and returns 1 when the workload
#                                cannot run on TARGET (the cell becomes n/a)
#   wl_ID_done TARGET DIR        optional, untimed: removes what prep made
# Sizes come from size_of KEY TARGET: the slow object-store targets (s3fs,
# rclone) get smaller sizes, which the table marks with '*'.
# Caches: every timed run starts after a sync, so that no earlier run's dirty
# data is written back during it; runs that read start after "sync; echo 3 >
# /proc/sys/vm/drop_caches" too, so reads come from the disk or the object
# store, not RAM.
# shellcheck shell=bash disable=SC2034

declare -A WL_LABEL=() WL_UNIT=() WL_ONLY=()

WL_FULL=(seqwrite seqread randrw create stat untar meta qwrite qread qsmall qstat coldread)
WL_QUICK=(qwrite qread qsmall qstat coldread)

WL_LABEL[seqwrite]="fio seq write (bs=1M, end_fsync=1)"
WL_UNIT[seqwrite]="MiB/s"
WL_LABEL[seqread]="fio seq read (bs=1M, cold cache)"
WL_UNIT[seqread]="MiB/s"
WL_LABEL[randrw]="fio 4k randrw 70/30 (psync, qd1, end_fsync=1)"
WL_UNIT[randrw]="IOPS"
WL_LABEL[create]="small files: create 4 KiB files"
WL_UNIT[create]="files/s"
WL_LABEL[stat]="small files: stat (cold cache)"
WL_UNIT[stat]="stats/s"
WL_LABEL[untar]="untar source-like tree"
WL_UNIT[untar]="files/s"
WL_LABEL[meta]="metadata storm (mkdir/create/rename/unlink/rmdir)"
WL_UNIT[meta]="ops/s"
WL_LABEL[qwrite]="quick: big file write (1M blocks, fsync)"
WL_UNIT[qwrite]="MiB/s"
WL_LABEL[qread]="quick: big file read (cold cache)"
WL_UNIT[qread]="MiB/s"
WL_LABEL[qsmall]="quick: 100 x 128 KiB files create"
WL_UNIT[qsmall]="files/s"
WL_LABEL[qstat]="quick: stat 100 files (cold cache)"
WL_UNIT[qstat]="stats/s"
WL_LABEL[coldread]="cold-chunk read (IA, file:// store)"
WL_UNIT[coldread]="MiB/s"
WL_ONLY[coldread]=efsfs

# Size table: full size, then the size for the slow targets.  BENCH_<KEY>
# in the environment overrides the full size.
declare -A SIZE_FULL=(
	[seq]=1G [rand_file]=256M [rand_time]=10 [create]=5000 [stat]=2000
	[untar]=1000 [meta]=500 [qbig]=1G [qsmall]=100 [cold]=256M
)
declare -A SIZE_SLOW=(
	[seq]=128M [rand_file]=64M [rand_time]=3 [create]=100 [stat]=200
	[untar]=100 [meta]=25 [qbig]=128M [qsmall]=100 [cold]=256M
)

is_slow_target()
{
	[[ $1 == s3fs || $1 == rclone ]]
}

size_of()
{
	local key=$1 target=$2 env="BENCH_${1^^}"
	if is_slow_target "$target"; then
		echo "${SIZE_SLOW[$key]}"
	else
		echo "${!env:-${SIZE_FULL[$key]}}"
	fi
}

# True when the workload ran with smaller sizes on TARGET than on native.
wl_is_scaled()
{
	local wl=$1 target=$2 key
	is_slow_target "$target" || return 1
	case $wl in
	seqwrite | seqread) key=seq ;;
	randrw) key=rand_file ;;
	create | stat | untar | meta) key=$wl ;;
	qwrite | qread) key=qbig ;;
	*) return 1 ;;
	esac
	[[ "$(size_of "$key" native)" != "${SIZE_SLOW[$key]}" ]] ||
		[[ $key == rand_file && "$(size_of rand_time native)" != "${SIZE_SLOW[rand_time]}" ]]
}

settle()
{
	sync
}

drop_caches()
{
	sync
	if [[ -w /proc/sys/vm/drop_caches ]]; then
		echo 3 >/proc/sys/vm/drop_caches
	fi
}

# Runs fsops with a time limit; prints its "SECONDS COUNT BYTES" line.
fsops()
{
	timeout "$WL_TIMEOUT" "$FSOPS" "$@"
}

# rate_of KIND < "SECONDS COUNT BYTES": KIND mib (MiB/s) or ops (COUNT/s).
rate_of()
{
	awk -v kind="$1" 'NF == 3 {
		s = $1 > 0 ? $1 : 1e-9
		printf "%.3f\n", kind == "mib" ? $3 / s / 1048576 : $2 / s
		ok = 1
	} END { exit !ok }'
}

# Prints seconds since the epoch with nanoseconds.
now()
{
	date +%s.%N
}

# fio_run NAME FIELD... -- FIO ARGS: prints the sum of the listed terse-v3
# fields (8 read IOPS, 7 read KiB/s, 49 write IOPS, 48 write KiB/s).
fio_run()
{
	local name=$1 out fields=() f
	shift
	while [[ $1 != -- ]]; do
		fields+=("$1")
		shift
	done
	shift
	out=$(timeout "$WL_TIMEOUT" fio --name="$name" --ioengine=psync --direct=0 \
		--fallocate=none --output-format=terse --terse-version=3 "$@") || return 1
	f=$(IFS=,; echo "${fields[*]}")
	awk -F';' -v f="$f" 'NR == 1 {
		n = split(f, want, ",")
		for (i = 1; i <= n; i++) sum += $want[i]
		print sum; ok = 1
	} END { exit !ok }' <<<"$out"
}

need_fio()
{
	if ! command -v fio >/dev/null; then
		echo "fio not installable"
		return 1
	fi
}

# ---- fio ---------------------------------------------------------------------------

wl_seqwrite_prep()
{
	need_fio
}

wl_seqwrite_run()
{
	local target=$1 dir=$2 size kib
	size=$(size_of seq "$target")
	rm -f -- "$dir/seq.dat"
	settle
	kib=$(fio_run seqwrite 48 -- --filename="$dir/seq.dat" --rw=write --bs=1M \
		--size="$size" --end_fsync=1) || return 1
	awk -v k="$kib" 'BEGIN { printf "%.3f\n", k / 1024 }'
}

wl_seqread_prep()
{
	local target=$1 dir=$2 size
	need_fio || return 1
	size=$(size_of seq "$target")
	# seqwrite leaves seq.dat behind; make it when seqwrite did not run
	if [[ "$(stat -c %s -- "$dir/seq.dat" 2>/dev/null)" != "$(numfmt --from=iec "$size")" ]]; then
		fsops write "$dir/seq.dat" "$size" 1M >/dev/null || { echo "cannot write seq.dat"; return 1; }
	fi
}

wl_seqread_run()
{
	local target=$1 dir=$2 size kib
	size=$(size_of seq "$target")
	drop_caches
	kib=$(fio_run seqread 7 -- --filename="$dir/seq.dat" --rw=read --bs=1M \
		--size="$size") || return 1
	awk -v k="$kib" 'BEGIN { printf "%.3f\n", k / 1024 }'
}

wl_seqread_done()
{
	rm -f -- "$2/seq.dat"
}

wl_randrw_prep()
{
	local target=$1 dir=$2
	need_fio || return 1
	# lay the file out once, untimed
	fio_run randrw-layout 8 -- --filename="$dir/rand.dat" --size="$(size_of rand_file "$target")" \
		--rw=randrw --bs=4k --create_only=1 >/dev/null || { echo "fio layout failed"; return 1; }
}

wl_randrw_run()
{
	local target=$1 dir=$2
	drop_caches
	fio_run randrw 8 49 -- --filename="$dir/rand.dat" --size="$(size_of rand_file "$target")" \
		--rw=randrw --rwmixread=70 --bs=4k --iodepth=1 --time_based \
		--runtime="$(size_of rand_time "$target")" --end_fsync=1 --randrepeat=1
}

wl_randrw_done()
{
	rm -f -- "$2/rand.dat"
}

# ---- small files, untar, metadata ------------------------------------------------------

wl_create_run()
{
	local target=$1 dir=$2 run=$3
	settle
	fsops create "$dir/create.$run" "$(size_of create "$target")" 4k | rate_of ops
}

# The files stay until every run is done: deleting thousands of inodes between
# runs makes ext4's inode allocator skip the recently freed ones in the next
# run, which slowed later runs down (on every target) more than anything measured.
wl_create_done()
{
	local target=$1 dir=$2 d
	for d in "$dir"/create.*; do
		[[ -d "$d" ]] || continue
		fsops unlink "$d" "$(size_of create "$target")" >/dev/null || return 1
	done
}

wl_stat_prep()
{
	local target=$1 dir=$2
	fsops create "$dir/statset" "$(size_of stat "$target")" 4k >/dev/null ||
		{ echo "cannot create the files"; return 1; }
}

wl_stat_run()
{
	local target=$1 dir=$2
	drop_caches
	fsops stat "$dir/statset" "$(size_of stat "$target")" | rate_of ops
}

wl_stat_done()
{
	fsops unlink "$2/statset" "$(size_of stat "$1")" >/dev/null
}

# The tarballs are made once per bench run by untar_make_tarballs (run.sh).
untar_tarball()
{
	echo "$BENCH_TMP/untar-$(size_of untar "$1").tar"
}

untar_make_tarballs()
{
	local t n
	declare -A made=()
	for t in "$@"; do
		n=$(size_of untar "$t")
		[[ -n "${made[$n]:-}" ]] && continue
		made[$n]=1
		"$FSOPS" tree "$BENCH_TMP/tree-$n" "$n" 1 >/dev/null || return 1
		tar -cf "$BENCH_TMP/untar-$n.tar" -C "$BENCH_TMP/tree-$n" . || return 1
		rm -rf -- "$BENCH_TMP/tree-$n"
	done
}

wl_untar_prep()
{
	[[ -f "$(untar_tarball "$1")" ]] || { echo "no tarball"; return 1; }
}

wl_untar_run()
{
	local target=$1 dir=$2 run=$3 n t0 t1 tarball
	n=$(size_of untar "$target")
	tarball=$(untar_tarball "$target")
	mkdir -p -- "$dir/untar.$run"
	settle
	t0=$(now)
	timeout "$WL_TIMEOUT" tar -xf "$tarball" -C "$dir/untar.$run" || return 1
	t1=$(now)
	awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", n / (b - a) }'
}

wl_untar_done()
{
	rm -rf -- "$2"/untar.*
}

wl_meta_run()
{
	local target=$1 dir=$2 run=$3 rate
	settle
	rate=$(fsops meta "$dir/meta.$run" "$(size_of meta "$target")" | rate_of ops) || return 1
	rmdir -- "$dir/meta.$run"
	echo "$rate"
}

# ---- the quick set (as an "efsfs bench" would do it) -------------------------------------

wl_qwrite_run()
{
	local target=$1 dir=$2
	rm -f -- "$dir/quick.dat"
	settle
	fsops write "$dir/quick.dat" "$(size_of qbig "$target")" 1M | rate_of mib
}

wl_qread_prep()
{
	local target=$1 dir=$2 size
	size=$(size_of qbig "$target")
	if [[ "$(stat -c %s -- "$dir/quick.dat" 2>/dev/null)" != "$(numfmt --from=iec "$size")" ]]; then
		fsops write "$dir/quick.dat" "$size" 1M >/dev/null || { echo "cannot write quick.dat"; return 1; }
	fi
}

wl_qread_run()
{
	drop_caches
	fsops read "$2/quick.dat" 1M | rate_of mib
}

wl_qread_done()
{
	rm -f -- "$2/quick.dat"
}

wl_qsmall_run()
{
	local target=$1 dir=$2 run=$3
	settle
	fsops create "$dir/qsmall.$run" "$(size_of qsmall "$target")" 128k | rate_of ops
}

wl_qsmall_done()
{
	local target=$1 dir=$2 d
	for d in "$dir"/qsmall.*; do
		[[ -d "$d" ]] || continue
		fsops unlink "$d" "$(size_of qsmall "$target")" >/dev/null || return 1
	done
}

wl_qstat_prep()
{
	fsops create "$2/qstatset" "$(size_of qsmall "$1")" 128k >/dev/null ||
		{ echo "cannot create the files"; return 1; }
}

wl_qstat_run()
{
	drop_caches
	fsops stat "$2/qstatset" "$(size_of qsmall "$1")" | rate_of ops
}

wl_qstat_done()
{
	fsops unlink "$2/qstatset" "$(size_of qsmall "$1")" >/dev/null
}

# ---- cold chunks (efsfs only) --------------------------------------------------------------

efsfs_lifecycle_available()
{
	"$EFSFS" lifecycle --help >/dev/null 2>&1
}

# Bytes below DIR (0 when it does not exist).
bytes_under()
{
	if [[ -d "$1" ]]; then
		du -sb -- "$1" | awk '{ print $1 }'
	else
		echo 0
	fi
}

# Moves the clock 30 days on: with transition_to_ia = AFTER_1_DAY every chunk
# of a file of 128 KiB or more goes to the IA store (DATA_DIR/objects).
efsfs_lifecycle_run()
{
	local as_of log=$BENCH_TMP/logs/efsfs.log
	as_of=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
	echo "lifecycle run --as-of $as_of (mounted)" >>"$log"
	timeout 600 "$EFSFS" lifecycle run --as-of "$as_of" "$EFSFS_NAME" >>"$log" 2>&1 && return 0
	# it may want the file system unmounted
	echo "lifecycle run --as-of $as_of (unmounted)" >>"$log"
	efsfs_umount_it || return 1
	timeout 600 "$EFSFS" lifecycle run --as-of "$as_of" "$EFSFS_NAME" >>"$log" 2>&1
	local rc=$?
	efsfs_mount_it || return 1
	return $rc
}

wl_coldread_prep()
{
	local target=$1 dir=$2 before after
	if ! efsfs_lifecycle_available; then
		echo "lifecycle not available"
		return 1
	fi
	fsops write "$dir/cold.dat" "$(size_of cold "$target")" 1M >/dev/null ||
		{ echo "cannot write cold.dat"; return 1; }
	before=$(bytes_under "$BENCH_TMP/efsfs-data/objects")
	if ! efsfs_lifecycle_run; then
		echo "lifecycle run failed (see logs/efsfs.log)"
		return 1
	fi
	after=$(bytes_under "$BENCH_TMP/efsfs-data/objects")
	if ((after <= before)); then
		echo "lifecycle run moved no chunk to DATA_DIR/objects"
		return 1
	fi
}

wl_coldread_run()
{
	drop_caches
	fsops read "$2/cold.dat" 1M | rate_of mib
}

wl_coldread_done()
{
	rm -f -- "$2/cold.dat"
}
