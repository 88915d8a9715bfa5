# bench/targets.sh - sourced by bench/run.sh: sets up and tears down the file
# systems the benchmarks run on, all below one temp dir $BENCH_TMP.
#
# With BENCH_FS=loop (run.sh --fs loop, the default) native, efsfs and bindfs
# each keep their files on a fresh ext4 of their own: a sparse image file
# $BENCH_TMP/fs/TARGET.img on a loop device (direct I/O), mounted at
# $BENCH_TMP/fs/TARGET.  With BENCH_FS=host, or when that cannot be set up,
# their files are in $BENCH_TMP itself, like s3fs's and rclone's always.
#
#   native  a plain directory (its own ext4, or the disk under $BENCH_TMP)
#   efsfs   efsfs mkfs + mount with a config file of its own ($BENCH_TMP/efsfs.conf)
#   bindfs  bindfs (libfuse 2) passthrough of a native directory
#   s3fs    s3fs on bucket "s3fs-bench" of a local s3rver
#   rclone  rclone mount --vfs-cache-mode full of bucket "rclone-bench" of the same s3rver
#
# target_setup NAME sets TARGET_DIR[NAME] (the directory workloads run in) or
# TARGET_NA[NAME] (why the target is not available), and TARGET_BASE[NAME]
# (the directory that holds its files); target_teardown_all undoes
# everything.  Every function returns 0 or 1 and logs to $BENCH_TMP/logs.
# shellcheck shell=bash

declare -A TARGET_DIR=()	# target -> directory the workloads use
declare -A TARGET_NA=()		# target -> reason it is not available
declare -A TARGET_PID=()	# target -> daemon pid to wait for (or kill) at teardown
declare -A TARGET_MNT=()	# target -> mount point to unmount at teardown
declare -A TARGET_BASE=()	# target -> directory its files live in: its loop file system or $BENCH_TMP
declare -A TARGET_LOOP=()	# target -> its loop device (BENCH_FS=loop)
declare -A TARGET_FS_NA=()	# target -> why it has no loop file system (BENCH_FS=loop, so on the host)
BENCH_FS=${BENCH_FS:-loop}
LOOP_TARGETS=" native efsfs bindfs "	# the targets that get a loop file system of their own
LOOP_SIZE=${BENCH_LOOP_SIZE:-16G}	# the size of each image (sparse; the biggest files are 1 GiB)
EFSFS_DATA=""			# efsfs's data_dir
S3RVER_PORT=""
S3RVER_DIR=""
EFSFS_NAME=bench

log()
{
	echo "bench: $*" >&2
}

# Calls CMD... every 0.1 s until it succeeds or SECS seconds have passed.
wait_for()
{
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

pid_gone()
{
	! kill -0 "$1" 2>/dev/null
}

is_mounted()
{
	awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts
}

is_not_mounted()
{
	! is_mounted "$1"
}

# ensure_tool CMD PACKAGE: installs PACKAGE with apt-get when CMD is missing.
ensure_tool()
{
	local cmd=$1 pkg=$2
	command -v "$cmd" >/dev/null && return 0
	if ((EUID == 0)) && command -v apt-get >/dev/null; then
		log "installing $pkg (apt-get)"
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" \
			>>"$BENCH_TMP/logs/apt.log" 2>&1; then
			# the package lists may be missing or stale on a fresh machine
			apt-get update -q >>"$BENCH_TMP/logs/apt.log" 2>&1 || true
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" \
				>>"$BENCH_TMP/logs/apt.log" 2>&1 || true
		fi
	fi
	command -v "$cmd" >/dev/null
}

# Prints a TCP port on 127.0.0.1 that nothing listens on (bounded search).
free_port()
{
	local i port
	for ((i = 0; i < 100; i++)); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# ---- loop file systems -----------------------------------------------------------

# loopfs_setup TARGET: a sparse image $BENCH_TMP/fs/TARGET.img on a loop device
# with direct I/O (so no second page cache), a fresh ext4 on it (Debian's
# defaults, journal included, but inode tables and journal written now, not by
# a kernel thread during the runs), mounted at $BENCH_TMP/fs/TARGET.  Sets
# TARGET_LOOP[TARGET]; on failure sets TARGET_FS_NA[TARGET], undoes what it did
# and returns 1.
loopfs_setup()
{
	local t=$1 img=$BENCH_TMP/fs/$1.img mnt=$BENCH_TMP/fs/$1 dev lg=$BENCH_TMP/logs/loopfs.log
	if ! mkdir -p "$mnt" || ! truncate -s "$LOOP_SIZE" -- "$img" 2>>"$lg"; then
		TARGET_FS_NA[$t]="cannot create a $LOOP_SIZE image file in $BENCH_TMP/fs"
		return 1
	fi
	if ! dev=$(losetup --direct-io=on -f --show -- "$img" 2>>"$lg") || [[ $dev != /dev/loop* ]]; then
		TARGET_FS_NA[$t]="losetup failed (see logs/loopfs.log)"
		loopfs_teardown "$t"
		return 1
	fi
	TARGET_LOOP[$t]=$dev
	echo "$t: $img on $dev, direct I/O $(cat "/sys/block/${dev#/dev/}/loop/dio" 2>/dev/null)" >>"$lg"
	if ! nice mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 -- "$dev" >>"$lg" 2>&1; then
		TARGET_FS_NA[$t]="mkfs.ext4 on $dev failed (see logs/loopfs.log)"
		loopfs_teardown "$t"
		return 1
	fi
	if ! mount -t ext4 -- "$dev" "$mnt" 2>>"$lg"; then
		TARGET_FS_NA[$t]="mount of $dev failed (see logs/loopfs.log)"
		loopfs_teardown "$t"
		return 1
	fi
	return 0
}

umount_quiet()
{
	umount -- "$1" 2>/dev/null
}

# loopfs_teardown TARGET: unmounts TARGET's loop file system, detaches every
# loop device on its image and removes the image.
loopfs_teardown()
{
	local t=$1 img=$BENCH_TMP/fs/$1.img mnt=$BENCH_TMP/fs/$1 dev lg=$BENCH_TMP/logs/loopfs.log
	if is_mounted "$mnt" && ! wait_for 10 umount_quiet "$mnt"; then
		log "$mnt did not unmount (busy?); detaching it"
		umount -l -- "$mnt" 2>>"$lg" || true
	fi
	if [[ -e $img ]]; then
		# by image, not by TARGET_LOOP: also what an interrupted setup attached
		for dev in $(losetup -n -O NAME -j "$img" 2>/dev/null); do
			losetup -d "$dev" 2>>"$lg" || log "losetup -d $dev failed (see logs/loopfs.log)"
		done
		rm -f -- "$img"
	fi
	[[ -d $mnt ]] && ! is_mounted "$mnt" && rmdir -- "$mnt" 2>/dev/null
	unset "TARGET_LOOP[$t]"
	return 0
}

# Tears down every loop file system of this bench (every image in $BENCH_TMP/fs).
loopfs_teardown_all()
{
	local img
	for img in "$BENCH_TMP"/fs/*.img; do
		[[ -e $img ]] || continue
		loopfs_teardown "$(basename -- "$img" .img)"
	done
}

# target_base TARGET: sets TARGET_BASE[TARGET], the directory that holds the
# target's files: under BENCH_FS=loop, for native, efsfs and bindfs, a fresh
# loop file system of its own, or $BENCH_TMP (logged) when that cannot be set
# up; else $BENCH_TMP.
target_base()
{
	local t=$1
	TARGET_BASE[$t]=$BENCH_TMP
	[[ $BENCH_FS == loop && $LOOP_TARGETS == *" $t "* ]] || return 0
	if loopfs_setup "$t"; then
		TARGET_BASE[$t]=$BENCH_TMP/fs/$t
		log "$t: its files are on a fresh ext4 on ${TARGET_LOOP[$t]}"
	else
		log "$t: NO loop file system (${TARGET_FS_NA[$t]}): its files are on the host's disk in $BENCH_TMP instead"
	fi
}

# ---- native --------------------------------------------------------------------

setup_native()
{
	TARGET_DIR[native]="${TARGET_BASE[native]}/native"
	mkdir -p "${TARGET_DIR[native]}"
}

# ---- efsfs -----------------------------------------------------------------------

efsfs_daemon_pid()
{
	sed -n 's/^pid=\([0-9][0-9]*\)[[:space:]]*$/\1/p' "$EFSFS_DATA/lock" 2>/dev/null |
		head -n 1
}

efsfs_mount_it()
{
	local mnt=$BENCH_TMP/mnt/efsfs pid
	if ! timeout 120 "$EFSFS" mount "$EFSFS_NAME" "$mnt" </dev/null \
		>>"$BENCH_TMP/logs/efsfs.log" 2>&1; then
		return 1
	fi
	wait_for 30 is_mounted "$mnt" || return 1
	pid=$(efsfs_daemon_pid)
	[[ -n "$pid" ]] && TARGET_PID[efsfs]=$pid
	return 0
}

# Unmounts efsfs and waits for its daemon to exit.  The pid is the lock
# file's: a remount inside a workload's subshell (drop_caches) started a
# daemon that TARGET_PID of the main shell does not know.
efsfs_umount_it()
{
	local mnt=$BENCH_TMP/mnt/efsfs pid
	pid=$(efsfs_daemon_pid)
	pid=${pid:-${TARGET_PID[efsfs]:-}}
	if is_mounted "$mnt"; then
		umount -- "$mnt" 2>>"$BENCH_TMP/logs/efsfs.log" || return 1
	fi
	if [[ -n "$pid" ]]; then
		wait_for 60 pid_gone "$pid" || return 1
		unset 'TARGET_PID[efsfs]'
	fi
	return 0
}

setup_efsfs()
{
	local mnt=$BENCH_TMP/mnt/efsfs
	if [[ -z "$EFSFS" || ! -x "$EFSFS" ]]; then
		TARGET_NA[efsfs]="no efsfs binary (set EFSFS or --efsfs)"
		return 1
	fi
	EFSFS_DATA=${TARGET_BASE[efsfs]}/efsfs-data
	# IA after one day, no promotion on read: the cold-read workload moves the
	# clock forward with "lifecycle run --as-of" and reads cold chunks every run.
	cat >"$BENCH_TMP/efsfs.conf" <<-EOF
		[$EFSFS_NAME]
		data_dir = $EFSFS_DATA
		transition_to_ia = AFTER_1_DAY
		transition_to_archive = NONE
		transition_to_primary_storage_class = NONE
		statfs = local
	EOF
	export EFSFS_CONFIG="$BENCH_TMP/efsfs.conf"
	mkdir -p "$mnt"
	if ! timeout 120 "$EFSFS" mkfs "$EFSFS_NAME" >>"$BENCH_TMP/logs/efsfs.log" 2>&1; then
		TARGET_NA[efsfs]="mkfs failed (see log)"
		tail -n 5 "$BENCH_TMP/logs/efsfs.log" >&2
		return 1
	fi
	TARGET_MNT[efsfs]=$mnt
	if ! efsfs_mount_it; then
		TARGET_NA[efsfs]="mount failed"
		tail -n 5 "$BENCH_TMP/logs/efsfs.log" >&2
		return 1
	fi
	TARGET_DIR[efsfs]=$mnt
}

# ---- bindfs ----------------------------------------------------------------------

setup_bindfs()
{
	local src=${TARGET_BASE[bindfs]}/bindfs-src mnt=$BENCH_TMP/mnt/bindfs
	if ! ensure_tool bindfs bindfs; then
		TARGET_NA[bindfs]="bindfs not installable"
		return 1
	fi
	mkdir -p "$src" "$mnt"
	# bindfs 1.14 on Debian 12 is built on libfuse 2: big_writes lifts the 4 KiB
	# write size to 128 KiB; --multithreaded matches efsfs's threaded loop.
	if ! bindfs --multithreaded -o big_writes "$src" "$mnt" \
		>>"$BENCH_TMP/logs/bindfs.log" 2>&1; then
		TARGET_NA[bindfs]="bindfs mount failed"
		return 1
	fi
	TARGET_MNT[bindfs]=$mnt
	wait_for 30 is_mounted "$mnt" || { TARGET_NA[bindfs]="bindfs did not mount"; return 1; }
	TARGET_PID[bindfs]=$(pgrep -n -f "^bindfs .*$mnt\$" || true)
	TARGET_DIR[bindfs]=$mnt
}

# ---- s3rver, s3fs, rclone --------------------------------------------------------

# Starts one s3rver for s3fs and rclone; 1 if it cannot.
s3rver_start()
{
	[[ -n "$S3RVER_PORT" ]] && return 0
	[[ -n "${S3RVER_FAILED:-}" ]] && return 1
	S3RVER_DIR=$BENCH_TMP/s3rver
	S3RVER_PORT=$(free_port) || { S3RVER_FAILED="no free port"; return 1; }
	if ! bash "$BENCH_SRC/tests/lib/s3rver.sh" start "$S3RVER_DIR" "$S3RVER_PORT" s3fs-bench \
		>>"$BENCH_TMP/logs/s3rver.log" 2>&1; then
		S3RVER_FAILED="s3rver did not start (see logs/s3rver.log)"
		S3RVER_PORT=""
		return 1
	fi
	return 0
}

s3rver_stop()
{
	[[ -n "$S3RVER_DIR" ]] || return 0
	bash "$BENCH_SRC/tests/lib/s3rver.sh" stop "$S3RVER_DIR" >>"$BENCH_TMP/logs/s3rver.log" 2>&1
}

setup_s3fs()
{
	local mnt=$BENCH_TMP/mnt/s3fs pw=$BENCH_TMP/s3fs.passwd
	if ! ensure_tool s3fs s3fs; then
		TARGET_NA[s3fs]="s3fs not installable"
		return 1
	fi
	if ! s3rver_start; then
		TARGET_NA[s3fs]=$S3RVER_FAILED
		return 1
	fi
	echo "S3RVER:S3RVER" >"$pw"
	chmod 600 "$pw"
	mkdir -p "$mnt" "$BENCH_TMP/s3fs-cache"
	if ! s3fs s3fs-bench "$mnt" -o "passwd_file=$pw,url=http://127.0.0.1:$S3RVER_PORT" \
		-o use_path_request_style -o "logfile=$BENCH_TMP/logs/s3fs.log" \
		>>"$BENCH_TMP/logs/s3fs.log" 2>&1; then
		TARGET_NA[s3fs]="s3fs mount failed"
		return 1
	fi
	TARGET_MNT[s3fs]=$mnt
	wait_for 30 is_mounted "$mnt" || { TARGET_NA[s3fs]="s3fs did not mount"; return 1; }
	TARGET_PID[s3fs]=$(pgrep -n -f "^s3fs s3fs-bench $mnt" || true)
	if ! mkdir "$mnt/probe" 2>>"$BENCH_TMP/logs/s3fs.log" || ! rmdir "$mnt/probe"; then
		TARGET_NA[s3fs]="s3fs mount is not writable (see logs/s3fs.log)"
		return 1
	fi
	TARGET_DIR[s3fs]=$mnt
}

setup_rclone()
{
	local mnt=$BENCH_TMP/mnt/rclone conf=$BENCH_TMP/rclone.conf pid
	if ! ensure_tool rclone rclone; then
		TARGET_NA[rclone]="rclone not installable"
		return 1
	fi
	if ! s3rver_start; then
		TARGET_NA[rclone]=$S3RVER_FAILED
		return 1
	fi
	cat >"$conf" <<-EOF
		[bench]
		type = s3
		provider = Other
		access_key_id = S3RVER
		secret_access_key = S3RVER
		endpoint = http://127.0.0.1:$S3RVER_PORT
		force_path_style = true
		region = us-east-1
	EOF
	mkdir -p "$mnt" "$BENCH_TMP/rclone-cache"
	# AWS_CA_BUNDLE (set on some hosts) makes rclone 1.60 fail to build its
	# HTTP client, and this endpoint is plain http anyway
	if ! timeout 60 env -u AWS_CA_BUNDLE rclone --config "$conf" mkdir bench:rclone-bench \
		>>"$BENCH_TMP/logs/rclone.log" 2>&1; then
		TARGET_NA[rclone]="rclone could not create its bucket"
		return 1
	fi
	# setsid: its own session, so that terminal signals go to run.sh alone
	setsid env -u AWS_CA_BUNDLE rclone --config "$conf" mount bench:rclone-bench "$mnt" --vfs-cache-mode full \
		--cache-dir "$BENCH_TMP/rclone-cache" --log-file "$BENCH_TMP/logs/rclone.log" \
		</dev/null >>"$BENCH_TMP/logs/rclone-stdout.log" 2>&1 &
	pid=$!
	TARGET_PID[rclone]=$pid
	TARGET_MNT[rclone]=$mnt
	if ! wait_for 30 is_mounted "$mnt"; then
		TARGET_NA[rclone]="rclone did not mount"
		return 1
	fi
	TARGET_DIR[rclone]=$mnt
}

target_setup()
{
	local t=$1
	mkdir -p "$BENCH_TMP/mnt"
	target_base "$t"
	"setup_$t" || {
		[[ -n "${TARGET_NA[$t]:-}" ]] || TARGET_NA[$t]="setup failed"
		unset "TARGET_DIR[$t]"
		return 1
	}
}

# Unmounts every target, waits for (then kills) their daemons, stops s3rver,
# then tears down the loop file systems under them.
target_teardown_all()
{
	local t mnt pid
	for t in "${!TARGET_MNT[@]}"; do
		mnt=${TARGET_MNT[$t]}
		if is_mounted "$mnt"; then
			umount -- "$mnt" 2>/dev/null || fusermount3 -u -- "$mnt" 2>/dev/null ||
				fusermount -u -- "$mnt" 2>/dev/null || true
			if ! wait_for 30 is_not_mounted "$mnt"; then
				log "$mnt did not unmount; detaching it"
				umount -l -- "$mnt" 2>/dev/null || true
			fi
		fi
		pid=${TARGET_PID[$t]:-}
		if [[ -n "$pid" ]] && ! wait_for 30 pid_gone "$pid"; then
			log "$t daemon $pid still runs after unmount; killing it"
			kill "$pid" 2>/dev/null || true
			wait_for 5 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	TARGET_MNT=()
	TARGET_PID=()
	s3rver_stop || true
	loopfs_teardown_all
}
