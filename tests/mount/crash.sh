#!/bin/bash
# tests/mount/crash.sh - mount suite: crash safety.  Each round mounts the file
# system, runs workers that create, write (sparse, appends, truncates),
# modify, rename, hard-link, unlink files, make and remove directories and
# hold unlinked files open, then kill -9s the daemon after a random number of
# completed operations, remounts and checks that:
#   - every state a worker saw made durable (fsync of the file and of the
#     directories involved returned) is there with the same content;
#   - an operation in flight at the crash either happened or did not, never
#     half (a rename leaves the file under exactly one of its names, with the
#     content it had);
#   - no data file is left whose inode is unreachable (open-unlinked files
#     and deleted files are garbage-collected by the recovery);
#   - efsfs fsck reports 0 errors (alternately run right after the crash, so
#     that fsck does the recovery, and after a remount).
#
# A worker keeps a journal outside the mount, one line per step, written only
# after the fsyncs that make the step durable (begin lines go before a step):
#   F path sha size   path exists with this content (new file, or modify end)
#   W path            modify begins: content undefined until the next F
#   U path / u path   unlink begins / is durable
#   R old new / r old new   rename begins / is durable (new may be a tracked file)
#   L src dst / l src dst   hard link begins / is durable
#   k dir             mkdir is durable
#   X dir / x dir     rmdir begins / is durable
#   O ino             inode ino was unlinked while open (must not survive)
# Worker w owns everything under w<w>/, so journals never conflict.
#
# Environment: EFSFS, CRASH_ROUNDS (default 12), CRASH_WORKERS (default 2),
# CRASH_SEED (default random), CRASH_MAX_OPS (kill after 4..this many journal
# lines, default 60).  Needs root and /dev/fuse.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse

ROUNDS=${CRASH_ROUNDS:-12}
WORKERS=${CRASH_WORKERS:-2}
SEED=${CRASH_SEED:-$((RANDOM * 32768 + RANDOM))}
MAX_OPS=${CRASH_MAX_OPS:-60}
POOL_SIZE=$((8 * 1024 * 1024))
((ROUNDS >= 1 && WORKERS >= 1 && MAX_OPS >= 5)) ||
	fail "need CRASH_ROUNDS >= 1, CRASH_WORKERS >= 1, CRASH_MAX_OPS >= 5"
RANDOM=$SEED
echo "crash: $ROUNDS rounds, $WORKERS workers, seed $SEED"

MNT="$TEST_TMP/mnt"
POOL="$TEST_TMP/pool"
JDIR="$TEST_TMP/journal"
mkdir -p -- "$JDIR" "$TEST_TMP/own" "$TEST_TMP/scratch"
head -c "$POOL_SIZE" /dev/urandom >"$POOL"

declare -A FILES=()	# tracked path -> "sha size"
declare -A DIRS=()	# tracked directory -> 1
declare -A ORPHANS=()	# inode unlinked while open in the last round -> 1

# ---- the worker (runs in a background subshell) ------------------------------------

# Sets R to a random number in [0, $1).
rnd()
{
	R=$(((RANDOM * 32768 + RANDOM) % $1))
}

# wk_die MSG: ends the worker; expected once the daemon is killed.
wk_die()
{
	echo "worker $WK: $*" >&2
	exit 1
}

# wk_bug MSG: the worker saw something wrong while the daemon was alive.
wk_bug()
{
	echo "BUG: worker $WK: $*" >&2
	exit 1
}

# apply_recipe TARGET STEP...: w OFF LEN POS writes pool[OFF, OFF+LEN) at POS,
# a OFF LEN appends pool[OFF, OFF+LEN), t SIZE truncates (or extends) to SIZE.
apply_recipe()
{
	local target=$1 step kind a b c
	shift
	for step in "$@"; do
		read -r kind a b c <<<"$step"
		case $kind in
		w)
			dd if="$POOL" of="$target" bs=256K iflag=skip_bytes,count_bytes \
				oflag=seek_bytes skip="$a" count="$b" seek="$c" conv=notrunc \
				status=none || return 1
			;;
		a)
			dd if="$POOL" of="$target" bs=256K iflag=skip_bytes,count_bytes \
				oflag=append skip="$a" count="$b" conv=notrunc status=none || return 1
			;;
		t)
			truncate -s "$a" -- "$target" || return 1
			;;
		esac
	done
}

# Sets LEN to a random length: mostly small, sometimes up to 3 MiB.
rnd_len()
{
	rnd 10
	if ((R < 4)); then
		rnd 65536
	elif ((R < 8)); then
		rnd $((1024 * 1024))
	else
		rnd $((3 * 1024 * 1024))
	fi
	LEN=$((R + 1))
}

# Appends one random step to the array STEPS; $1 = first step of a new file.
rnd_step()
{
	local off pos
	rnd_len
	rnd $((POOL_SIZE - LEN))
	off=$R
	rnd 10
	if (($1)); then
		if ((R < 6)); then
			STEPS+=("w $off $LEN 0")
		elif ((R < 8)); then
			rnd $((6 * 1024 * 1024))	# sparse: data after a hole, maybe past chunk 0
			STEPS+=("w $off $LEN $R")
		elif ((R < 9)); then
			rnd $((5 * 1024 * 1024))
			STEPS+=("t $R")
		else
			STEPS+=("a $off $LEN")
		fi
	else
		if ((R < 4)); then
			STEPS+=("a $off $LEN")
		elif ((R < 7)); then
			rnd $((5 * 1024 * 1024))
			pos=$R
			STEPS+=("w $off $LEN $pos")
		else
			rnd $((5 * 1024 * 1024))
			STEPS+=("t $R")
		fi
	fi
}

# wk_fsync PATH...: fsync(2) of each (coreutils sync FILE opens and fsyncs it).
wk_fsync()
{
	sync -- "$@" || wk_die "fsync $* failed"
}

# Picks a random tracked file into P (returns 1 if there is none).
wk_pick_file()
{
	((${#WK_FILES[@]} > 0)) || return 1
	rnd ${#WK_FILES[@]}
	P=${WK_FILES[R]}
}

wk_pick_dir()
{
	rnd ${#WK_DIRS[@]}
	D=${WK_DIRS[R]}
}

wk_forget_file()
{
	local i
	for i in "${!WK_FILES[@]}"; do
		if [[ "${WK_FILES[i]}" == "$1" ]]; then
			unset "WK_FILES[i]"
		fi
	done
	WK_FILES=("${WK_FILES[@]}")
	unset "WK_SUM[$1]"
}

wk_new_name()
{
	WK_SEQ=$((WK_SEQ + 1))
	NEW="$D/$1$WK_ROUND-$WK_SEQ"
}

op_create()
{
	local s="$WK_SCRATCH/new" sum size i n
	wk_pick_dir
	wk_new_name f
	STEPS=()
	rnd 4
	n=$((R + 1))
	for ((i = 0; i < n; i++)); do
		rnd_step $((i == 0))
	done
	rm -f -- "$s"
	apply_recipe "$s" "${STEPS[@]}" || wk_bug "scratch write failed"
	apply_recipe "$MNT/$NEW" "${STEPS[@]}" || wk_die "writing $NEW failed"
	wk_fsync "$MNT/$NEW"
	wk_fsync "$MNT/$D"
	sum=$(sha256sum <"$s") || wk_bug "sha256sum failed"
	size=$(stat -c %s -- "$s")
	echo "F $NEW ${sum%% *} $size" >>"$WK_J"
	WK_FILES+=("$NEW")
	WK_SUM[$NEW]="${sum%% *} $size"
}

# Changes a tracked file that has one link, after checking it still reads back.
op_modify()
{
	local s="$WK_SCRATCH/mod" sum size nlink i n
	wk_pick_file || return 0
	nlink=$(stat -c %h -- "$MNT/$P") || wk_die "stat $P failed"
	((nlink == 1)) || return 0
	cp -- "$MNT/$P" "$s" || wk_die "reading $P failed"
	sum=$(sha256sum <"$s")
	size=$(stat -c %s -- "$s")
	if [[ "${sum%% *} $size" != "${WK_SUM[$P]}" ]]; then
		wk_bug "$P reads back as '${sum%% *} $size', expected '${WK_SUM[$P]}'"
	fi
	STEPS=()
	rnd 2
	n=$((R + 1))
	for ((i = 0; i < n; i++)); do
		rnd_step 0
	done
	apply_recipe "$s" "${STEPS[@]}" || wk_bug "scratch write failed"
	echo "W $P" >>"$WK_J"
	apply_recipe "$MNT/$P" "${STEPS[@]}" || wk_die "modifying $P failed"
	wk_fsync "$MNT/$P"
	sum=$(sha256sum <"$s")
	size=$(stat -c %s -- "$s")
	echo "F $P ${sum%% *} $size" >>"$WK_J"
	WK_SUM[$P]="${sum%% *} $size"
}

op_unlink()
{
	wk_pick_file || return 0
	echo "U $P" >>"$WK_J"
	rm -- "$MNT/$P" || wk_die "unlink $P failed"
	wk_fsync "$MNT/$(dirname -- "$P")"
	echo "u $P" >>"$WK_J"
	wk_forget_file "$P"
}

op_rename()
{
	local old dst sum
	wk_pick_file || return 0
	old=$P
	rnd 10
	if ((R < 3)) && wk_pick_file && [[ "$P" != "$old" ]]; then
		# over another tracked file, unless both are links of one inode
		# (then rename(2) does nothing)
		[[ "$(stat -c %i -- "$MNT/$old")" != "$(stat -c %i -- "$MNT/$P")" ]] || return 0
		dst=$P
	else
		wk_pick_dir
		wk_new_name f
		dst=$NEW
	fi
	echo "R $old $dst" >>"$WK_J"
	mv -f -T -- "$MNT/$old" "$MNT/$dst" || wk_die "rename $old $dst failed"
	wk_fsync "$MNT/$(dirname -- "$old")" "$MNT/$(dirname -- "$dst")"
	echo "r $old $dst" >>"$WK_J"
	sum=${WK_SUM[$old]}
	wk_forget_file "$old"
	wk_forget_file "$dst"
	WK_FILES+=("$dst")
	WK_SUM[$dst]=$sum
}

op_link()
{
	local src
	wk_pick_file || return 0
	src=$P
	wk_pick_dir
	wk_new_name h
	echo "L $src $NEW" >>"$WK_J"
	ln -- "$MNT/$src" "$MNT/$NEW" || wk_die "link $src $NEW failed"
	wk_fsync "$MNT/$D"
	echo "l $src $NEW" >>"$WK_J"
	WK_FILES+=("$NEW")
	WK_SUM[$NEW]=${WK_SUM[$src]}
}

op_mkdir()
{
	wk_pick_dir
	# at most three levels below the worker's directory
	[[ "$D" != */*/*/* ]] || return 0
	wk_new_name d
	mkdir -- "$MNT/$NEW" || wk_die "mkdir $NEW failed"
	wk_fsync "$MNT/$D"
	echo "k $NEW" >>"$WK_J"
	WK_DIRS+=("$NEW")
}

op_rmdir()
{
	local i f
	wk_pick_dir
	[[ "$D" == */* ]] || return 0
	for f in "${WK_FILES[@]}" "${WK_DIRS[@]}"; do
		[[ "$f" != "$D"/* ]] || return 0
	done
	# an untracked leftover of an earlier crash keeps it
	[[ -z "$(ls -A -- "$MNT/$D")" ]] || return 0
	echo "X $D" >>"$WK_J"
	rmdir -- "$MNT/$D" || wk_die "rmdir $D failed"
	wk_fsync "$MNT/$(dirname -- "$D")"
	echo "x $D" >>"$WK_J"
	for i in "${!WK_DIRS[@]}"; do
		if [[ "${WK_DIRS[i]}" == "$D" ]]; then
			unset "WK_DIRS[i]"
		fi
	done
	WK_DIRS=("${WK_DIRS[@]}")
}

# Creates a file, keeps it open, unlinks it and goes on writing to it; at most
# three are held, so most rounds crash with some open.
op_orphan()
{
	local fd ino
	wk_pick_dir
	wk_new_name o
	rnd_len
	exec {fd}<>"$MNT/$NEW" || wk_die "open $NEW failed"
	WK_FDS+=("$fd")
	head -c "$LEN" -- "$POOL" >&"$fd" || wk_die "writing $NEW failed"
	ino=$(stat -c %i -- "$MNT/$NEW") || wk_die "stat $NEW failed"
	rm -- "$MNT/$NEW" || wk_die "unlink $NEW failed"
	wk_fsync "$MNT/$D"
	echo "O $ino" >>"$WK_J"
	rnd_len
	head -c "$LEN" -- "$POOL" >&"$fd" || wk_die "writing unlinked $NEW failed"
	if ((${#WK_FDS[@]} > 3)); then
		fd=${WK_FDS[0]}
		exec {fd}>&-
		WK_FDS=("${WK_FDS[@]:1}")
	fi
}

# Writes a file and never syncs it: whatever of it survives is fine.
op_scribble()
{
	wk_pick_dir
	wk_new_name t
	rnd_len
	head -c "$LEN" -- "$POOL" >"$MNT/$NEW" || wk_die "writing $NEW failed"
	WK_TEMPS+=("$NEW")
	if ((${#WK_TEMPS[@]} > 4)); then
		rm -f -- "$MNT/${WK_TEMPS[0]}" || wk_die "unlink ${WK_TEMPS[0]} failed"
		WK_TEMPS=("${WK_TEMPS[@]:1}")
	fi
}

# worker W ROUND: runs operations on $MNT/wW until killed (at most 5000).
worker()
{
	local own line n
	trap - ERR
	set +eE
	WK=$1
	WK_ROUND=$2
	WK_J="$JDIR/r$2.w$1"
	WK_SCRATCH="$TEST_TMP/scratch/r$2.w$1"
	WK_SEQ=0
	WK_FILES=()
	WK_DIRS=()
	WK_FDS=()
	WK_TEMPS=()
	declare -gA WK_SUM=()
	RANDOM=$((SEED + 1000 * $2 + $1))
	mkdir -p -- "$WK_SCRATCH"
	own="$TEST_TMP/own/w$1"
	while read -r line; do
		WK_DIRS+=("$line")
	done <"$own.dirs"
	while read -r line; do
		WK_FILES+=("${line%% *}")
		WK_SUM[${line%% *}]=${line#* }
	done <"$own.files"
	for ((n = 0; n < 5000; n++)); do
		rnd 100
		if ((${#WK_FILES[@]} > 25 && R < 30)); then
			op_unlink
		elif ((R < 30)); then
			op_create
		elif ((R < 42)); then
			op_modify
		elif ((R < 50)); then
			op_unlink
		elif ((R < 62)); then
			op_rename
		elif ((R < 70)); then
			op_link
		elif ((R < 77)); then
			op_mkdir
		elif ((R < 82)); then
			op_rmdir
		elif ((R < 90)); then
			op_orphan
		else
			op_scribble
		fi
	done
	wk_die "ran out of operations before the crash"
}

# ---- the checker --------------------------------------------------------------------

# Regular file at MNT/$1 has "sha size" $2?  Sets GOT to what it has.
has_content()
{
	local sum
	GOT="missing"
	[[ -f "$MNT/$1" && ! -L "$MNT/$1" ]] || return 1
	sum=$(sha256sum <"$MNT/$1") || fail "reading $1 after the crash failed"
	GOT="${sum%% *} $(stat -c %s -- "$MNT/$1")"
	[[ "$GOT" == "$2" ]]
}

# expect_content PATH WHY: PATH must have its tracked content.
expect_content()
{
	if ! has_content "$1" "${FILES[$1]}"; then
		fail "round $ROUND: $1 ($2) is '$GOT', expected '${FILES[$1]}'"
	fi
}

exists()
{
	[[ -e "$MNT/$1" || -L "$MNT/$1" ]]
}

# resolve_pending OP A B: decides from what is on disk what became of an
# operation in flight at the crash, failing if it is half done.
resolve_pending()
{
	local op=$1 a=$2 b=${3:-} old_sum
	case $op in
	W)
		IN_FLIGHT+=" modify"
		exists "$a" || fail "round $ROUND: $a vanished while being modified at the crash"
		has_content "$a" x || true
		[[ "$GOT" != missing ]] || fail "round $ROUND: $a is no longer a regular file"
		FILES[$a]=$GOT
		;;
	U)
		if exists "$a"; then
			expect_content "$a" "its unlink was in flight"
			IN_FLIGHT+=" unlink(not-done)"
		else
			unset "FILES[$a]"
			IN_FLIGHT+=" unlink(done)"
		fi
		;;
	R)
		old_sum=${FILES[$a]}
		if exists "$a"; then
			expect_content "$a" "rename source, rename not done"
			if [[ -n "${FILES[$b]:-}" ]]; then
				expect_content "$b" "rename target, rename not done"
			elif exists "$b"; then
				fail "round $ROUND: rename $a -> $b is half done: both names exist"
			fi
			IN_FLIGHT+=" rename(not-done)"
		else
			IN_FLIGHT+=" rename(done)"
			FILES[$b]=$old_sum
			unset "FILES[$a]"
			expect_content "$b" "rename target, rename done"
		fi
		;;
	L)
		expect_content "$a" "link source"
		IN_FLIGHT+=" link(not-done)"
		if exists "$b"; then
			IN_FLIGHT="${IN_FLIGHT% link(not-done)} link(done)"
			FILES[$b]=${FILES[$a]}
			expect_content "$b" "link made at the crash"
			[[ "$(stat -c %i -- "$MNT/$a")" == "$(stat -c %i -- "$MNT/$b")" ]] ||
				fail "round $ROUND: link $b is not the same inode as $a"
		fi
		;;
	X)
		if exists "$a"; then
			IN_FLIGHT+=" rmdir(not-done)"
		else
			unset "DIRS[$a]"
			IN_FLIGHT+=" rmdir(done)"
		fi
		;;
	*)
		fail "round $ROUND: journal has unknown pending operation '$op'"
		;;
	esac
}

# Applies this round's journals to FILES/DIRS, resolving what was in flight.
replay_journals()
{
	local w j op a b c d pend
	ORPHANS=()
	IN_FLIGHT=""
	for ((w = 0; w < WORKERS; w++)); do
		j="$JDIR/r$ROUND.w$w"
		[[ -f "$j" ]] || continue
		pend=""
		while read -r op a b c d; do
			case $op in
			F)
				FILES[$a]="$b $c"
				pend=""
				;;
			W | U | R | L | X)
				pend="$op $a $b"
				;;
			u)
				unset "FILES[$a]"
				pend=""
				;;
			r)
				FILES[$b]=${FILES[$a]}
				unset "FILES[$a]"
				pend=""
				;;
			l)
				FILES[$b]=${FILES[$a]}
				pend=""
				;;
			k)
				DIRS[$a]=1
				;;
			x)
				unset "DIRS[$a]"
				pend=""
				;;
			O)
				ORPHANS[$a]=1
				;;
			*)
				fail "round $ROUND: bad journal line in $j: $op $a $b $c $d"
				;;
			esac
		done <"$j"
		if [[ -n "$pend" ]]; then
			# shellcheck disable=SC2086 # three words
			resolve_pending $pend
		fi
	done
}

# Everything tracked must be there with its content.
check_tracked()
{
	local p sum n=0 list="$TEST_TMP/tracked.list"
	for p in "${!DIRS[@]}"; do
		[[ -d "$MNT/$p" && ! -L "$MNT/$p" ]] ||
			fail "round $ROUND: directory $p made durable is missing"
	done
	: >"$list"
	for p in "${!FILES[@]}"; do
		[[ -f "$MNT/$p" && ! -L "$MNT/$p" ]] ||
			fail "round $ROUND: file $p made durable is missing"
		printf '%s\n' "$p" >>"$list"
	done
	# one sha256sum for all (paths have no blanks)
	(cd -- "$MNT" && xargs -r -d '\n' sha256sum -- <"$list") >"$list.sums" ||
		fail "round $ROUND: reading the durable files failed"
	while read -r sum p; do
		p=${p#./}
		[[ "$sum $(stat -c %s -- "$MNT/$p")" == "${FILES[$p]}" ]] ||
			fail "round $ROUND: $p has '$sum $(stat -c %s -- "$MNT/$p")'," \
				"expected '${FILES[$p]}'"
		n=$((n + 1))
	done <"$list.sums"
	assert_eq "${#FILES[@]}" "$n" \
		"round $ROUND: all $n durable files and ${#DIRS[@]} directories intact (in flight at the crash:${IN_FLIGHT:- nothing journaled})"
}

# No data file may outlive its inode; every durable non-empty file has one.
check_data_files()
{
	local ino f inodes="$TEST_TMP/inodes" datafiles="$TEST_TMP/datafiles"
	find "$MNT" -type f -printf '%i\n' | sort -u >"$inodes"
	find "${DATA_DIRS[crash]}/data" -mindepth 2 -printf '%f\n' >"$datafiles.hex"
	f=$(grep -vxE '[0-9a-f]{16}' "$datafiles.hex" | head -n 5 | tr '\n' ' ') || true
	[[ -z "$f" ]] || fail "round $ROUND: unexpected files in data/*/: $f"
	while read -r f; do
		echo $((16#$f))
	done <"$datafiles.hex" | sort -u >"$datafiles"
	f=$(comm -13 -- "$inodes" "$datafiles" | head -n 5 | tr '\n' ' ')
	[[ -z "$f" ]] || fail "round $ROUND: data files of unreachable inodes remain: $f"
	for ino in "${!ORPHANS[@]}"; do
		if grep -qx -- "$ino" "$datafiles"; then
			fail "round $ROUND: data of inode $ino (unlinked while open) survived"
		fi
	done
	for f in "${!FILES[@]}"; do
		[[ "${FILES[$f]#* }" != 0 ]] || continue
		ino=$(stat -c %i -- "$MNT/$f")
		grep -qx -- "$ino" "$datafiles" ||
			fail "round $ROUND: $f (inode $ino, ${FILES[$f]#* } bytes) has no data file"
	done
	pass "round $ROUND: $(wc -l <"$datafiles") data files, none unreachable" \
		"(${#ORPHANS[@]} open-unlinked inodes gone)"
}

check_fsck()
{
	local rc=0 out
	out=$(efsfs_fsck crash 2>&1) || rc=$?
	if ((rc != 0)) || ! grep -qE '(^|[^0-9])0 errors' <<<"$out"; then
		fail "round $ROUND: efsfs fsck $1 exited $rc: $out"
	fi
	pass "round $ROUND: fsck $1 is clean"
}

# Writes each worker's share of the tracked state for the next round.
write_ownership()
{
	local w p
	for ((w = 0; w < WORKERS; w++)); do
		: >"$TEST_TMP/own/w$w.files"
		: >"$TEST_TMP/own/w$w.dirs"
	done
	for p in "${!DIRS[@]}"; do
		w=${p%%/*}
		echo "$p" >>"$TEST_TMP/own/$w.dirs"
	done
	for p in "${!FILES[@]}"; do
		w=${p%%/*}
		echo "$p ${FILES[$p]}" >>"$TEST_TMP/own/$w.files"
	done
}

journal_lines()
{
	local j n=0
	for j in "$JDIR"/r"$ROUND".w*; do
		[[ -f "$j" ]] || continue
		n=$((n + $(wc -l <"$j")))
	done
	echo "$n"
}

# ---- the rounds -------------------------------------------------------------------

make_config crash
efsfs_mkfs crash
efsfs_mount crash "$MNT"
for ((w = 0; w < WORKERS; w++)); do
	mkdir -- "$MNT/w$w"
	DIRS[w$w]=1
done
sync -- "$MNT"
write_ownership

for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	PIDS=()
	# Each worker in its own process group, so that killing it kills what it runs.
	set -m
	for ((w = 0; w < WORKERS; w++)); do
		worker "$w" "$ROUND" 2>"$TEST_TMP/worker-r$ROUND-w$w.log" &
		PIDS+=($!)
	done
	set +m
	TARGET=$((4 + RANDOM % (MAX_OPS - 3)))
	# Poll the journals: crash after TARGET lines, whenever that happens.
	for ((i = 0; i < 200 * 20; i++)); do
		(($(journal_lines) < TARGET)) || break
		for pid in "${PIDS[@]}"; do
			if pid_gone "$pid"; then
				fail "round $ROUND: worker $pid stopped before the crash:" \
					"$(cat -- "$TEST_TMP"/worker-r"$ROUND"-w*.log)"
			fi
		done
		sleep 0.02
	done
	(($(journal_lines) >= TARGET)) ||
		fail "round $ROUND: only $(journal_lines) of $TARGET operations in 200 s"
	efsfs_crash "$MNT"
	for pid in "${PIDS[@]}"; do
		kill -KILL -- "-$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if grep -h '^BUG:' -- "$TEST_TMP"/worker-r"$ROUND"-w*.log; then
		fail "round $ROUND: a worker saw wrong data before the crash"
	fi
	pass "round $ROUND: killed the daemon after $(journal_lines) journal lines (target $TARGET)"

	if ((ROUND % 2)); then
		check_fsck "right after the crash"
		efsfs_mount crash "$MNT"
	else
		efsfs_mount crash "$MNT"
	fi
	replay_journals
	check_tracked
	check_data_files
	if ((ROUND % 2 == 0)); then
		efsfs_umount "$MNT"
		check_fsck "after recovery by mount"
		efsfs_mount crash "$MNT"
	fi
	write_ownership
done

efsfs_umount "$MNT"
ROUND=final
check_fsck "at the end"
finish
