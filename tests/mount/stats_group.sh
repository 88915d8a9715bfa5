#!/bin/bash
# tests/mount/stats_group.sh - mount suite: `stats_group = GROUP` gives the
# group's members `efsfs stats` and `efsfs metrics get` through the
# read-only stats socket (STATS_DIR/NAME/stats.sock, root:GROUP 0660 in a
# root:GROUP 0750 directory) while the data directory and its control
# socket stay root's and the owner's.  A member reads stats, stats --json
# and metrics get; a user not in the group cannot, with a clear message;
# neither can run `efsfs lifecycle run`, `efsfs info` or any other control
# command, not even by writing the request to the stats socket itself; a
# process that reaches the socket with the group only as an extra gid
# setpriv gave it (not its user's group) is refused by the SO_PEERCRED
# check.  The socket and its directory go with the unmount; a stats_group
# that names no group fails the mount naming it.
# Needs: EFSFS, root, /dev/fuse, useradd/userdel, groupadd/groupdel,
# setpriv, python3.  Adds users and a group: run under
# /tmp/efsfs-systest.lock (`flock /tmp/efsfs-systest.lock meson test -C build stats_group`).

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
for tool in useradd userdel groupadd groupdel setpriv python3; do
	command -v "$tool" >/dev/null || skip "$tool is missing"
done

GROUP=efsfs-statsg
IN=efsfs-stin
OUT=efsfs-stout
if ! getent group "$GROUP" >/dev/null; then
	groupadd --system "$GROUP" || fail "groupadd $GROUP"
	at_exit "groupdel '$GROUP' 2>/dev/null"
fi
for u in "$IN" "$OUT"; do
	if ! id -u "$u" >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$u" ||
			fail "useradd $u"
		# at_exit runs the newest first: the users go before the group
		at_exit "userdel '$u' 2>/dev/null"
	fi
done
usermod -a -G "$GROUP" "$IN" || fail "usermod -G $GROUP $IN"
GID=$(getent group "$GROUP" | cut -d: -f3)

# as USER CMD...: runs CMD as USER with its groups from /etc/group.
as()
{
	local u=$1
	shift
	env -u ASAN_OPTIONS -u UBSAN_OPTIONS \
		setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"
}

NAME=sg
MNT="$TEST_TMP/mnt"
RUN="$TEST_TMP/run"
make_config "$NAME" "stats_group = $GROUP" "stats_dir = $RUN"
chmod 644 "$EFSFS_CONFIG"
efsfs_mkfs "$NAME"
efsfs_mount "$NAME" "$MNT"
head -c 1048576 /dev/urandom >"$MNT/f"
sync "$MNT/f"

DIR="$RUN/$NAME"
SOCK="$DIR/stats.sock"
assert_eq "root $GROUP 750 directory" "$(stat -c '%U %G %a %F' -- "$DIR")" \
	"the stats socket's directory is root:$GROUP 0750"
assert_eq "root $GROUP 660 socket" "$(stat -c '%U %G %a %F' -- "$SOCK")" \
	"the stats socket is root:$GROUP 0660"
assert_eq "700" "$(stat -c %a -- "${DATA_DIRS[$NAME]}")" "the data directory stays 0700"

# ---- a member of the group ------------------------------------------------------------
out=$(as "$IN" "$EFSFS" stats "$NAME" 2>&1) || fail "$IN: efsfs stats $NAME: $out"
grep -q '^StorageBytes{StorageClass=Standard}: 1048576$' <<<"$out" ||
	fail "$IN: stats without the 1 MiB written in StorageBytes: $out"
grep -q '^ClientConnections: 1' <<<"$out" || fail "$IN: stats without ClientConnections 1: $out"
pass "a member of $GROUP reads efsfs stats of the mounted file system"
out=$(as "$IN" "$EFSFS" stats --json "$NAME" 2>&1) || fail "$IN: efsfs stats --json: $out"
python3 -c 'import json, sys; json.load(sys.stdin)' <<<"$out" ||
	fail "$IN: stats --json is not JSON: $out"
pass "a member of $GROUP reads efsfs stats --json"
t0=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
t1=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
out=$(as "$IN" "$EFSFS" metrics get "$NAME" --metric-name DataWriteIOBytes --start-time "$t0" \
	--end-time "$t1" --period 7200 --statistics Sum 2>&1) || fail "$IN: metrics get: $out"
python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["Label"] == "DataWriteIOBytes"' \
	<<<"$out" || fail "$IN: metrics get printed no AWS-style JSON: $out"
pass "a member of $GROUP runs efsfs metrics get"

# ---- control commands stay root's and the owner's ------------------------------------
for u in "$IN" "$OUT"; do
	out=$(as "$u" "$EFSFS" lifecycle run "$NAME" 2>&1) && fail "$u ran lifecycle run: $out"
	grep -q 'permission denied' <<<"$out" || fail "$u: lifecycle run: unclear error: $out"
	pass "$u cannot run efsfs lifecycle run ($out)"
	out=$(as "$u" "$EFSFS" info "$NAME" 2>&1) && fail "$u ran efsfs info: $out"
	grep -q 'permission denied' <<<"$out" || fail "$u: info: unclear error: $out"
	pass "$u cannot run efsfs info"
done
# the request written to the stats socket itself
# request SOCK LINE: the stats socket's answer to LINE (tab-separated words);
# the users run it, so a python3 they can run ($PY: not one under /root)
PY=$(command -v python3)
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
export PY
request()
{
	"$PY" - "$1" "$2" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect: " + e.strerror)
    sys.exit(0)
out = b""
try:
    # a refused peer is answered and closed at once: a reset may follow
    s.sendall(sys.argv[2].encode() + b"\n")
except OSError:
    pass
while True:
    try:
        b = s.recv(65536)
    except OSError:
        break
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
EOF
}
for line in $'run\tnow' gc info status $'meter-advance\t60' $'attach\tx' \
	$'access-point\tcreate\t--file-system-id\tx'; do
	out=$(as "$IN" bash -c "$(declare -f request); request \"\$1\" \"\$2\"" sh "$SOCK" "$line")
	grep -q "serves only 'efsfs stats' and 'efsfs metrics get'" <<<"$out" ||
		fail "the stats socket answered '${line//$'\t'/ }' with: $out"
	grep -q '^exit 1$' <<<"$out" || fail "the stats socket's refusal of '$line' is not exit 1: $out"
done
pass "the stats socket refuses every control command (run, gc, info, status, attach, ...)"

# ---- a user outside the group -------------------------------------------------------
out=$(as "$OUT" "$EFSFS" stats "$NAME" 2>&1) && fail "$OUT read stats: $out"
grep -q 'permission denied' <<<"$out" && grep -q 'stats_group' <<<"$out" ||
	fail "$OUT: stats: unclear error: $out"
pass "a user not in $GROUP cannot read efsfs stats ($out)"
out=$(as "$OUT" "$EFSFS" metrics get "$NAME" --metric-name DataWriteIOBytes --start-time "$t0" \
	--end-time "$t1" --period 7200 --statistics Sum 2>&1) && fail "$OUT ran metrics get: $out"
grep -q 'permission denied' <<<"$out" || fail "$OUT: metrics get: unclear error: $out"
pass "a user not in $GROUP cannot run efsfs metrics get"
# through the file modes with a gid its user does not have: SO_PEERCRED says no
out=$(env -u ASAN_OPTIONS -u UBSAN_OPTIONS setpriv --reuid="$OUT" --regid="$OUT" \
	--groups="$GID" -- bash -c "$(declare -f request); request \"\$1\" stats" sh "$SOCK")
grep -q "permission denied: uid $(id -u "$OUT") may not read" <<<"$out" ||
	fail "a process of $OUT with gid $GID only as an extra group was not refused: $out"
pass "the stats socket checks the peer's user's groups (SO_PEERCRED), not the file mode alone"

# ---- root and the owner still use the control socket ---------------------------------
out=$("$EFSFS" stats "$NAME" 2>&1) || fail "root: efsfs stats: $out"
grep -q '^ClientConnections: 1' <<<"$out" || fail "root: stats: $out"
pass "root reads stats through the control socket"

efsfs_umount "$MNT"
[[ ! -e "$SOCK" && ! -e "$DIR" ]] || fail "the stats socket or its directory is left: $(ls -la "$RUN")"
pass "the stats socket and its directory go with the unmount"

# ---- a group that does not exist --------------------------------------------------------
make_config "$NAME" "stats_group = efsfs-no-such-group" "stats_dir = $RUN"
rc=0
out=$(timeout 120 "$EFSFS" mount "$NAME" "$MNT" 2>&1) || rc=$?
((rc != 0)) || { efsfs_adopt_mount "$NAME" "$MNT"; fail "mounted with a stats_group that is no group"; }
grep -q 'stats_group = efsfs-no-such-group: no such group' <<<"$out" ||
	fail "a stats_group that is no group: unclear error: $out"
pass "a stats_group that names no group fails the mount, naming it"
is_not_mounted "$MNT" || fail "a mount is left at $MNT"
finish
