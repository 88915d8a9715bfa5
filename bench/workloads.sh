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

# rmrf near the end: after thousands of unlinks, ext4 is slower to create
# files for a while (see wl_create_done), on every target
WL_FULL=(seqwrite seqread randrw nullreq create stat untar meta pcreate1 pcreate4 find du gitclone
	rmrf qwrite qread qsmall qstat coldread iaread)
WL_QUICK=(qwrite qread qsmall qstat coldread iaread)
# workloads whose rows the goal lines hold to the metadata goals
WL_META=(create stat untar meta rmrf find du pcreate4 qstat)
# and to the data goal
WL_DATA=(seqwrite seqread randrw qwrite qread)
# workloads that start cold (drop_caches), so that every target must read
# from the disk: their disk columns are compared with native's ("!")
WL_COLD=(seqread randrw stat find du qread qstat)

WL_LABEL[seqwrite]="fio seq write (bs=1M, end_fsync=1)"
WL_UNIT[seqwrite]="MiB/s"
WL_LABEL[seqread]="fio seq read (bs=1M, cold cache)"
WL_UNIT[seqread]="MiB/s"
WL_LABEL[randrw]="fio 4k randrw 70/30 (psync, qd1, end_fsync=1)"
WL_UNIT[randrw]="IOPS"
WL_LABEL[nullreq]="getxattr of a missing name (one FUSE request each)"
WL_UNIT[nullreq]="calls/s"
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
WL_LABEL[pcreate1]="parallel create: 1 process x 2,000 files"
WL_UNIT[pcreate1]="files/s"
WL_LABEL[pcreate4]="parallel create: 4 processes x 2,000 files"
WL_UNIT[pcreate4]="files/s"
WL_LABEL[find]="find . -type f over 20k files (cold cache)"
WL_UNIT[find]="files/s"
WL_LABEL[du]="du -s over 20k files (cold cache)"
WL_UNIT[du]="files/s"
WL_LABEL[gitclone]="git clone --no-hardlinks of an 8k-file repository"
WL_UNIT[gitclone]="files/s"
WL_LABEL[rmrf]="rm -rf of a tree of 10k files"
WL_UNIT[rmrf]="files/s"
WL_LABEL[coldread]="cold-chunk read (IA, file:// store)"
WL_UNIT[coldread]="MiB/s"
WL_ONLY[coldread]=efsfs
WL_LABEL[iaread]="cold 4 KiB random reads from IA (file:// store)"
WL_UNIT[iaread]="IOPS"
WL_ONLY[iaread]=efsfs

# Size table: full size, then the size for the slow targets.  BENCH_<KEY>
# in the environment overrides the full size.
declare -A SIZE_FULL=(
	[seq]=1G [rand_file]=256M [rand_time]=5 [create]=5000 [stat]=2000
	[untar]=1000 [meta]=500 [qbig]=1G [qsmall]=100 [cold]=256M
	[pcreate]=2000 [walk]=20000 [git]=8000 [rmrf]=10000 [ia]=1G [ia_time]=3
	[nullreq]=20000
)
declare -A SIZE_SLOW=(
	[seq]=128M [rand_file]=64M [rand_time]=3 [create]=100 [stat]=200
	[untar]=100 [meta]=25 [qbig]=128M [qsmall]=100 [cold]=256M
	[pcreate]=50 [walk]=500 [git]=200 [rmrf]=200 [ia]=1G [ia_time]=3
	[nullreq]=200
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

# The size key (SIZE_FULL, SIZE_SLOW) of a workload whose size the slow
# targets get smaller; randrw's time (rand_time) goes with its rand_file.
wl_size_key()
{
	case $1 in
	seqwrite | seqread) echo seq ;;
	randrw) echo rand_file ;;
	create | stat | untar | meta | rmrf | nullreq) echo "$1" ;;
	pcreate1 | pcreate4) echo pcreate ;;
	find | du) echo walk ;;
	gitclone) echo git ;;
	qwrite | qread) echo qbig ;;
	*) return 1 ;;
	esac
}

# True when the workload ran with smaller sizes on TARGET than on native.
wl_is_scaled()
{
	local wl=$1 target=$2 key
	is_slow_target "$target" || return 1
	key=$(wl_size_key "$wl") || return 1
	[[ "$(size_of "$key" native)" != "${SIZE_SLOW[$key]}" ]] ||
		[[ $key == rand_file && "$(size_of rand_time native)" != "${SIZE_SLOW[rand_time]}" ]]
}

# disk_mark: notes the disk's sector counters as the start of the timed part
# of a run; run.sh reads them again after the run (and a sync) and reports
# the difference.  settle and drop_caches call it last, so a workload that
# calls either right before its timed part needs nothing more.
disk_mark()
{
	# a traced warm-up run counts its FUSE requests from here (requests.sh)
	declare -F req_arm >/dev/null && req_arm
	[[ -n "${DISK_STAT:-}" ]] || return 0
	cat -- "$DISK_STAT" >"$BENCH_TMP/disk.mark" 2>/dev/null || true
}

settle()
{
	sync
	disk_mark
}

# drop_caches TARGET also drops the pages of efsfs's and bindfs's backing
# files and the FUSE targets' dentries and inodes: the only way to start a
# FUSE target cold, since under passthrough fadvise() and fio's invalidate do
# not reach the backing file.  efsfs is remounted first: its daemon keeps
# caches of its own (SQLite's pages of the metadata, its inode table) that
# drop_caches does not reach, so without a new daemon its "cold" stat, find
# and du read no metadata from the disk at all.
drop_caches()
{
	if [[ ${1:-} == efsfs ]]; then
		if ! efsfs_umount_it || ! efsfs_mount_it; then
			echo "cannot remount efsfs"
			return 1
		fi
	fi
	sync
	if [[ -w /proc/sys/vm/drop_caches ]]; then
		echo 3 >/proc/sys/vm/drop_caches
	fi
	disk_mark
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
	# --invalidate=0: the runs drop the caches themselves (drop_caches), the
	# same way on every target; fio's invalidate is a POSIX_FADV_DONTNEED,
	# which under passthrough never reaches efsfs's backing file.
	# --fadvise_hint=0: fio's POSIX_FADV_RANDOM or _SEQUENTIAL would reach
	# native ext4 alone (readahead off on native only), for the same reason.
	out=$(timeout "$WL_TIMEOUT" fio --name="$name" --ioengine=psync --direct=0 \
		--fallocate=none --invalidate=0 --fadvise_hint=0 \
		--output-format=terse --terse-version=3 "$@") || return 1
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
	drop_caches "$target" || return 1
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
	drop_caches "$target" || return 1
	fio_run randrw 8 49 -- --filename="$dir/rand.dat" --size="$(size_of rand_file "$target")" \
		--rw=randrw --rwmixread=70 --bs=4k --iodepth=1 --time_based \
		--runtime="$(size_of rand_time "$target")" --end_fsync=1 --randrepeat=1
}

wl_randrw_done()
{
	rm -f -- "$2/rand.dat"
}

# ---- small files, untar, metadata ------------------------------------------------------

# nullreq: the cost of one request to the file system and its answer, with
# next to no work behind it: a FUSE target's floor per request (the kernel's
# round trip to the daemon and back), against native's system call.  A
# create costs four such requests on efsfs (see bench/README.md).  Only an
# answer of ENODATA counts: a daemon that says the call is not supported
# makes the kernel stop asking it, and the calls would time nothing.
wl_nullreq_prep()
{
	local dir=$2
	fsops create "$dir/nullreq" 1 0 >/dev/null || { echo "cannot create the file"; return 1; }
	fsops getxattr "$dir/nullreq/f000000" 1 >/dev/null 2>&1 ||
		{ echo "getxattr does not answer ENODATA"; return 1; }
}

wl_nullreq_run()
{
	local target=$1 dir=$2
	settle
	fsops getxattr "$dir/nullreq/f000000" "$(size_of nullreq "$target")" | rate_of ops
}

wl_nullreq_done()
{
	rm -rf -- "$2/nullreq"
}

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
	drop_caches "$target" || return 1
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

# ---- parallel create, find/du, git clone, rm -rf ------------------------------------------

# fsops pcreate: NPROC processes, each creating COUNT 4 KiB files in a
# directory of its own (so that the kernel's lock of one parent directory does
# not serialise them), all started at once; the files stay until the last run.
pcreate_run()
{
	local target=$1 dir=$2 run=$3 nproc=$4
	settle
	fsops pcreate "$dir/pcreate$nproc.$run" "$nproc" "$(size_of pcreate "$target")" 4k | rate_of ops
}

wl_pcreate1_run()
{
	pcreate_run "$@" 1
}

wl_pcreate4_run()
{
	pcreate_run "$@" 4
}

wl_pcreate1_done()
{
	rm -rf -- "$2"/pcreate1.*
}

wl_pcreate4_done()
{
	rm -rf -- "$2"/pcreate4.*
}

# find and du walk one tree of 4 KiB files (50 a directory, two levels),
# made once by whichever of them runs first.
walk_prep()
{
	local target=$1 dir=$2 n
	n=$(size_of walk "$target")
	[[ -f "$dir/walk.made" ]] && return 0
	rm -rf -- "$dir/walk"
	"$FSOPS" smalltree "$dir/walk" "$n" 4k >/dev/null || { echo "cannot make the tree"; return 1; }
	touch -- "$dir/walk.made"
}

walk_remove()
{
	rm -rf -- "$1/walk" "$1/walk.made"
}

# walk_run TARGET DIR find|du: runs "find . -type f" or "du -s" in DIR/walk,
# cold cache, checks what it counted, prints files/s.
walk_run()
{
	local target=$1 dir=$2 kind=$3 n t0 t1 out
	n=$(size_of walk "$target")
	drop_caches "$target" || return 1
	t0=$(now)
	case $kind in
	find) out=$(cd -- "$dir/walk" && timeout "$WL_TIMEOUT" find . -type f | wc -l) || return 1 ;;
	du) out=$(cd -- "$dir/walk" && timeout "$WL_TIMEOUT" du -s -k . | awk '{ print $1 }') || return 1 ;;
	esac
	t1=$(now)
	case $kind in
	find) [[ $out == "$n" ]] || { echo "find counted $out files, not $n" >&2; return 1; } ;;
	du) ((out >= n * 4)) || { echo "du counted $out KiB for $n files of 4 KiB" >&2; return 1; } ;;
	esac
	awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", n / (b - a) }'
}

wl_find_prep()
{
	walk_prep "$@"
}

wl_find_run()
{
	walk_run "$1" "$2" find
}

wl_find_done()
{
	# du walks the same tree
	[[ " ${WORKLOADS[*]} " == *" du "* ]] || walk_remove "$2"
}

wl_du_prep()
{
	walk_prep "$@"
}

wl_du_run()
{
	walk_run "$1" "$2" du
}

wl_du_done()
{
	walk_remove "$2"
}

# One repository per size, made once per bench run in a native directory by
# gitclone_make_repos (run.sh): a source-like tree (fsops tree, sizes / 4, so
# about 6.5 KiB a file) in one commit, packed, as a clone receives it.
git_repo()
{
	echo "$BENCH_TMP/gitrepo-$(size_of git "$1")"
}

gitclone_make_repos()
{
	local t n repo
	declare -A made=()
	command -v git >/dev/null || return 0
	for t in "$@"; do
		n=$(size_of git "$t")
		[[ -n "${made[$n]:-}" ]] && continue
		made[$n]=1
		repo=$BENCH_TMP/gitrepo-$n
		"$FSOPS" tree "$repo" "$n" 3 4 >/dev/null || return 1
		{
			git -C "$repo" init -q &&
				git -C "$repo" add -A &&
				git -C "$repo" -c user.name=bench -c user.email=bench@localhost \
					commit -q -m "generated tree of $n files" &&
				git -C "$repo" repack -a -d -q &&
				git -C "$repo" prune-packed
		} >>"$BENCH_TMP/logs/gitclone.log" 2>&1 || return 1
	done
}

wl_gitclone_prep()
{
	command -v git >/dev/null || { echo "git is not installed"; return 1; }
	[[ -d "$(git_repo "$1")/.git" ]] || { echo "no repository"; return 1; }
}

wl_gitclone_run()
{
	local target=$1 dir=$2 run=$3 n t0 t1 repo
	n=$(size_of git "$target")
	repo=$(git_repo "$target")
	settle
	t0=$(now)
	timeout "$WL_TIMEOUT" git clone -q --no-hardlinks -- "$repo" "$dir/clone.$run" || return 1
	t1=$(now)
	[[ "$(git -C "$dir/clone.$run" rev-parse HEAD)" == "$(git -C "$repo" rev-parse HEAD)" ]] ||
		{ echo "the clone's HEAD is not the repository's" >&2; return 1; }
	awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", n / (b - a) }'
}

wl_gitclone_done()
{
	rm -rf -- "$2"/clone.*
}

# Every run makes its tree (untimed), then times rm -rf of it.
wl_rmrf_run()
{
	local target=$1 dir=$2 run=$3 n t0 t1
	n=$(size_of rmrf "$target")
	"$FSOPS" smalltree "$dir/rmrf.$run" "$n" 4k >/dev/null || return 1
	settle
	t0=$(now)
	timeout "$WL_TIMEOUT" rm -rf -- "$dir/rmrf.$run" || return 1
	t1=$(now)
	[[ ! -e "$dir/rmrf.$run" ]] || { echo "rm -rf left $dir/rmrf.$run" >&2; return 1; }
	awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", n / (b - a) }'
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
	drop_caches "$1" || return 1
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
	drop_caches "$1" || return 1
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
	before=$(bytes_under "$EFSFS_DATA/objects")
	if ! efsfs_lifecycle_run; then
		echo "lifecycle run failed (see logs/efsfs.log)"
		return 1
	fi
	after=$(bytes_under "$EFSFS_DATA/objects")
	if ((after <= before)); then
		echo "lifecycle run moved no chunk to DATA_DIR/objects"
		return 1
	fi
}

wl_coldread_run()
{
	drop_caches "$1" || return 1
	fsops read "$2/cold.dat" 1M | rate_of mib
}

wl_coldread_done()
{
	rm -f -- "$2/cold.dat"
}

# A 1 GiB file, moved to IA like cold.dat: 256 chunks of 4 MiB, against the
# 8 decoded chunks that efsfs's read cache holds, so few reads hit it.  Every
# run reads other offsets (its own seed) for BENCH_IA_TIME seconds.
wl_iaread_prep()
{
	local target=$1 dir=$2 before after
	if ! efsfs_lifecycle_available; then
		echo "lifecycle not available"
		return 1
	fi
	fsops write "$dir/iarand.dat" "$(size_of ia "$target")" 1M >/dev/null ||
		{ echo "cannot write iarand.dat"; return 1; }
	before=$(bytes_under "$EFSFS_DATA/objects")
	if ! efsfs_lifecycle_run; then
		echo "lifecycle run failed (see logs/efsfs.log)"
		return 1
	fi
	after=$(bytes_under "$EFSFS_DATA/objects")
	if ((after <= before)); then
		echo "lifecycle run moved no chunk to DATA_DIR/objects"
		return 1
	fi
}

wl_iaread_run()
{
	local target=$1 dir=$2 run=$3
	drop_caches "$target" || return 1
	fsops randread "$dir/iarand.dat" 4k "$(size_of ia_time "$target")" $((run + 100)) | rate_of ops
}

wl_iaread_done()
{
	rm -f -- "$2/iarand.dat"
}
