#!/bin/bash
# tests/mount/perms.sh - mount suite: who can reach a file system other than
# through the mount.  An unprivileged user (made here with useradd) must not
# read cold objects, meta.db, its -wal or data files; a data directory and a
# file:// store made beforehand with mode 0755 are tightened at mount (with a
# log line); one owned by another user, under a group-writable directory or
# reached through another user's symbolic link is refused; nothing inside the
# data directory is followed through a symbolic link; a key file readable by
# others or owned by another user is refused, a key beside its store is
# warned about; the control socket answers only root and the owner, and a
# silent client does not block another; the daemon keeps no inherited fd
# (`flock LOCK efsfs mount ...` leaves the lock free).
# Needs: EFSFS, EFSFS_SRC (tests/lib/s3rver.sh), root, /dev/fuse, useradd/userdel,
# setpriv, python3, flock, node and npm (for s3rver).

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
for tool in useradd userdel setpriv python3 flock; do
	command -v "$tool" >/dev/null || skip "$tool is missing"
done

sanitizer_to_files

USER_NAME=efsfs-perms
if ! id -u "$USER_NAME" >/dev/null 2>&1; then
	useradd --system --no-create-home --shell /usr/sbin/nologin "$USER_NAME" ||
		fail "useradd $USER_NAME"
	at_exit "userdel '$USER_NAME' 2>/dev/null"
fi
USER_UID=$(id -u "$USER_NAME")

# as_user CMD...: runs CMD as the unprivileged user (sanitizer reports, which
# it could not write to $TEST_TMP, on its stderr).
as_user()
{
	env -u ASAN_OPTIONS -u UBSAN_OPTIONS \
		setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --clear-groups -- "$@"
}

# The efsfs binary and the config must be reachable by the user.
[[ -x "$EFSFS" ]] && as_user test -x "$EFSFS" || skip "$USER_NAME cannot run $EFSFS"

NAME=perm
MNT="$TEST_TMP/mnt"
COLD="$TEST_TMP/cold"
make_config "$NAME" "ia_store = file://$COLD/%n/ia" "archive_store = file://$COLD/%n/archive" \
	"transition_to_ia = AFTER_1_DAY" "transition_to_archive = NONE" "chunk_size = 64K"
DATA=${DATA_DIRS[$NAME]}
CONF=$EFSFS_CONFIG
chmod 644 "$CONF"
LOG="$TEST_TMP/mount-$NAME.log"

mode_of()
{
	stat -c %a -- "$1"
}

# ---- 1. modes: made private at mkfs, tightened at mount -----------------------------

# Made beforehand with mkdir -p, as a user would: 0755.
(umask 022 && mkdir -p -- "$DATA" "$COLD/$NAME/ia")
efsfs_mkfs "$NAME"
assert_eq 700 "$(mode_of "$DATA")" "mkfs makes an existing 0755 data_dir 0700"
assert_eq 600 "$(mode_of "$DATA/meta.db")" "mkfs makes meta.db 0600"
assert_eq 700 "$(mode_of "$DATA/data")" "mkfs makes data/ 0700"
assert_eq 700 "$(mode_of "$DATA/data/ab")" "mkfs makes data/ab 0700"

# A data directory opened up again (an older efsfs, a chmod by hand).
chmod 755 -- "$DATA" "$DATA/data"
chmod 644 -- "$DATA/meta.db"
efsfs_mount "$NAME" "$MNT"
assert_eq 700 "$(mode_of "$DATA")" "mount tightens a 0755 data_dir to 0700"
assert_eq 600 "$(mode_of "$DATA/meta.db")" "mount tightens a 0644 meta.db to 0600"
assert_eq 700 "$(mode_of "$DATA/data")" "mount tightens a 0755 data/ to 0700"
assert_eq 700 "$(mode_of "$COLD/$NAME/ia")" "mount tightens a 0755 file:// store to 0700"
grep -q "$DATA: mode 0755 gave group or others access; tightened to 0700" "$LOG" ||
	fail "no log line about tightening $DATA: $(cat "$LOG")"
pass "mount logs the tightened data_dir"
grep -q "IA store: $COLD/$NAME/ia: mode 0755 gave group or others access" "$LOG" ||
	fail "no log line about tightening the IA store: $(cat "$LOG")"
pass "mount logs the tightened file:// store"

# A root file of mode 0600, made cold (in the IA store), and a hot one.
SECRET="$TEST_TMP/secret.ref"
{
	echo "TOP-SECRET-MARKER"
	head -c $((256 * 1024)) /dev/urandom
} >"$SECRET"
install -m 600 -- "$SECRET" "$MNT/cold-secret"
sync -- "$MNT/cold-secret"
out=$(timeout 300 "$EFSFS" lifecycle run --as-of +2d "$NAME" 2>&1) ||
	fail "lifecycle run: $out"
install -m 600 -- "$SECRET" "$MNT/hot-secret"     # after the pass: stays local
sync -- "$MNT/hot-secret"
OBJ=$(find "$COLD/$NAME/ia" -type f | head -n 1)
[[ -n "$OBJ" ]] || fail "no object in the IA store after the lifecycle pass: $out"
pass "the lifecycle pass put objects in the file:// store"
bad=$(find "$COLD/$NAME/ia" -type f ! -perm 600 -o -type d ! -perm 700 | head -n 3)
assert_eq "" "$bad" "objects are 0600 and their directories 0700"
[[ -e "$DATA/meta.db-wal" ]] || fail "no meta.db-wal while mounted"
assert_eq 600 "$(mode_of "$DATA/meta.db-wal")" "meta.db-wal is 0600"
if [[ -e "$DATA/meta.db-shm" ]]; then
	assert_eq 600 "$(mode_of "$DATA/meta.db-shm")" "meta.db-shm is 0600"
fi
INO=$(stat -c %i -- "$MNT/hot-secret")
DATAFILE=$(printf '%s/data/%02x/%016x' "$DATA" $((INO & 0xff)) "$INO")
[[ -f "$DATAFILE" ]] || fail "no backing file $DATAFILE"
assert_eq 600 "$(mode_of "$DATAFILE")" "a data file is 0600"
assert_eq 600 "$(mode_of "$DATA/lock")" "the lock file is 0600"

assert_fails "the user cannot read hot-secret through the mount" as_user cat -- "$MNT/hot-secret"
assert_fails "the user cannot read a cold object" as_user cat -- "$OBJ"
assert_fails "the user cannot read meta.db" as_user cat -- "$DATA/meta.db"
assert_fails "the user cannot read meta.db-wal" as_user cat -- "$DATA/meta.db-wal"
assert_fails "the user cannot read a data file" as_user cat -- "$DATAFILE"
assert_fails "the user cannot list the data directory" as_user ls -- "$DATA"
assert_fails "the user cannot list the store" as_user ls -- "$COLD/$NAME/ia"
assert_same_file "$SECRET" "$MNT/cold-secret" "root still reads the cold file"

# ---- 4. the control socket ------------------------------------------------------------

SOCK="$DATA/control.sock"
[[ -S "$SOCK" ]] || fail "no control socket $SOCK"
assert_eq 600 "$(mode_of "$SOCK")" "the control socket is 0600"

# A client that connects and sends nothing must not hold up another one.
FIFO="$TEST_TMP/silent.fifo"
mkfifo -- "$FIFO"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
print("connected", flush=True)
sys.stdin.read()          # silent until the test closes the fifo
' "$SOCK" <"$FIFO" >"$TEST_TMP/silent.out" 2>&1 &
SILENT=$!
exec 8>"$FIFO"            # keeps the client's stdin open
at_exit "kill $SILENT 2>/dev/null"
wait_until 10 grep -q connected "$TEST_TMP/silent.out" ||
	fail "the silent client did not connect: $(cat "$TEST_TMP/silent.out")"
rc=0
out=$(timeout 8 "$EFSFS" stats "$NAME" 2>&1) || rc=$?
assert_eq 0 "$rc" "efsfs stats answers while a silent client is connected"
[[ "$out" == *"FileSystemId: $FS_ID"* ]] || fail "efsfs stats printed: $out"
pass "efsfs stats printed the file system's stats"
exec 8>&-
wait "$SILENT" 2>/dev/null || true

# Another user is refused by the daemon, even when the modes would let it in.
chmod 755 -- "$DATA"
chmod 666 -- "$SOCK"
rc=0
out=$(as_user "$EFSFS" --config "$CONF" stats "$NAME" 2>&1) || rc=$?
chmod 700 -- "$DATA"
chmod 600 -- "$SOCK"
((rc != 0)) || fail "uid $USER_UID got stats from the control socket: $out"
[[ "$out" != *FileSystemId* ]] || fail "uid $USER_UID was shown the stats: $out"
[[ "$out" == *"permission denied: uid $USER_UID may not control this file system"* ]] ||
	fail "no refusal from the daemon for uid $USER_UID: $out"
pass "the control socket refuses uid $USER_UID (SO_PEERCRED), whatever the socket mode"

# A moment without free descriptors (EMFILE on accept) does not end the
# serving: the accept thread left its loop at the first such error, and every
# later client hung in the listen backlog.
DPID=${MOUNT_PIDS[$(canon "$MNT")]}
NOFILE=$(prlimit --pid "$DPID" --nofile --output SOFT,HARD --noheadings | awk '{print $1":"$2}')
# the soft limit at the lowest free descriptor number: no new one can be had
LOWEST=0
while [[ -e /proc/$DPID/fd/$LOWEST ]]; do LOWEST=$((LOWEST + 1)); done
prlimit --pid "$DPID" --nofile="$LOWEST:${NOFILE#*:}"
# a blocked accept4 holds the descriptor it will return: the first client
# is served, the second finds none
timeout 3 "$EFSFS" stats "$NAME" >/dev/null 2>&1 || true
rc=0
timeout 3 "$EFSFS" stats "$NAME" >/dev/null 2>&1 || rc=$?
prlimit --pid "$DPID" --nofile="$NOFILE"
((rc != 0)) || fail "stats answered with no descriptor free: the check did not run out of them"
rc=0
out=$(timeout 10 "$EFSFS" stats "$NAME" 2>&1) || rc=$?
assert_eq 0 "$rc" "efsfs stats answers again once the daemon has descriptors ($out)"
[[ "$out" == *"FileSystemId: $FS_ID"* ]] || fail "efsfs stats after EMFILE printed: $out"

# ---- 5. no inherited descriptor in the daemon -----------------------------------------

efsfs_umount "$MNT"
LOCKF="$TEST_TMP/mount.lock"
FD7="$TEST_TMP/fd7"
: >"$LOCKF"
echo "mount: flock $LOCKF $EFSFS mount $NAME $MNT 7>$FD7" >>"$LOG"
timeout 120 flock "$LOCKF" "$EFSFS" mount "$NAME" "$MNT" 7>"$FD7" >>"$LOG" 2>&1 </dev/null ||
	fail "flock ... efsfs mount failed: $(tail -n 5 "$LOG")"
efsfs_adopt_mount "$NAME" "$MNT"
PID=${MOUNT_PIDS[$(canon "$MNT")]}
assert_ok "the lock taken around 'efsfs mount' is free once it returned" \
	flock -n "$LOCKF" true

# curl_socketpair PID socket:[INODE]: an unnamed AF_UNIX socket of PID.  The
# one fd the daemon does not make itself: libcurl (7.88) makes its wake-up
# socketpair without SOCK_CLOEXEC, and no option reaches it.  (The only
# program the daemon runs is fusermount3, when it is not root.)
curl_socketpair()
{
	local ino=${2#socket:[}
	ino=${ino%]}
	[[ "$2" == socket:* ]] &&
		awk -v i="$ino" '$7 == i && NF == 7 { f = 1 } END { exit !f }' "/proc/$1/net/unix"
}

# check_daemon_fds PID: no fd of PID names LOCKF or FD7, and every fd above
# stderr is close-on-exec; the socket inodes it saw go to SOCKS.
check_daemon_fds()
{
	local fd n target flags
	SOCKS=()
	for fd in /proc/"$1"/fd/*; do
		n=${fd##*/}
		target=$(readlink -- "$fd" || true)
		[[ "$target" != "$LOCKF" && "$target" != "$FD7" ]] ||
			fail "daemon $1 holds inherited fd $n -> $target"
		((n > 2)) || continue
		flags=$(awk '$1 == "flags:" { print $2 }' "/proc/$1/fdinfo/$n" 2>/dev/null || true)
		[[ -z "$flags" ]] && continue                  # closed meanwhile
		if ! ((8#$flags & 02000000)) && ! curl_socketpair "$1" "$target"; then
			fail "daemon fd $n ($target) is not O_CLOEXEC (flags $flags)"
		fi
		if [[ "$target" =~ ^socket:\[([0-9]+)\]$ ]]; then
			SOCKS+=("${BASH_REMATCH[1]}")
		fi
	done
}
check_daemon_fds "$PID"
pass "the daemon holds no inherited fd, and each of its own is O_CLOEXEC"
efsfs_umount "$MNT"

# The same with an s3:// store, once the daemon holds libcurl's connection.
s3rver_setup
S3DIR="$TEST_TMP/s3"
s3rver_pick_port
mkdir -p -- "$S3DIR"
at_exit "EFSFS_SRC='$EFSFS_SRC' bash '$S3RVER_SH' stop '$S3DIR'"
EFSFS_SRC="$EFSFS_SRC" bash "$S3RVER_SH" start "$S3DIR" "$S3PORT" efsfs-perms ||
	fail "cannot start s3rver on 127.0.0.1:$S3PORT (log: $S3DIR/s3rver.log)"
make_config perms3 "chunk_size = 64K" "transition_to_ia = AFTER_1_DAY" \
	"transition_to_archive = NONE" "ia_store = s3://efsfs-perms/cold" \
	"s3_endpoint = http://127.0.0.1:$S3PORT" "s3_url_style = path"
efsfs_mkfs perms3
efsfs_mount perms3 "$TEST_TMP/mnt-s3"
cp -- "$SECRET" "$TEST_TMP/mnt-s3/f"
sync -- "$TEST_TMP/mnt-s3/f"
out=$(timeout 300 "$EFSFS" lifecycle run --as-of +2d perms3 2>&1) || fail "lifecycle run: $out"
[[ "$out" == *"chunks_to_ia: 5"* ]] || fail "the lifecycle pass moved no chunk to S3: $out"
PID=${MOUNT_PIDS[$(canon "$TEST_TMP/mnt-s3")]}
check_daemon_fds "$PID"
hexport=$(printf '%04X' "$S3PORT")
tcp=0
for ino in "${SOCKS[@]}"; do
	if awk -v i="$ino" -v p=":$hexport" '$10 == i && substr($3, length($3) - 4) == p { f = 1 }
		END { exit !f }' "/proc/$PID/net/tcp"; then
		tcp=1
	fi
done
((tcp)) || fail "the daemon holds no connection to s3rver to check (sockets: ${SOCKS[*]})"
pass "the daemon's S3 connection is O_CLOEXEC too"
efsfs_umount "$TEST_TMP/mnt-s3"

# ---- 2. symbolic links and owners along the path --------------------------------------

# A backing file replaced by a symbolic link to a file outside: never followed.
OUTSIDE="$TEST_TMP/outside"
echo "OUTSIDE-CONTENT" >"$OUTSIDE"
ln -sf -- "$OUTSIDE" "$DATAFILE"
efsfs_mount "$NAME" "$MNT"
rc=0
out=$(cat -- "$MNT/hot-secret" 2>&1) || rc=$?
((rc != 0)) || fail "reading a file whose backing file is a symbolic link succeeded: $out"
[[ "$out" != *OUTSIDE-CONTENT* ]] || fail "the mount showed the symlink target's content"
pass "a backing file that is a symbolic link is not followed"
{ echo overwrite >"$MNT/hot-secret"; } 2>/dev/null || true
sync -- "$MNT" 2>/dev/null || true
assert_eq "OUTSIDE-CONTENT" "$(cat -- "$OUTSIDE")" "writing it does not reach the target"
efsfs_umount "$MNT"
rm -f -- "$DATAFILE"

# data/XX replaced by a symbolic link: refused at mount, naming it.
mv -- "$DATA/data/ab" "$TEST_TMP/ab.real"
ln -s -- "$TEST_TMP/ab.real" "$DATA/data/ab"
rc=0
out=$(timeout 60 "$EFSFS" mount "$NAME" "$MNT" 2>&1 </dev/null) || rc=$?
((rc != 0)) || { efsfs_adopt_mount "$NAME" "$MNT"; fail "mounted with data/ab a symlink"; }
[[ "$out" == *"$DATA/data/ab: a symbolic link"* ]] || fail "unclear refusal: $out"
pass "mount refuses a symbolic link inside the data directory, naming it"
rm -- "$DATA/data/ab"
mv -- "$TEST_TMP/ab.real" "$DATA/data/ab"

# mount_refused MSG PATTERN: mount must fail, its message containing PATTERN.
mount_refused()
{
	local rc=0 out
	out=$(timeout 60 "$EFSFS" mount "$NAME" "$MNT" 2>&1 </dev/null) || rc=$?
	if ((rc == 0)); then
		efsfs_adopt_mount "$NAME" "$MNT"
		fail "$1: the mount succeeded"
	fi
	[[ "$out" == *"$2"* ]] || fail "$1: the message does not say '$2': $out"
	pass "$1"
}

chown "$USER_NAME" -- "$DATA"
mount_refused "a data_dir owned by another user is refused" \
	"$DATA: owned by uid $USER_UID, not by the user efsfs runs as (uid 0)"
chown root -- "$DATA"
chown "$USER_NAME" -- "$COLD/$NAME/ia"
mount_refused "a file:// store owned by another user is refused" \
	"$COLD/$NAME/ia: owned by uid $USER_UID, not by the user efsfs runs as (uid 0)"
chown root -- "$COLD/$NAME/ia"
chmod 775 -- "$TEST_TMP/data"
mount_refused "a data_dir below a group-writable directory is refused" \
	"$TEST_TMP/data: mode 0775 lets group or others replace what lies below it"
chmod 755 -- "$TEST_TMP/data"
chown "$USER_NAME" -- "$TEST_TMP/data"
mount_refused "a data_dir below another user's directory is refused" \
	"$TEST_TMP/data: owned by uid $USER_UID"
chown root -- "$TEST_TMP/data"

# data_dir reached through a symbolic link: followed when root owns it,
# refused when another user does.
ln -s -- "$DATA" "$TEST_TMP/via-link"
LINKCONF="$TEST_TMP/link.conf"
printf '[%s]\ndata_dir = %s\nia_store = file://%s/%%n/ia\narchive_store = file://%s/%%n/archive\n' \
	"$NAME" "$TEST_TMP/via-link" "$COLD" "$COLD" >"$LINKCONF"
assert_ok "a data_dir through root's symbolic link is accepted" \
	timeout 60 "$EFSFS" --config "$LINKCONF" info "$NAME"
chown -h "$USER_NAME" -- "$TEST_TMP/via-link"
rc=0
out=$(timeout 60 "$EFSFS" --config "$LINKCONF" info "$NAME" 2>&1) || rc=$?
((rc != 0)) || fail "info went through uid $USER_UID's symbolic link: $out"
[[ "$out" == *"$TEST_TMP/via-link: a symbolic link owned by uid $USER_UID"* ]] ||
	fail "unclear refusal of the symbolic link: $out"
pass "a data_dir through another user's symbolic link is refused"

# ---- 3. the key file --------------------------------------------------------------------

ENC=enc
make_config "$ENC" "encrypted = true" "chunk_size = 64K"
EDATA=${DATA_DIRS[$ENC]}
rc=0
out=$(timeout 120 "$EFSFS" mkfs "$ENC" 2>&1) || rc=$?
assert_eq 0 "$rc" "mkfs of an encrypted file system"
[[ "$out" == *"cold chunk objects (IA and Archive) are encrypted"*"local data and metadata"*"are not"* ]] ||
	fail "mkfs does not say what is encrypted: $out"
pass "mkfs says exactly what is encrypted"
[[ "$out" == *"warning: key_file $EDATA/key lies in the same directory tree as the store file://$EDATA/objects"* ]] ||
	fail "mkfs does not warn about the key beside its store: $out"
pass "mkfs warns about the key beside the store it protects"
assert_eq 600 "$(mode_of "$EDATA/key")" "the key file is 0600"
efsfs_mount "$ENC" "$TEST_TMP/mnt-enc"
grep -q "$ENC: key_file $EDATA/key lies in the same directory tree" "$TEST_TMP/mount-$ENC.log" ||
	fail "no warning at mount about the key beside its store: $(cat "$TEST_TMP/mount-$ENC.log")"
pass "mount logs the key beside its store"
efsfs_umount "$TEST_TMP/mnt-enc"

NAME=$ENC
chmod 644 -- "$EDATA/key"
mount_refused "a key file readable by others is refused" \
	"key_file $EDATA/key: mode 0644 lets group or others read or replace the key"
chmod 600 -- "$EDATA/key"
chown "$USER_NAME" -- "$EDATA/key"
mount_refused "a key file owned by another user is refused" \
	"key_file $EDATA/key: owned by uid $USER_UID, not by the user efsfs runs as (uid 0)"
chown root -- "$EDATA/key"

# A key kept apart from the store: no warning.
mkdir -m 700 -- "$TEST_TMP/keys"
make_config enc2 "encrypted = true" "key_file = $TEST_TMP/keys/%n.key"
out=$(timeout 120 "$EFSFS" mkfs enc2 2>&1) || fail "mkfs enc2: $out"
[[ "$out" != *warning* ]] || fail "mkfs warned about a key kept apart: $out"
pass "no warning for a key kept apart from its store"

assert_no_sanitizer_report

finish
