#!/bin/bash
# tests/mount/logs.sh - mount suite: where a detached daemon's errors go when
# there is no syslog, and the last lifecycle pass in `efsfs lifecycle status`.
#
# The script runs itself again in a private mount namespace (unshare -m) in
# which /dev/log, if the host has one, is hidden under an empty file, as in
# most containers.  The daemon must then write to its log file
# (DATA_DIR/efsfs.log): its "logging to" line, the error of a cold read
# that fails verification, and a full log is moved to efsfs.log.1.
# Needs: EFSFS, root, /dev/fuse, unshare (util-linux).

if [[ "${EFSFS_LOGS_IN_NS:-}" != 1 ]]; then
	if ((EUID != 0)); then
		echo "SKIP: mount tests need root"
		exit 77
	fi
	exec unshare -m --propagation private env EFSFS_LOGS_IN_NS=1 bash "$0" "$@"
fi

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse

# field KEY: the value of "KEY: value" in $OUT.
field()
{
	sed -n "s/^$1: //p" <<<"$OUT" | head -n 1
}

drop_caches()
{
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

if [[ -e /dev/log || -L /dev/log ]]; then
	: >"$TEST_TMP/no-syslog"
	mount --bind "$TEST_TMP/no-syslog" /dev/log || fail "cannot hide /dev/log"
fi
if [[ -S /dev/log ]]; then
	fail "/dev/log is still a socket in the test's namespace"
fi
pass "no syslog socket at /dev/log"

NAME=logs
MNT="$TEST_TMP/mnt"
make_config "$NAME" "lifecycle_interval = 604800"
efsfs_mkfs "$NAME"
DATA=${DATA_DIRS[$NAME]}
LOG="$DATA/efsfs.log"

# a log at its limit is moved aside when the daemon opens it
head -c $((1024 * 1024)) /dev/zero | tr '\0' x >"$LOG"
echo >>"$LOG"
efsfs_mount "$NAME" "$MNT"
if ! wait_until 10 grep -qF "$NAME: logging to $LOG (nothing listens on /dev/log)" "$LOG"; then
	fail "the daemon did not log to $LOG: $(tail -c 300 "$LOG" 2>&1)"
fi
pass "without syslog the daemon logs to DATA_DIR/efsfs.log"
assert_eq 600 "$(stat -c %a -- "$LOG")" "the log file is 0600"
assert_eq $((1024 * 1024 + 1)) "$(stat -c %s -- "$LOG.1")" "the full log was moved to efsfs.log.1"
if (($(stat -c %s -- "$LOG") > 4096)); then
	fail "the new log is $(stat -c %s -- "$LOG") bytes, expected a few lines"
fi
if ! grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z efsfs\[[0-9]+\]: info: $NAME: logging to" \
	"$LOG"; then
	fail "log lines lack the time, pid and level: $(cat "$LOG")"
fi
pass "log lines carry the UTC time, the pid and the level"

# ---- no line is lost while the daemon detaches ------------------------------------------------

# A thread of the daemon logs 3,000 numbered lines while the daemon moves
# from its stderr (the mount's output) to its log file, and the move waits
# 20 ms between its steps (EFSFS_TEST_DETACH_LINES): each line must be in one
# of the two.  Stderr used to go to /dev/null first, and the kernel's INIT,
# logged by a worker whenever it comes, was sometimes lost.
make_config detach
efsfs_mkfs detach
DLOG="${DATA_DIRS[detach]}/efsfs.log"
EFSFS_TEST_DETACH_LINES=3000 efsfs_mount detach "$TEST_TMP/mnt-detach"
wait_until 20 grep -qF "detach test line 3000 of 3000" "$DLOG" "$TEST_TMP/mount-detach.log" ||
	fail "the daemon's last test line did not come: $(tail -n 3 "$DLOG")"
assert_eq 3000 "$(grep -ohE 'detach test line [0-9]+ of 3000' "$DLOG" "$TEST_TMP/mount-detach.log" |
	sort -u | wc -l)" "every line logged while the daemon detached is in its output or its log"
assert_ok "the kernel's INIT is logged" grep -qF "detach: FUSE 7." "$DLOG" "$TEST_TMP/mount-detach.log"
efsfs_umount "$TEST_TMP/mnt-detach"

# ---- the last lifecycle pass ------------------------------------------------------------------

run "$EFSFS" lifecycle status "$NAME"
assert_eq "0 never" "$RC $(field last_pass)" "lifecycle status before any pass: last_pass never"

head -c $((300 * 1024)) /dev/urandom >"$TEST_TMP/a.ref"
cp -- "$TEST_TMP/a.ref" "$MNT/a"
BEFORE=$(date +%s)
run "$EFSFS" lifecycle run --as-of +31d "$NAME"
assert_eq "0 1" "$RC $(field chunks_to_ia)" "the pass moves the chunk of a 300 KiB file"
AS_OF=$(field as_of)
run "$EFSFS" lifecycle status "$NAME"
LAST=$(date -u -d "$(field last_pass)" +%s) || fail "last_pass is not a date: $OUT"
if ((LAST < BEFORE - 1 || LAST > $(date +%s))); then
	fail "last_pass $(field last_pass) is not the time of the pass just run"
fi
assert_eq "$(date -u -d "@$AS_OF" +%Y-%m-%dT%H:%M:%SZ)" "$(field last_pass_as_of)" \
	"lifecycle status: the last pass's as-of date"
assert_eq "1 0" "$(field last_pass_chunks_moved) $(field last_pass_chunks_failed)" \
	"lifecycle status: the last pass moved 1 chunk, none failed"
[[ "$(field last_pass_seconds)" =~ ^[0-9]+\.[0-9]{3}$ ]] ||
	fail "last_pass_seconds is '$(field last_pass_seconds)'"
pass "lifecycle status: how long the last pass took"

# a pass whose moves fail: the store's directory replaced by a file
mv -- "$DATA/objects" "$DATA/objects.saved"
: >"$DATA/objects"
head -c $((300 * 1024)) /dev/urandom >"$MNT/b"
run "$EFSFS" lifecycle run --as-of +31d "$NAME"
assert_eq "1 1" "$RC $(field chunks_failed)" "a pass with a broken store fails one chunk"
run "$EFSFS" lifecycle status "$NAME"
assert_eq "0 1" "$(field last_pass_chunks_moved) $(field last_pass_chunks_failed)" \
	"lifecycle status: the last pass moved none and failed 1"
FIRST_ERROR=$(field last_pass_first_error)
[[ "$FIRST_ERROR" == "inode "*" chunk 0: "* ]] ||
	fail "lifecycle status does not show the first error: $OUT"
pass "lifecycle status shows the first error: $FIRST_ERROR"
rm -f -- "$DATA/objects"
mv -- "$DATA/objects.saved" "$DATA/objects"

efsfs_umount "$MNT"
run "$EFSFS" lifecycle status "$NAME"
assert_eq "1 $FIRST_ERROR" "$(field last_pass_chunks_failed) $(field last_pass_first_error)" \
	"the last pass is remembered after umount"

# ---- a daemon's error goes to the log file --------------------------------------------------

# chunk objects only, not the store's claim (tier/owner.c)
mapfile -t OBJECTS < <(find "$DATA/objects" -type f ! -name claim)
assert_eq 1 "${#OBJECTS[@]}" "one object in the store (a's chunk)"
size=$(stat -c %s -- "${OBJECTS[0]}")
printf '\xff' | dd of="${OBJECTS[0]}" bs=1 seek=$((size - 20)) conv=notrunc status=none
efsfs_mount "$NAME" "$MNT"
drop_caches
rc=0
cat -- "$MNT/a" >/dev/null 2>"$TEST_TMP/cat.err" || rc=$?
if ((rc == 0)) || ! grep -q "Input/output error" "$TEST_TMP/cat.err"; then
	fail "reading a file whose object was damaged: cat exited $rc: $(cat "$TEST_TMP/cat.err")"
fi
pass "a damaged cold object reads as EIO"
if ! wait_until 10 grep -qE "efsfs\[[0-9]+\]: error: inode [0-9]+ chunk 0: reading cold data" \
	"$LOG"; then
	fail "the daemon's error is not in $LOG: $(tail -n 5 "$LOG")"
fi
pass "the daemon's error is in the log file: $(grep -m 1 'reading cold data' "$LOG")"
efsfs_umount "$MNT"

# ---- with a syslog on /dev/log the daemon logs there, not to the file ----------------------

# this namespace's /dev becomes an overlay, so that a listener of ours can
# bind /dev/log without touching the host's /dev
if mountpoint -q /dev/log; then
	umount /dev/log
fi
mkdir -p -- "$TEST_TMP/dev-up" "$TEST_TMP/dev-work"
mount -t overlay overlay -o "lowerdir=/dev,upperdir=$TEST_TMP/dev-up,workdir=$TEST_TMP/dev-work" \
	/dev || fail "cannot put an overlay over /dev in the test's namespace"
PY=$(command -v python3) || fail "python3 is missing (meson needs it too)"
"$PY" -c '
import os, socket, sys
try:
    os.unlink("/dev/log")
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[1] + ".ready", "w").close()
with open(sys.argv[1], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
' "$TEST_TMP/syslog.txt" &
SYSLOG_PID=$!
at_exit "kill $SYSLOG_PID 2>/dev/null"
wait_until 10 test -e "$TEST_TMP/syslog.txt.ready" || fail "the test's syslog listener did not start"
[[ -S /dev/log ]] || fail "/dev/log is not the test's socket"
LOG_LINES=$(wc -l <"$LOG")
efsfs_mount "$NAME" "$MNT"
drop_caches
cat -- "$MNT/a" >/dev/null 2>&1 && fail "the damaged file read without an error"
if ! wait_until 10 grep -qE "efsfs\[[0-9]+\]: inode [0-9]+ chunk 0: reading cold data" \
	"$TEST_TMP/syslog.txt"; then
	fail "the daemon's error did not reach syslog: $(tail -n 5 "$TEST_TMP/syslog.txt")"
fi
pass "with a syslog on /dev/log the daemon's error goes there"
efsfs_umount "$MNT"
assert_eq "$LOG_LINES" "$(wc -l <"$LOG")" "with a syslog nothing is added to the log file"

finish
