#!/bin/bash
# tests/mount/help.sh - mount suite: what the command line tells its user:
# `efsfs help`, every command's --help, the version, the man pages (every
# command and option of `efsfs help` is in efsfs(8), the pages render
# without warnings), the messages for an empty meta.db and a subdirectory
# mount, and where the configuration comes from for an unprivileged user
# whose /etc/efsfs/efsfs.conf is root-only.
#
# The /etc/efsfs of those checks is a private one: the commands run in a
# mount namespace (unshare -m) with an overlay over /etc, so the host's /etc
# is never changed (useradd adds one test user, removed on exit).
# Needs: EFSFS (EFSFS_MAN8: the efsfs.8 the build made; default beside
# EFSFS), root, groff (groff-base), unshare and setpriv (util-linux).

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
MAN8="${EFSFS_MAN8:-$(dirname -- "$EFSFS")/efsfs.8}"
SRC=${EFSFS_SRC:?EFSFS_SRC must name the source tree}

# expect_help MSG CMD: the last run exited 0, printed "usage: efsfs CMD" first
# on stdout and nothing on stderr.
expect_help()
{
	if ((RC != 0)); then
		fail "$1: exited $RC (stderr: $ERR)"
	fi
	if [[ "$(head -n 1 <<<"$OUT")" != "usage: efsfs $2"* ]]; then
		fail "$1: stdout does not start with 'usage: efsfs $2': $OUT"
	fi
	if [[ -n "$ERR" ]]; then
		fail "$1: wrote to stderr: $ERR"
	fi
	pass "$1"
}

# ---- efsfs help and every command's --help ------------------------------------------------

run "$EFSFS" help
if ((RC != 0)) || [[ "$OUT" != *"Commands:"* ]]; then
	fail "efsfs help exited $RC: $OUT $ERR"
fi
pass "efsfs help lists the commands"
HELP=$OUT
run "$EFSFS" --help
assert_eq "$HELP" "$OUT" "efsfs --help prints what efsfs help prints"

# The commands: the lines after "Commands:" up to the blank line, each
# "  WORD [WORD] ARGS" in 26 columns, then the summary; a command's words
# are lowercase, its arguments not.
mapfile -t COMMANDS < <(awk '/^Commands:/ { on = 1; next } on && /^$/ { exit }
	on { n = split(substr($0, 3, 26), w, " "); c = w[1]
	     if (n > 1 && w[2] ~ /^[a-z]+$/) c = c " " w[2]; print c }' <<<"$HELP")
if ((${#COMMANDS[@]} < 9)); then
	fail "efsfs help lists only ${#COMMANDS[@]} commands: $HELP"
fi
for want in mkfs mount fsck info stats "lifecycle run" "lifecycle status" gc help version; do
	found=0
	for c in "${COMMANDS[@]}"; do
		[[ "$c" == "$want" ]] && found=1
	done
	((found)) || fail "efsfs help does not list '$want': $HELP"
done
pass "efsfs help lists all ${#COMMANDS[@]} commands"

[[ -f "$MAN8" ]] || fail "the build made no $MAN8"
MANTEXT=$(groff -man -Tascii -P-cbou -rLL=200n "$MAN8")
for c in "${COMMANDS[@]}"; do
	# shellcheck disable=SC2086 # the command's words are separate arguments
	run "$EFSFS" $c --help
	expect_help "efsfs $c --help" "$c"
	CMD_HELP=$OUT
	# shellcheck disable=SC2086
	run "$EFSFS" help $c
	expect_help "efsfs help $c" "$c"
	assert_eq "$CMD_HELP" "$OUT" "efsfs help $c prints what efsfs $c --help prints"
	# shellcheck disable=SC2086
	run "$EFSFS" $c -h
	expect_help "efsfs $c -h" "$c"
	if ! grep -qF -- "efsfs $c" <<<"$MANTEXT"; then
		fail "efsfs.8 does not describe 'efsfs $c'"
	fi
	# every option of the command's help ("-c, --chunk-size SIZE" or
	# "--man TEMPLATE") is in efsfs.8 the same way
	while read -r opt; do
		[[ "$opt" == "-h, --help" ]] && continue
		if ! grep -qF -- "$opt" <<<"$MANTEXT"; then
			fail "efsfs.8 lacks option '$opt' of efsfs $c"
		fi
	done < <(sed -n 's/^  \(\(-[A-Za-z], \)\{0,1\}--[a-z-]*\( [A-Z]*\)\{0,1\}\).*/\1/p;
		s/^      \(--[a-z-]*\( [A-Z]*\)\{0,1\}\).*/\1/p' <<<"$CMD_HELP" | sed 's/ *$//')
	pass "efsfs.8 has 'efsfs $c' and each of its options"
done

run "$EFSFS" lifecycle --help
if ((RC != 0)) || [[ "$OUT" != *"usage: efsfs lifecycle run"* ||
	"$OUT" != *"usage: efsfs lifecycle status"* ]]; then
	fail "efsfs lifecycle --help exited $RC: $OUT $ERR"
fi
pass "efsfs lifecycle --help shows run and status"
run "$EFSFS" help no-such-command
if ((RC != 2)) || [[ "$ERR" != *"unknown command 'no-such-command'"* ]]; then
	fail "efsfs help no-such-command exited $RC: $ERR"
fi
pass "efsfs help of an unknown command exits 2 and says so"
run "$EFSFS" mkfs --no-such-option x
if ((RC != 2)) || [[ "$ERR" != *"efsfs mkfs: unrecognized option '--no-such-option'"* ||
	"$ERR" != *"usage: efsfs mkfs"* ]]; then
	fail "efsfs mkfs --no-such-option exited $RC: $ERR"
fi
pass "an unknown option names the command and shows its usage"

VERSION=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$SRC/meson.build")
[[ -n "$VERSION" ]] || fail "no version in $SRC/meson.build"
for v in -V --version version; do
	run "$EFSFS" "$v"
	assert_eq "0 efsfs $VERSION" "$RC $OUT" "efsfs $v prints the version"
done

# ---- messages: an empty meta.db, a missing subdirectory -------------------------------------

make_config empty
efsfs_mkfs empty
DB="${DATA_DIRS[empty]}/meta.db"
rm -f -- "$DB-wal" "$DB-shm"
: >"$DB"
run "$EFSFS" info empty
if ((RC == 0)) || [[ "$ERR" != *"$DB: not an efsfs metadata database (the file is empty"* ]]; then
	fail "efsfs info on an empty meta.db exited $RC: $ERR"
fi
if [[ "$ERR" == *"schema version"* ]]; then
	fail "the message for an empty meta.db still talks of a schema version: $ERR"
fi
pass "an empty meta.db is 'not an efsfs metadata database'"
assert_eq 0 "$(stat -c %s -- "$DB")" "opening the empty meta.db left it empty"

make_config sub
efsfs_mkfs sub
MNT="$TEST_TMP/mnt"
mkdir -p -- "$MNT" "$TEST_TMP/bin"
# mount(8) runs /sbin/mount.efsfs SOURCE DIR -o OPTIONS with the source as written
ln -s -- "$(realpath -- "$EFSFS")" "$TEST_TMP/bin/mount.efsfs"
for cmd in "$TEST_TMP/bin/mount.efsfs sub:/some/dir $MNT -o rw" "$EFSFS mount sub:/some/dir $MNT"; do
	# shellcheck disable=SC2086 # the words of the command line
	run $cmd
	if ((RC == 0)) || [[ "$ERR" != *"sub: subdirectory /some/dir: /some does not exist"* ]]; then
		fail "'$cmd' exited $RC without saying the subdirectory is missing: $ERR"
	fi
	if [[ "$ERR" == *"$EFSFS_CONFIG"* || "$ERR" == *"invalid file system name"* ]]; then
		fail "'$cmd' blames the configuration: $ERR"
	fi
	is_not_mounted "$MNT" || fail "'$cmd' mounted something on $MNT"
	pass "$(basename -- "${cmd%% *}"): NAME:/missing is refused, naming the missing directory"
done

# ---- a user's own configuration and a root-only /etc/efsfs/efsfs.conf ----------------------

# in_ns CMD...: runs CMD in a private mount namespace whose /etc is an
# overlay of the real one (changes land in $TEST_TMP/etc-upper, for every
# in_ns call, and never in the real /etc).
ETC_UP="$TEST_TMP/etc-upper"
ETC_WORK="$TEST_TMP/etc-work"
mkdir -p -- "$ETC_UP" "$ETC_WORK"
IN_NS="$TEST_TMP/bin/in_ns"
mkdir -p -- "$TEST_TMP/bin"
cat >"$IN_NS" <<'EOS'
#!/bin/bash
# in_ns UPPER WORK CMD...
up=$1 work=$2
shift 2
exec unshare -m --propagation private bash -c 'mount -t overlay overlay \
	-o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc && shift 2 && exec "$@"' \
	in_ns "$up" "$work" "$@"
EOS
chmod 755 -- "$IN_NS"
in_ns()
{
	"$IN_NS" "$ETC_UP" "$ETC_WORK" "$@"
}

TUSER=efsfs-t-cli
THOME="$TEST_TMP/home"
if id -u "$TUSER" >/dev/null 2>&1; then
	userdel -- "$TUSER" || fail "cannot remove the user $TUSER left by an earlier run"
fi
useradd --no-create-home --home-dir "$THOME" --shell /usr/sbin/nologin --user-group -- "$TUSER" ||
	fail "useradd $TUSER failed"
at_exit "userdel -- $TUSER"
mkdir -p -- "$THOME"
chown -- "$TUSER:$TUSER" "$THOME"
install -m 755 -- "$EFSFS" "$TEST_TMP/bin/efsfs"
# "${AS_USER[@]}" CMD...: CMD as $TUSER with a clean environment (no EFSFS_CONFIG)
AS_USER=(setpriv --reuid="$TUSER" --regid="$TUSER" --init-groups
	env -i HOME="$THOME" PATH=/usr/bin:/bin)

SYS_DATA="$TEST_TMP/sys-data"
in_ns sh -c "mkdir -p /etc/efsfs && printf '[shared]\ndata_dir = $SYS_DATA/%%n\n\
s3_access_key_id = AKIDEXAMPLE\ns3_secret_access_key = secret\n' >/etc/efsfs/efsfs.conf &&
	chmod 600 /etc/efsfs/efsfs.conf"
if [[ -e /etc/efsfs/efsfs.conf && "$(stat -c %i /etc/efsfs/efsfs.conf)" == \
	"$(stat -c %i "$ETC_UP/efsfs/efsfs.conf")" ]]; then
	fail "the private /etc/efsfs reached the real /etc"
fi
run "$IN_NS" "$ETC_UP" "$ETC_WORK" "${AS_USER[@]}" "$TEST_TMP/bin/efsfs" info shared
if [[ "$ERR" != *"/etc/efsfs/efsfs.conf: Permission denied"* ]]; then
	fail "the test user can read the root-only /etc/efsfs/efsfs.conf: $RC $ERR"
fi
pass "the private /etc/efsfs/efsfs.conf is root-only"

# root still reads the system file
env -u EFSFS_CONFIG HOME="$TEST_TMP/root-home" "$IN_NS" "$ETC_UP" "$ETC_WORK" "$EFSFS" mkfs shared >"$TEST_TMP/root-mkfs.log" 2>&1 ||
	fail "root cannot mkfs [shared] of the system file"
[[ -f "$SYS_DATA/shared/meta.db" ]] || fail "root's mkfs shared did not use /etc's data_dir"
pass "root reads [shared] from /etc/efsfs/efsfs.conf"

# a user without a file of their own: the system file is skipped with a
# warning, and their file system gets the embedded defaults (data in ~)
run "$IN_NS" "$ETC_UP" "$ETC_WORK" "${AS_USER[@]}" "$TEST_TMP/bin/efsfs" mkfs solo
if ((RC != 0)); then
	fail "mkfs as a user with a root-only system file exited $RC: $ERR"
fi
if [[ "$ERR" != *"warning: /etc/efsfs/efsfs.conf: Permission denied; skipped it: file system 'solo' gets the embedded defaults"* ]]; then
	fail "mkfs as a user did not warn that the system file was skipped: $ERR"
fi
[[ -f "$THOME/.local/share/efsfs/solo/meta.db" ]] ||
	fail "the user's mkfs solo did not create ~/.local/share/efsfs/solo"
pass "a root-only system file is skipped with a warning; the user's file system works"

# the user's own file stands alone for the file systems it defines
"${AS_USER[@]}" mkdir -p "$THOME/.config/efsfs"
printf '[mine]\ndata_dir = %s/fs/%%n\n' "$THOME" |
	"${AS_USER[@]}" sh -c 'cat >"$HOME/.config/efsfs/efsfs.conf"'
run "$IN_NS" "$ETC_UP" "$ETC_WORK" "${AS_USER[@]}" "$TEST_TMP/bin/efsfs" mkfs mine
if ((RC != 0)) || [[ "$ERR" == *warning* ]]; then
	fail "mkfs of a file system in the user's own file exited $RC or warned: $ERR"
fi
[[ -f "$THOME/fs/mine/meta.db" ]] || fail "mkfs mine did not use the user file's data_dir"
run "$IN_NS" "$ETC_UP" "$ETC_WORK" "${AS_USER[@]}" "$TEST_TMP/bin/efsfs" info mine
if ((RC != 0)) || [[ "$OUT" != *"config: $THOME/.config/efsfs/efsfs.conf"* || -n "$ERR" ]]; then
	fail "efsfs info mine as the user exited $RC: $OUT $ERR"
fi
pass "a file system of the user's own file is read from it alone, without a warning"
run "$IN_NS" "$ETC_UP" "$ETC_WORK" "${AS_USER[@]}" "$TEST_TMP/bin/efsfs" info solo
if ((RC != 0)) || [[ "$ERR" != *"gets the [defaults] of $THOME/.config/efsfs/efsfs.conf"* ]]; then
	fail "efsfs info solo (not in the user file) exited $RC: $OUT $ERR"
fi
pass "a file system the user file does not define gets its [defaults], with the warning"

# ---- man pages -------------------------------------------------------------------------------

for page in "$MAN8" "$SRC/man/mount.efsfs.8" "$SRC/man/efsfs.conf.5"; do
	warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
	assert_eq "" "$warn" "$(basename "$page") renders without groff warnings"
done
run "$TEST_TMP/bin/mount.efsfs" --help
if ((RC != 0)) || [[ "$OUT" != "usage: mount.efsfs "* || "$OUT" != *"mount.efsfs(8)"* ]]; then
	fail "mount.efsfs --help exited $RC: $OUT $ERR"
fi
pass "mount.efsfs --help prints its usage"
MOUNT8=$(groff -man -Tascii -P-cbou -rLL=200n "$SRC/man/mount.efsfs.8")
for want in "config=FILE" foreground "accesspoint=" "fs-ID:/path" ENOTCONN; do
	if [[ "$MOUNT8" != *"$want"* ]]; then
		fail "mount.efsfs.8 does not mention '$want'"
	fi
done
pass "mount.efsfs.8 describes the helper's own options"

finish
