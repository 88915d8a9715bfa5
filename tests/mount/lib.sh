# tests/mount/lib.sh - helpers sourced by every mount test script (bash): a
# per-script temp dir removed on exit (after unmounting what the script
# mounted), config/mkfs/mount/umount wrappers around the efsfs CLI, mount(8)'s
# helper pointed at the efsfs under test (install_mount_helper), assertions
# and pass/fail counters that end in "N passed, M failed".
#
# Environment: EFSFS (efsfs binary, required), POSIX_TEST, EFSFS_SRC (used by
# the scripts), TMPDIR, EFSFS_KEEP_TMP=1 keeps the temp dir for debugging.
# EFSFS_TEST_URING=1 (the *_uring variants in tests/meson.build): every file
# system made by make_config serves FUSE over io_uring (fuse_uring = on: the
# daemon sets the fuse module's enable_uring, put back as it was at exit),
# and efsfs_mount checks in the daemon's log that the ring entries of that
# mount registered.  That changes a machine-wide setting: run those under
# /tmp/efsfs-systest.lock, as help and perms are.
# Exit codes: 0 all passed, 1 a failure, 77 skipped (no root or no /dev/fuse).
# Helpers that fail exit the script, so do not call them inside $(...).
# shellcheck shell=bash

set -eEuo pipefail

TESTS_PASSED=0
TESTS_FAILED=0
TEST_NAME=$(basename "$0" .sh)
TEST_TMP=""
FS_ID=""
EFSFS_WAIT_SECS=${EFSFS_WAIT_SECS:-30}
declare -A DATA_DIRS=()		# file system name -> data_dir
declare -A MOUNT_PIDS=()	# mount point -> daemon pid
declare -A MOUNT_NAMES=()	# mount point -> file system name
declare -A LOG_FILES=()		# file system name -> log_file (EFSFS_TEST_URING=1)
URING_PARAM=/sys/module/fuse/parameters/enable_uring
LIB_EXIT_HOOKS=()		# commands run by lib_cleanup (see at_exit)

# ---- reporting ---------------------------------------------------------------

pass()
{
	TESTS_PASSED=$((TESTS_PASSED + 1))
	echo "ok: $*"
}

fail()
{
	TESTS_FAILED=$((TESTS_FAILED + 1))
	echo "FAIL: $*"
	echo "$TESTS_PASSED passed, $TESTS_FAILED failed"
	exit 1
}

skip()
{
	echo "SKIP: $*"
	exit 77
}

# Ends a script whose checks all passed.
finish()
{
	echo "$TESTS_PASSED passed, $TESTS_FAILED failed"
	exit 0
}

lib_on_err()
{
	fail "unexpected failure (exit $1) at ${BASH_SOURCE[1]:-$0}:$2: $3"
}
trap 'lib_on_err $? $LINENO "$BASH_COMMAND"' ERR

# ---- assertions --------------------------------------------------------------

# assert_eq EXPECTED ACTUAL MSG
assert_eq()
{
	if [[ "$1" != "$2" ]]; then
		fail "$3: expected '$1', got '$2'"
	fi
	pass "$3"
}

# assert_ok MSG CMD...: the command must exit 0.
assert_ok()
{
	local msg=$1 rc=0
	shift
	"$@" || rc=$?
	if ((rc != 0)); then
		fail "$msg: '$*' exited $rc"
	fi
	pass "$msg"
}

# assert_exit CODE MSG CMD...: the command must exit with exactly CODE.
assert_exit()
{
	local want=$1 msg=$2 rc=0
	shift 2
	"$@" || rc=$?
	if ((rc != want)); then
		fail "$msg: '$*' exited $rc, expected $want"
	fi
	pass "$msg"
}

# assert_fails MSG CMD...: the command must exit non-zero.
assert_fails()
{
	local msg=$1 rc=0
	shift
	"$@" || rc=$?
	if ((rc == 0)); then
		fail "$msg: '$*' succeeded"
	fi
	pass "$msg"
}

# assert_errno ERRNAME MSG CMD...: the command must fail and print the strerror
# text of ERRNAME (e.g. ENOENT -> "No such file or directory"), as coreutils do.
assert_errno()
{
	local name=$1 msg=$2 rc=0 out text
	shift 2
	text=$(errno_text "$name")
	out=$("$@" 2>&1) || rc=$?
	if ((rc == 0)); then
		fail "$msg: '$*' succeeded, expected $name"
	fi
	if [[ "$out" != *"$text"* ]]; then
		fail "$msg: '$*' failed without $name ($text): $out"
	fi
	pass "$msg"
}

errno_text()
{
	case $1 in
	ENOENT) echo "No such file or directory" ;;
	EEXIST) echo "File exists" ;;
	EACCES) echo "Permission denied" ;;
	EPERM) echo "Operation not permitted" ;;
	ENOTDIR) echo "Not a directory" ;;
	EISDIR) echo "Is a directory" ;;
	ENOTEMPTY) echo "Directory not empty" ;;
	ENOSPC) echo "No space left on device" ;;
	EROFS) echo "Read-only file system" ;;
	EIO) echo "Input/output error" ;;
	ENOTCONN) echo "Transport endpoint is not connected" ;;
	ENAMETOOLONG) echo "File name too long" ;;
	*) echo "$1" ;;
	esac
}

# assert_same_file EXPECTED ACTUAL MSG: byte-for-byte equal.
assert_same_file()
{
	if ! cmp -- "$1" "$2"; then
		fail "$3: $2 differs from $1"
	fi
	pass "$3"
}

# run CMD...: runs CMD with a time limit, stdin empty; sets RC, OUT (stdout)
# and ERR (stderr).  owner.sh, s3.sh and tier.sh define their own variant.
run()
{
	RC=0
	timeout 120 "$@" >"$TEST_TMP/run.out" 2>"$TEST_TMP/run.err" </dev/null || RC=$?
	OUT=$(<"$TEST_TMP/run.out")
	ERR=$(<"$TEST_TMP/run.err")
}

# ---- environment -----------------------------------------------------------------

require_root_fuse()
{
	if ((EUID != 0)); then
		skip "mount tests need root"
	fi
	if [[ ! -c /dev/fuse ]]; then
		skip "/dev/fuse is missing"
	fi
	if [[ -z "${EFSFS:-}" || ! -x "$EFSFS" ]]; then
		fail "EFSFS must name the efsfs binary (got '${EFSFS:-}')"
	fi
}

# Calls CMD... every 0.05 s until it succeeds or SECS seconds have passed.
wait_until()
{
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 20; i++)); do
		if "$@"; then
			return 0
		fi
		sleep 0.05
	done
	"$@"
}

# Prints the canonical path of $1 (which need not exist).
canon()
{
	realpath -m -- "$1"
}

is_efsfs_mounted()
{
	local mnt
	mnt=$(canon "$1")
	mountpoint -q -- "$mnt" &&
		awk -v m="$mnt" '$2 == m && $3 == "fuse.efsfs" { found = 1 } END { exit !found }' \
			/proc/mounts
}

is_not_mounted()
{
	local mnt
	mnt=$(canon "$1")
	! awk -v m="$mnt" '$2 == m { found = 1 } END { exit !found }' /proc/mounts
}

# True when process $1 has exited (a zombie counts as exited).
pid_gone()
{
	local state=""
	kill -0 "$1" 2>/dev/null || return 0
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[[ -z "$state" || "$state" == Z || "$state" == X ]]
}

# ---- config, mkfs, mount -------------------------------------------------------------

# make_config NAME [KEY=VALUE...]: (re)writes section NAME of $TEST_TMP/efsfs.conf with
# data_dir = $TEST_TMP/data/NAME plus the extra lines, and exports EFSFS_CONFIG.
make_config()
{
	local name=$1 conf="$TEST_TMP/efsfs.conf" line
	shift
	[[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || fail "make_config: bad file system name '$name'"
	DATA_DIRS[$name]="$TEST_TMP/data/$name"
	mkdir -p "$TEST_TMP/data"
	touch "$conf"
	awk -v sec="[$name]" '/^\[/ { skip = ($0 == sec) } !skip' "$conf" >"$conf.new"
	{
		echo "[$name]"
		echo "data_dir = ${DATA_DIRS[$name]}"
		for line in "$@"; do
			[[ "$line" == *=* ]] || fail "make_config: '$line' is not key=value"
			echo "$line"
		done
		if [[ "${EFSFS_TEST_URING:-}" == 1 ]]; then
			echo "fuse_uring = on"
			if [[ "$*" != *log_file* ]]; then
				LOG_FILES[$name]="$TEST_TMP/log-$name.log"
				echo "log_file = ${LOG_FILES[$name]}"
			fi
		fi
	} >>"$conf.new"
	mv "$conf.new" "$conf"
	export EFSFS_CONFIG="$conf"
}

# efsfs_mkfs NAME [MKFS OPTIONS...]: creates the file system; sets FS_ID.
efsfs_mkfs()
{
	local name=$1 out rc=0
	shift
	[[ -n "${DATA_DIRS[$name]:-}" ]] || fail "efsfs_mkfs: no make_config for '$name'"
	out=$(timeout 120 "$EFSFS" mkfs "$@" "$name" 2>&1) || rc=$?
	if ((rc != 0)); then
		fail "efsfs mkfs $name exited $rc: $out"
	fi
	FS_ID=$(grep -oE 'fs-[0-9a-f]{17}' <<<"$out" | head -n 1) || true
	if [[ -z "$FS_ID" ]]; then
		fail "efsfs mkfs $name printed no fs- id: $out"
	fi
	pass "mkfs $name ($FS_ID)"
}

# Prints the daemon pid recorded in NAME's lock file ("pid=N"), or nothing.
efsfs_daemon_pid()
{
	local lock="${DATA_DIRS[$1]:-}/lock"
	[[ -r "$lock" ]] || return 0
	sed -n 's/^pid=\([0-9][0-9]*\)[[:space:]]*$/\1/p' "$lock" | head -n 1
}

# efsfs_mount NAME MNT [OPTS]: mounts and checks that a fuse.efsfs mount is there.
efsfs_mount()
{
	local name=$1 mnt opts=${3:-} rc=0 log
	mnt=$(canon "$2")
	log="$TEST_TMP/mount-$name.log"
	mkdir -p -- "$mnt"
	chmod 755 -- "$mnt"
	local args=(mount)
	if [[ -n "$opts" ]]; then
		args+=(-o "$opts")
	fi
	args+=("$name" "$mnt")
	echo "mount: $EFSFS ${args[*]}" >>"$log"
	timeout 120 "$EFSFS" "${args[@]}" >>"$log" 2>&1 </dev/null || rc=$?
	if ((rc != 0)); then
		fail "efsfs mount $name $mnt exited $rc: $(tail -n 20 "$log")"
	fi
	efsfs_adopt_mount "$name" "$mnt"
	if [[ -n "${LOG_FILES[$name]:-}" ]]; then
		# the ring registers right after the kernel's INIT, which comes
		# before or after the daemon's messages move from its stderr (the
		# mount log) to its log file
		local want="$name on $mnt: serving FUSE over io_uring"
		wait_until 10 grep -qF "$want" "${LOG_FILES[$name]}" "$log" ||
			fail "$name on $mnt does not serve FUSE over io_uring: $(tail -n 5 "${LOG_FILES[$name]}")"
		pass "$name on $mnt serves FUSE over io_uring"
	fi
}

# efsfs_adopt_mount NAME MNT: for a mount made by other means (mount(8)):
# checks that a fuse.efsfs mount is at MNT with a live daemon and records it
# so that efsfs_umount, efsfs_crash and the cleanup know it.
efsfs_adopt_mount()
{
	local name=$1 mnt pid
	mnt=$(canon "$2")
	if ! wait_until "$EFSFS_WAIT_SECS" is_efsfs_mounted "$mnt"; then
		fail "no fuse.efsfs mount at $mnt after mounting $name: $(grep -F " $mnt " \
			/proc/mounts || echo 'not in /proc/mounts')"
	fi
	pid=$(efsfs_daemon_pid "$name")
	if [[ -z "$pid" ]] || pid_gone "$pid"; then
		fail "mounted $name, but ${DATA_DIRS[$name]}/lock names no live daemon (pid '$pid')"
	fi
	MOUNT_PIDS[$mnt]=$pid
	MOUNT_NAMES[$mnt]=$name
	pass "mount $name at $mnt (daemon pid $pid)"
}

# Unmounts without asserting; returns non-zero if the mount or daemon remains.
efsfs_umount_quiet()
{
	local mnt pid
	mnt=$(canon "$1")
	pid=${MOUNT_PIDS[$mnt]:-}
	if ! is_not_mounted "$mnt"; then
		umount -- "$mnt" 2>/dev/null || fusermount3 -u -- "$mnt" 2>/dev/null || return 1
	fi
	wait_until "$EFSFS_WAIT_SECS" is_not_mounted "$mnt" || return 1
	unset "MOUNT_PIDS[$mnt]" "MOUNT_NAMES[$mnt]"
	# one daemon serves every mount of a file system: it stops with the last
	if [[ -n "$pid" ]] && ! daemon_serves_another "$pid"; then
		wait_until "$EFSFS_WAIT_SECS" pid_gone "$pid" || return 2
	fi
	return 0
}

# True when a mount recorded in MOUNT_PIDS is served by daemon $1.
daemon_serves_another()
{
	local m
	for m in "${!MOUNT_PIDS[@]}"; do
		[[ "${MOUNT_PIDS[$m]}" == "$1" ]] && return 0
	done
	return 1
}

# efsfs_umount MNT: unmounts and, when it served no other recorded mount,
# waits until the daemon has exited.
efsfs_umount()
{
	local mnt rc=0 pid
	mnt=$(canon "$1")
	pid=${MOUNT_PIDS[$mnt]:-}
	local name=${MOUNT_NAMES[$mnt]:-}
	efsfs_umount_quiet "$mnt" || rc=$?
	if ((rc == 0)) && [[ -n "${LOG_FILES[$name]:-}" ]]; then
		# the daemon's last words on its ring: how many requests it served
		local served
		served=$(sed -n "s|.*$name on $mnt: FUSE over io_uring served \([0-9]*\) requests|\1|p" \
			"${LOG_FILES[$name]}" | tail -n 1)
		[[ "$served" =~ ^[0-9]+$ ]] && ((served > 0)) ||
			fail "$name on $mnt served '${served}' requests over io_uring"
		pass "$name on $mnt served $served requests over io_uring"
	fi
	case $rc in
	0) pass "umount $mnt" ;;
	2) fail "unmounted $mnt, but daemon pid $pid still runs after ${EFSFS_WAIT_SECS}s" ;;
	*) fail "cannot unmount $mnt: $(umount -- "$mnt" 2>&1 || true)" ;;
	esac
}

# efsfs_remount MNT [OPTS]: unmounts MNT and mounts the same file system there again.
efsfs_remount()
{
	local mnt name
	mnt=$(canon "$1")
	name=${MOUNT_NAMES[$mnt]:-}
	[[ -n "$name" ]] || fail "efsfs_remount: nothing mounted at $mnt by efsfs_mount"
	efsfs_umount "$mnt"
	efsfs_mount "$name" "$mnt" "${2:-}"
}

# efsfs_crash MNT: kills the daemon serving MNT with SIGKILL (a crash), waits until it
# is gone and detaches the dead mount; the file system can then be mounted again.
efsfs_crash()
{
	local mnt pid
	mnt=$(canon "$1")
	pid=${MOUNT_PIDS[$mnt]:-}
	[[ -n "$pid" ]] || fail "efsfs_crash: nothing mounted at $mnt by efsfs_mount"
	kill -KILL "$pid" 2>/dev/null || fail "efsfs_crash: daemon $pid of $mnt is not running"
	if ! wait_until "$EFSFS_WAIT_SECS" pid_gone "$pid"; then
		fail "daemon $pid still runs ${EFSFS_WAIT_SECS}s after kill -9"
	fi
	umount -l -- "$mnt" 2>/dev/null || fusermount3 -uz -- "$mnt" 2>/dev/null ||
		fail "cannot detach the dead mount $mnt"
	wait_until "$EFSFS_WAIT_SECS" is_not_mounted "$mnt" ||
		fail "$mnt is still mounted after detaching it"
	unset "MOUNT_PIDS[$mnt]" "MOUNT_NAMES[$mnt]"
}

# efsfs_fsck NAME [OPTIONS...]: prints the output; returns fsck's exit status.
efsfs_fsck()
{
	local name=$1
	shift
	timeout 600 "$EFSFS" fsck "$@" "$name"
}

# ---- sanitizer reports and s3rver ---------------------------------------------------

# sanitizer_to_files: a detached daemon's stderr is /dev/null, so ASan and
# UBSan reports (the sanitizer build) go to $TEST_TMP/sanitizer.* instead, for
# assert_no_sanitizer_report at the end.
sanitizer_to_files()
{
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$TEST_TMP/sanitizer"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$TEST_TMP/sanitizer"
}

assert_no_sanitizer_report()
{
	local reports
	mapfile -t reports < <(compgen -G "$TEST_TMP/sanitizer.*" || true)
	if ((${#reports[@]} > 0)); then
		fail "sanitizer reports: $(head -n 40 -- "${reports[@]}")"
	fi
	pass "no sanitizer report from the daemon or the CLI"
}

port_free()
{
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# s3rver_setup: S3RVER_SH (tests/lib/s3rver.sh, which starts and stops a
# local s3rver), and the AWS variables for it: s3rver checks the access key
# id only, and nothing from the caller's AWS set-up applies.
s3rver_setup()
{
	EFSFS_SRC=${EFSFS_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
	S3RVER_SH="$EFSFS_SRC/tests/lib/s3rver.sh"
	[[ -r "$S3RVER_SH" ]] || fail "no $S3RVER_SH (EFSFS_SRC=$EFSFS_SRC)"
	export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
	unset AWS_SESSION_TOKEN AWS_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
}

# s3rver_pick_port: a free port of 127.0.0.1 for a private s3rver in S3PORT,
# never the one of the suite's own s3rver ($EFSFS_S3_ENDPOINT); 50 tries.
s3rver_pick_port()
{
	local i p
	S3PORT=""
	for ((i = 0; i < 50; i++)); do
		p=$((20000 + RANDOM % 20000))
		if [[ "${EFSFS_S3_ENDPOINT:-}" != *":$p" ]] && port_free "$p"; then
			S3PORT=$p
			return 0
		fi
	done
	fail "no free port for s3rver"
}

# ---- mount(8)'s helper -----------------------------------------------------------

# mount(8) runs $HELPER for "mount -t efsfs".  install_mount_helper points it at
# $EFSFS for the rest of the script; an installed helper is moved aside and
# put back on exit.
HELPER=/sbin/mount.efsfs
HELPER_SAVED=/sbin/mount.efsfs.saved-by-efsfs-$TEST_NAME-test
HELPER_INSTALLED=0

# shellcheck disable=SC2317 # called through at_exit
restore_mount_helper()
{
	if ((HELPER_INSTALLED)); then
		rm -f -- "$HELPER"
		if [[ -e "$HELPER_SAVED" || -L "$HELPER_SAVED" ]]; then
			mv -- "$HELPER_SAVED" "$HELPER"
		fi
	fi
}

install_mount_helper()
{
	local bin
	bin=$(realpath -- "$EFSFS")
	if [[ -e "$HELPER_SAVED" || -L "$HELPER_SAVED" ]]; then
		fail "$HELPER_SAVED exists (left by an interrupted run?): move it back to $HELPER"
	fi
	at_exit restore_mount_helper
	HELPER_INSTALLED=1
	if [[ -e "$HELPER" || -L "$HELPER" ]]; then
		mv -- "$HELPER" "$HELPER_SAVED"
	fi
	ln -s -- "$bin" "$HELPER"
	assert_eq "$bin" "$(realpath -- "$HELPER")" "$HELPER points to the efsfs under test"
}

# ---- temp dir and cleanup -----------------------------------------------------------

lib_cleanup()
{
	local rc=$? mnt pid log i
	set +eE
	trap - ERR
	for mnt in "${!MOUNT_PIDS[@]}"; do
		if ! efsfs_umount_quiet "$mnt"; then
			echo "cleanup: $mnt did not unmount cleanly; detaching it" >&2
			umount -l -- "$mnt" 2>/dev/null || fusermount3 -uz -- "$mnt" 2>/dev/null
			pid=${MOUNT_PIDS[$mnt]:-}
			if [[ -n "$pid" ]] && ! wait_until 5 pid_gone "$pid"; then
				echo "cleanup: daemon $pid still runs; killing it" >&2
				kill -KILL "$pid" 2>/dev/null
			fi
		fi
	done
	for ((i = ${#LIB_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${LIB_EXIT_HOOKS[i]}"
	done
	if [[ -n "$TEST_TMP" && -d "$TEST_TMP" ]]; then
		# Anything still mounted below the temp dir (a script that bypassed efsfs_mount).
		awk -v t="$TEST_TMP/" 'index($2, t) == 1 { print $2 }' /proc/mounts |
			while read -r mnt; do umount -l -- "$mnt"; done
		if ((rc != 0)); then
			for log in "$TEST_TMP"/*.log; do
				[[ -f "$log" ]] || continue
				echo "---- last lines of $log ----"
				tail -n 40 -- "$log"
			done
		fi
		if [[ "${EFSFS_KEEP_TMP:-}" == 1 ]]; then
			echo "kept $TEST_TMP"
		else
			rm -rf -- "$TEST_TMP"
		fi
	fi
	exit "$rc"
}

# at_exit CMD: CMD (a string, eval'ed) runs when the script exits, after the
# efsfs mounts are gone and before the temp dir is removed; the newest runs first.
at_exit()
{
	LIB_EXIT_HOOKS+=("$1")
}

trap lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/efsfs-$TEST_NAME.XXXXXX")
# Unprivileged checks (posix_test runs as nobody) need to reach mounts inside it.
chmod 755 "$TEST_TMP"
if [[ "${EFSFS_TEST_URING:-}" == 1 ]]; then
	((EUID == 0)) || skip "FUSE over io_uring tests need root"
	[[ -w "$URING_PARAM" ]] || skip "this kernel has no FUSE over io_uring ($URING_PARAM)"
	URING_PARAM_WAS=$(cat -- "$URING_PARAM")
	at_exit 'echo "$URING_PARAM_WAS" >"$URING_PARAM"'
fi

# The build's efsfs as mount.efsfs in $TEST_TMP/bin (HELPER_BIN: what
# mount(8) would run as /sbin/mount.efsfs), and a mount point
# $TEST_TMP/mI (0755) for each I given.  For scripts that mount through
# mount.efsfs without installing it system-wide.
helper_setup()
{
	local i
	mkdir -p -- "$TEST_TMP/bin"
	HELPER_BIN="$TEST_TMP/bin/mount.efsfs"
	ln -sf -- "$(realpath -- "$EFSFS")" "$HELPER_BIN"
	for i in "$@"; do
		mkdir -p -- "$TEST_TMP/m$i"
		chmod 755 -- "$TEST_TMP/m$i"
	done
}

# helper_mount SOURCE MNT [OPTS]: mount.efsfs SOURCE MNT -o config=$CONF,OPTS
# for file system $NAME; must work.
helper_mount()
{
	local opts="config=$CONF${3:+,$3}"
	run "$HELPER_BIN" "$1" "$2" -o "$opts"
	((RC == 0)) || fail "mount.efsfs $1 $2 -o $opts exited $RC: $ERR"
	efsfs_adopt_mount "$NAME" "$2"
}

# The mount source (the field after the type in mountinfo) at $1.
source_of()
{
	awk -v m="$(canon "$1")" '$5 == m { for (i = 7; $i != "-"; i++); s = $(i + 2) }
		END { print s }' /proc/self/mountinfo
}

# assert_dead_mount MSG MNT: after the daemon's death, MNT's requests fail
# with ENOTCONN.  A request the kernel had already queued when it tore the
# connection down fails with ECONNABORTED (with FUSE over io_uring also
# ECANCELED) instead: those answers are polled past, boundedly; any other
# answer fails at once.
assert_dead_mount()
{
	local msg=$1 mnt=$2 out="" i
	for ((i = 0; i < EFSFS_WAIT_SECS * 20; i++)); do
		if out=$(stat -- "$mnt/" 2>&1); then
			fail "$msg: stat of $mnt succeeded after the daemon died"
		fi
		case $out in
		*"Transport endpoint is not connected"*)
			pass "$msg"
			return 0
			;;
		*"Software caused connection abort"* | *"Operation canceled"*) sleep 0.05 ;;
		*) fail "$msg: stat of $mnt failed without ENOTCONN: $out" ;;
		esac
	done
	fail "$msg: stat of $mnt still fails with '$out' after $EFSFS_WAIT_SECS s, not ENOTCONN"
}
