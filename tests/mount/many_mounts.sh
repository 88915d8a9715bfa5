#!/bin/bash
# tests/mount/many_mounts.sh - mount suite: one daemon serves every mount of
# a file system (daemon/daemon.c).  Through mount.efsfs (the build's binary
# under that name in the temp dir, so /sbin is not touched and no lock is
# needed):
#   - three and four mounts at once, all served by the first daemon, each
#     seeing the files the others wrote and closed; ClientConnections in
#     `efsfs stats`;
#   - unmounting one leaves the others working; the last unmount stops the
#     daemon;
#   - mounts started together with no daemon running start only one;
#     mounts attached while the last mount goes reach a live daemon;
#   - an -o ro mount beside read-write ones is read-only;
#   - a mount made in another mount namespace (unshare -m) is served too;
#   - kill -9 with three mounts: each reports ENOTCONN, and after umount
#     the file system mounts again with every fsynced file, fsck clean;
#   - mount by fs- id (fs-ID and fs-ID:/); an unknown id, NAME:/missing,
#     NAME:/file and a malformed accesspoint= are refused, saying why;
#   - SIGTERM of the daemon unmounts every mount.
# Subdirectory and access-point views (the root_ino a session honours) are
# in views_mounts.sh.
# Needs: EFSFS, root, /dev/fuse.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
sanitizer_to_files

NAME=many
make_config "$NAME"
CONF=$EFSFS_CONFIG
efsfs_mkfs "$NAME"
ID=$FS_ID
helper_setup 1 2 3 4 5
M1=$(canon "$TEST_TMP/m1") M2=$(canon "$TEST_TMP/m2") M3=$(canon "$TEST_TMP/m3")
M4=$(canon "$TEST_TMP/m4") M5=$(canon "$TEST_TMP/m5")

stat_field()
{
	run "$EFSFS" stats "$NAME"
	((RC == 0)) || fail "efsfs stats exited $RC: $ERR"
	sed -n "s/^$1: //p" <<<"$OUT"
}

# connections_are N: efsfs stats says ClientConnections N.
connections_are()
{
	[[ "$(stat_field ClientConnections)" == "$1" ]]
}

# cross_check TAG MNT...: each mount writes and closes a file; every mount reads all.
cross_check()
{
	local tag=$1 w r
	shift
	for w in "$@"; do
		printf '%s from %s\n' "$tag" "$w" >"$w/$tag.$(basename -- "$w")"
	done
	for r in "$@"; do
		for w in "$@"; do
			[[ "$(cat -- "$r/$tag.$(basename -- "$w")" 2>&1)" == "$tag from $w" ]] ||
				fail "$r does not read what $w wrote and closed ($tag)"
		done
	done
	pass "$tag: each of $# mounts reads what every other wrote and closed"
}

# ---- three, then four mounts: one daemon ------------------------------------------------

helper_mount "$NAME" "$M1"
PID=${MOUNT_PIDS[$M1]}
helper_mount "$NAME" "$M2"
helper_mount "$NAME:/" "$M3"
for m in "$M2" "$M3"; do
	assert_eq "$PID" "${MOUNT_PIDS[$m]}" "$m is served by the first mount's daemon"
done
assert_eq 1 "$(pgrep -c -f -- "$HELPER_BIN $NAME" || true)" "one daemon process for the three mounts"
assert_eq "$NAME:/" "$(source_of "$M3")" "the mount's source is NAME:/ as written"
assert_eq 3 "$(stat_field ClientConnections)" "efsfs stats: ClientConnections 3"
run "$HELPER_BIN" "$NAME" "$M2" -o "config=$CONF"
((RC != 0)) && [[ "$ERR" == *"is mounted there already"* ]] ||
	fail "a second mount on a mount point of the same file system: exit $RC: $ERR"
assert_eq 1 "$(awk -v m="$M2" '$5 == m' /proc/self/mountinfo | wc -l)" \
	"the refused mount stacked nothing on $M2"
cross_check three "$M1" "$M2" "$M3"
helper_mount "$NAME" "$M4"
assert_eq 4 "$(stat_field ClientConnections)" "efsfs stats: ClientConnections 4"
cross_check four "$M1" "$M2" "$M3" "$M4"
mkdir -- "$M1/dir"
mv -- "$M2/four.m2" "$M1/dir/moved"
assert_eq "four from $M2" "$(cat -- "$M4/dir/moved")" "a rename on one mount is seen on another"
# a name every mount has cached: an unlink or a rewrite through one attached
# mount is seen at once through the first one and through the other attached
# ones (the daemon tells every session's kernel, attached ones included)
printf 'cached\n' >"$M1/cached"
for m in "$M1" "$M2" "$M3" "$M4"; do
	assert_eq cached "$(cat -- "$m/cached")" "$m reads the file every mount then caches"
done
printf 'rewritten longer\n' >"$M3/cached"
for m in "$M1" "$M2" "$M4"; do
	assert_eq "rewritten longer" "$(cat -- "$m/cached")" \
		"$m reads the rewrite made through $M3 at once"
done
rm -- "$M2/cached"
for m in "$M1" "$M3" "$M4"; do
	[[ ! -e "$m/cached" ]] || fail "$m still shows a file unlinked through $M2"
done

# ---- -o ro beside read-write mounts ------------------------------------------------------

helper_mount "$NAME" "$M5" ro
assert_eq "$PID" "${MOUNT_PIDS[$M5]}" "the -o ro mount joins the read-write daemon"
assert_errno EROFS "writing through the -o ro mount fails with EROFS" touch -- "$M5/nope"
printf 'rw still\n' >"$M1/rw-still"
assert_eq "rw still" "$(cat -- "$M5/rw-still")" "the -o ro mount reads what a read-write one wrote"
efsfs_umount "$M5"

# ---- a mount made in another mount namespace (unshare -m, containers) -------------------

# mount.efsfs mounts in its caller's namespace and hands the mount to the
# daemon: inside, it reads and writes; outside, nothing is mounted on $M5.
run unshare -m --propagation private bash -c '
	"$1" "$2" "$3" -o "config=$4" || exit 10
	cat -- "$3/rw-still" || exit 11
	echo "from the namespace" >"$3/ns-file" || exit 12
	n=$("$5" stats "$2" | sed -n "s/^ClientConnections: //p")
	umount -- "$3" || exit 13
	echo "$n"' ns "$HELPER_BIN" "$NAME" "$M5" "$CONF" "$EFSFS"
((RC == 0)) || fail "a mount in another mount namespace: exit $RC: $OUT $ERR"
assert_eq "rw still"$'\n'"5" "$OUT" "in its own namespace the mount reads, and the daemon serves 5 mounts"
is_not_mounted "$M5" || fail "the namespace's mount shows outside it"
assert_eq "from the namespace" "$(cat -- "$M1/ns-file")" "what the namespace's mount wrote is there"
wait_until "$EFSFS_WAIT_SECS" connections_are 4 ||
	fail "the namespace's umount did not end its session: $(stat_field ClientConnections)"
pass "the umount in the namespace ended its session only"

# ---- one goes, the others stay; the last one stops the daemon ---------------------------

efsfs_umount "$M2"
pid_gone "$PID" && fail "unmounting one of four mounts stopped the daemon"
assert_eq 3 "$(stat_field ClientConnections)" "ClientConnections 3 after one umount"
cross_check after-umount "$M1" "$M3" "$M4"
efsfs_umount "$M1"
# the lock file named $M1; it now names a mount point still mounted, so
# fsck is refused at once as "in use", not waited for as a daemon closing
grep -qx "mountpoint=$M1" "${DATA_DIRS[$NAME]}/lock" &&
	fail "the lock file still names the unmounted $M1"
START=$SECONDS
run "$EFSFS" fsck "$NAME"
((RC != 0)) && [[ "$ERR" == *"in use"* && "$ERR" != *closing* ]] ||
	fail "fsck beside two mounts after the first went: exit $RC: $ERR"
((SECONDS - START < 5)) || fail "fsck's refusal took $((SECONDS - START))s"
pass "fsck is refused at once while mounts remain after the first went"
efsfs_umount "$M3"
pid_gone "$PID" && fail "the daemon stopped while $M4 was still mounted"
printf 'last\n' >"$M4/last"
assert_eq last "$(cat -- "$M4/last")" "the last mount still works"
efsfs_umount "$M4"
pid_gone "$PID" || fail "the daemon $PID still runs after the last umount"
pass "the last umount stopped the daemon"

# ---- mounts at once with no daemon: one daemon ------------------------------------------

PIDS=()
for m in "$M1" "$M2" "$M3"; do
	timeout 120 "$HELPER_BIN" "$NAME" "$m" -o "config=$CONF" \
		>"$TEST_TMP/par-$(basename -- "$m").log" 2>&1 </dev/null &
	PIDS+=($!)
done
for p in "${PIDS[@]}"; do
	wait "$p" || fail "a mount started together with two others failed: $(cat "$TEST_TMP"/par-*.log)"
done
for m in "$M1" "$M2" "$M3"; do
	efsfs_adopt_mount "$NAME" "$m"
done
PID=${MOUNT_PIDS[$M1]}
for m in "$M2" "$M3"; do
	assert_eq "$PID" "${MOUNT_PIDS[$m]}" "mounts started together: $m has the same daemon"
done
cross_check together "$M1" "$M2" "$M3"

# ---- attach while the last mount goes -----------------------------------------------------

# Each round unmounts the last mount while a new one attaches: the new one
# either reached the old daemon (the old one then still runs for it) or
# started a new daemon; either way it must work.
efsfs_umount "$M2"
efsfs_umount "$M3"
for ((round = 1; round <= 10; round++)); do
	old=$M1 new=$M2
	((round % 2 == 0)) && old=$M2 new=$M1
	umount -- "$old" &
	UPID=$!
	run "$HELPER_BIN" "$NAME" "$new" -o "config=$CONF"
	wait "$UPID" || fail "umount $old (round $round)"
	((RC == 0)) || fail "a mount while the last one went failed (round $round): $ERR"
	wait_until "$EFSFS_WAIT_SECS" is_not_mounted "$old" || fail "$old stays mounted"
	unset "MOUNT_PIDS[$old]" "MOUNT_NAMES[$old]"
	efsfs_adopt_mount "$NAME" "$new"
	printf 'round %d\n' "$round" >"$new/round"
	assert_eq "round $round" "$(cat -- "$new/round")" "round $round: the new mount works"
done
assert_eq 1 "$(stat_field ClientConnections)" "one connection after the rounds"

# ---- kill -9 with three mounts -------------------------------------------------------------

for m in "$M1" "$M2" "$M3"; do
	[[ -n "${MOUNT_PIDS[$m]:-}" ]] || helper_mount "$NAME" "$m"
done
PID=${MOUNT_PIDS[$M1]}
declare -A SUMS=()
for m in "$M1" "$M2" "$M3"; do
	for k in 1 2 3; do
		f="$m/synced.$(basename -- "$m").$k"
		head -c $((k * 300000 + RANDOM)) /dev/urandom >"$f"
		sync -- "$f"
		SUMS[$(basename -- "$f")]=$(sha256sum <"$f")
	done
done
sync -- "$M1"
kill -KILL "$PID"
wait_until "$EFSFS_WAIT_SECS" pid_gone "$PID" || fail "daemon $PID survived kill -9"
for m in "$M1" "$M2" "$M3"; do
	unset "MOUNT_PIDS[$m]" "MOUNT_NAMES[$m]"
	assert_dead_mount "after kill -9, $m reports ENOTCONN" "$m"
done
for m in "$M1" "$M2" "$M3"; do
	umount -- "$m" || fail "umount of the dead mount $m"
	is_not_mounted "$m" || fail "$m is still mounted after umount"
done
pass "the three dead mounts unmount"
run "$EFSFS" fsck "$NAME"
((RC == 0)) && grep -qE '(^|[^0-9])0 errors' <<<"$OUT" ||
	fail "fsck after kill -9 exited $RC: $OUT $ERR"
pass "fsck after kill -9 with three mounts is clean"
helper_mount "$NAME" "$M1"
helper_mount "$NAME" "$M2"
for f in "${!SUMS[@]}"; do
	assert_eq "${SUMS[$f]}" "$(sha256sum <"$M2/$f")" "fsynced $f is there after kill -9"
done

# A dead mount left in place: mounting the same file system there again
# detaches it (saying so); a dead mount of another file system is refused.
helper_mount "$NAME" "$M3"
PID=${MOUNT_PIDS[$M1]}
kill -KILL "$PID"
wait_until "$EFSFS_WAIT_SECS" pid_gone "$PID" || fail "daemon $PID survived kill -9"
unset "MOUNT_PIDS[$M1]" "MOUNT_NAMES[$M1]" "MOUNT_PIDS[$M2]" "MOUNT_NAMES[$M2]" \
	"MOUNT_PIDS[$M3]" "MOUNT_NAMES[$M3]"
umount -- "$M2"
umount -- "$M3"
run "$HELPER_BIN" "$NAME" "$M1" -o "config=$CONF"
((RC == 0)) || fail "mount on the dead mount of the same file system exited $RC: $ERR"
[[ "$ERR" == *"daemon that died"*"detached"* ]] ||
	fail "the mount on a dead mount did not say it detached it: $ERR"
efsfs_adopt_mount "$NAME" "$M1"
pass "a mount on a dead mount of the same file system detaches it, saying so"
efsfs_umount "$M1"

# ---- sources: fs- id, refusals --------------------------------------------------------------

helper_mount "$ID" "$M1"
assert_eq "$ID" "$(source_of "$M1")" "a mount by fs- id has the id as its source"
helper_mount "$ID:/" "$M2"
assert_eq "${MOUNT_PIDS[$M1]}" "${MOUNT_PIDS[$M2]}" "mounts by fs- id share the daemon"
[[ -f "$M1/last" ]] || fail "the mount by fs- id does not show the file system's files"
pass "the mount by fs- id is the file system's root"
run "$EFSFS" mount "$ID" "$M3"
((RC == 0)) || fail "efsfs mount $ID exited $RC: $ERR"
efsfs_adopt_mount "$NAME" "$M3"
efsfs_umount "$M3"

BAD_ID=fs-0123456789abcdef0
[[ "$BAD_ID" != "$ID" ]] || BAD_ID=fs-0123456789abcdef1
run "$HELPER_BIN" "$BAD_ID" "$M3" -o "config=$CONF"
((RC != 0)) && [[ "$ERR" == *"$BAD_ID: no file system has this id"* ]] ||
	fail "mount of an unknown fs- id: exit $RC: $ERR"
is_not_mounted "$M3" || fail "the mount of an unknown id left a mount"
pass "an unknown fs- id is refused, naming it"

touch -- "$M1/plain-file"
for src in "$NAME:/no/such/dir" "$ID:/no/such/dir" "$NAME:/plain-file"; do
	run "$HELPER_BIN" "$src" "$M3" -o "config=$CONF"
	case $src in
	*plain-file) want="/plain-file is not a directory" ;;
	*) want="/no does not exist" ;;
	esac
	((RC != 0)) && [[ "$ERR" == *"$want"* ]] || fail "mount.efsfs $src: exit $RC: $ERR"
	is_not_mounted "$M3" || fail "the refused $src left a mount on $M3"
	pass "$src is refused: $want"
done
run "$HELPER_BIN" "$NAME" "$M3" -o "config=$CONF,accesspoint=fsap-12"
((RC != 0)) && [[ "$ERR" == *"accesspoint=fsap-12: expected fsap- and 17 hex digits"* ]] ||
	fail "a malformed accesspoint=: exit $RC: $ERR"
is_not_mounted "$M3" || fail "the malformed accesspoint= left a mount"
pass "a malformed accesspoint= is refused, naming it"
assert_eq 2 "$(stat_field ClientConnections)" "the refusals left the two mounts alone"
cross_check after-refusals "$M1" "$M2"

# ---- SIGTERM: the daemon unmounts every mount and exits ---------------------------------

helper_mount "$NAME" "$M3"
PID=${MOUNT_PIDS[$M1]}
kill -TERM "$PID"
wait_until "$EFSFS_WAIT_SECS" pid_gone "$PID" || fail "daemon $PID still runs after SIGTERM"
for m in "$M1" "$M2" "$M3"; do
	wait_until "$EFSFS_WAIT_SECS" is_not_mounted "$m" ||
		fail "$m is still mounted after SIGTERM of its daemon"
	unset "MOUNT_PIDS[$m]" "MOUNT_NAMES[$m]"
done
pass "SIGTERM unmounts the first mount and the attached ones, and the daemon exits"
run "$EFSFS" fsck "$NAME"
((RC == 0)) || fail "final fsck exited $RC: $OUT $ERR"
pass "final fsck is clean"
assert_no_sanitizer_report
finish
