#!/usr/bin/env bash
# scripts/check-layers.sh - checks that the layers of doc/LAYERS.md call one
# way: which directory's headers each directory includes, and that the FUSE
# layer and the daemon never do I/O on a backing file themselves (only the
# chunk store touches a backing fd).  Run by the unit suite (test "layers",
# tests/meson.build) and by hand:
#
#   scripts/check-layers.sh [ROOT]      check the tree at ROOT (default: this one)
#   scripts/check-layers.sh --self-test plant one violation of every rule in a
#                                       scratch tree and check each is reported
#
# Prints every violation as "file:line: rule: what" and exits 1 when one is
# not in KNOWN_VIOLATIONS; 0 otherwise.  Comments are not looked at; for the
# call rule, string literals are not either.  Needs bash and perl (Debian's
# perl-base is essential).
#
# The rules (a header is "ours" when its path starts with one of common/,
# store/, backend/, tier/, meter/, fuse/, daemon/):
#   backend-up       backend/ includes a tier/, meter/, store/, fuse/ or daemon/ header
#   backend-tier     backend/ names struct tier or calls a tier_*() function:
#                    it reaches tier only through the chunk-store ops table
#                    that tier installs
#   common-alone     common/ includes a header of ours outside common/
#   store-down       store/ includes a backend/, tier/, meter/, fuse/ or daemon/ header
#   tier-up          tier/ includes a meter/, fuse/ or daemon/ header
#   meter-up         meter/ includes a tier/, store/, fuse/ or daemon/ header
#   fuse-up          fuse/ includes a daemon/ header
#   fuse-internal    fuse/ includes a *_i.h of another directory
#   daemon-internal  daemon/ includes fuse/fuse_i.h or a backend/*_i.h
#   backing-fd       fuse/*.c or daemon/*.c call pread, pwrite, preadv,
#                    pwritev, ftruncate, fallocate, fsync, fdatasync, lseek,
#                    copy_file_range or sync_file_range (or their *64 forms)
set -euo pipefail

# Violations the tree has today, each "RULE FILE WHAT" (WHAT: the included
# header, or the function called).  Other helpers of issue 11 remove them;
# the coordinator empties this list once they are merged.  A violation not
# listed here fails the check.
KNOWN_VIOLATIONS=(
)

# Calls in fuse/ or daemon/ that are legitimate although they are on the
# backing-fd list, each "FILE FUNCTION" with the reason.  None today: the
# /dev/fuse I/O of fuse/loop.c and fuse/passthrough.c goes through libfuse
# (read/splice), which the rule does not name.
ALLOWED_CALLS=(
)

LAYERS="common store backend tier meter fuse daemon"
TIER_NAMES='(^|[^[:alnum:]_.>])(tier_[[:alnum:]_]*[[:space:]]*\(|struct[[:space:]]+tier([^[:alnum:]_]|$))'
CALLS="pread|pwrite|preadv|pwritev|preadv2|pwritev2|ftruncate|fallocate|fsync|fdatasync|lseek|copy_file_range|sync_file_range"

# The file on stdin with comments blanked (newlines kept, so line numbers
# hold); with "strings", string and character literals are blanked too.
strip_c() {
	STRIP_STRINGS=${1:-} perl -0777 -pe '
		my $str = $ENV{STRIP_STRINGS} eq "strings";
		s{(/\*.*?\*/)|(//[^\n]*)|("(?:\\.|[^"\\\n])*")|(\x27(?:\\.|[^\x27\\\n])*\x27)}{
			defined $1 ? "\n" x ($1 =~ tr/\n//) :
			defined $2 ? "" :
			$str ? (defined $3 ? "\"\"" : "\x27 \x27") : ($3 // $4)
		}gse;
	'
}

in_list() {   # in_list WORD LIST...
	local w=$1 x
	shift
	for x in "$@"; do
		[ "$x" = "$w" ] && return 0
	done
	return 1
}

# check ROOT: prints the violations; returns 1 when one is not known.
check() {
	local root=$1 failed=0 n=0 known=0 f layer line inc tgt tl rule what key fn
	local -a seen=()

	report() {   # report FILE LINE RULE WHAT MESSAGE
		n=$((n + 1))
		key="$3 $1 $4"
		seen+=("$key")
		if [ "${#KNOWN_VIOLATIONS[@]}" -gt 0 ] && in_list "$key" "${KNOWN_VIOLATIONS[@]}"; then
			known=$((known + 1))
			echo "$1:$2: $3: $5 (known: in KNOWN_VIOLATIONS)"
		else
			failed=1
			echo "$1:$2: $3: $5"
		fi
	}

	for layer in $LAYERS; do
		[ -d "$root/$layer" ] || continue
		while IFS= read -r f; do
			f=${f#"$root"/}
			# includes: #include "dir/name.h" (comments stripped)
			while IFS=: read -r line inc; do
				tgt=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)".*/\1/' <<<"$inc")
				case $tgt in
				*/*) ;;
				*) continue ;;   # same directory
				esac
				tl=${tgt%%/*}
				in_list "$tl" $LAYERS || continue   # not ours
				rule=""
				case $layer in
				backend)
					case $tl in tier|meter|store|fuse|daemon)
						rule=backend-up what="backend/ includes $tgt" ;;
					esac ;;
				common)
					[ "$tl" != common ] && rule=common-alone what="common/ includes $tgt"
					;;
				store)
					case $tl in backend|tier|meter|fuse|daemon)
						rule=store-down what="store/ includes $tgt" ;;
					esac ;;
				tier)
					case $tl in meter|fuse|daemon)
						rule=tier-up what="tier/ includes $tgt" ;;
					esac ;;
				meter)
					case $tl in tier|store|fuse|daemon)
						rule=meter-up what="meter/ includes $tgt" ;;
					esac ;;
				fuse)
					if [ "$tl" = daemon ]; then
						rule=fuse-up what="fuse/ includes $tgt"
					elif [ "$tl" != fuse ] && [[ $tgt == *_i.h ]]; then
						rule=fuse-internal what="fuse/ includes $tgt, internal to ${tl}/"
					fi ;;
				daemon)
					if [ "$tgt" = fuse/fuse_i.h ] || [[ $tgt == backend/*_i.h ]]; then
						rule=daemon-internal what="daemon/ includes $tgt, internal to ${tl}/"
					fi ;;
				esac
				[ -n "$rule" ] && report "$f" "$line" "$rule" "$tgt" "$what"
			done < <(strip_c < "$root/$f" |
				grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*"' || true)

			# backend-tier: tier's names in backend/ (comments and strings stripped)
			if [ "$layer" = backend ]; then
				while IFS=: read -r line inc; do
					while read -r fn; do
						report "$f" "$line" backend-tier "$fn" \
							"backend/ names $fn: tier is reached through the chunk-store ops only"
					done < <(grep -oE "$TIER_NAMES" <<<"$inc" | sed -E 's/^[^[:alpha:]_]//; s/[[:space:]]*\($//; s/^struct[[:space:]]+tier.*/struct tier/')
				done < <(strip_c strings < "$root/$f" | grep -nE "$TIER_NAMES" || true)
			fi

			# the backing-fd rule: calls in fuse/*.c and daemon/*.c
			case $layer:$f in
			fuse:*.c|daemon:*.c) ;;
			*) continue ;;
			esac
			while IFS=: read -r line inc; do
				while read -r fn; do
					fn=${fn%%[[:space:](]*}
					if [ "${#ALLOWED_CALLS[@]}" -gt 0 ] &&
						in_list "$f $fn" "${ALLOWED_CALLS[@]}"; then
						continue
					fi
					report "$f" "$line" backing-fd "$fn" \
						"$fn() in ${layer}/: only the chunk store does I/O on a backing fd"
				done < <(grep -oE "(^|[^[:alnum:]_.>])($CALLS)(64)?[[:space:]]*\\(" <<<"$inc" |
					sed -E 's/^[^[:alpha:]_]//')
			done < <(strip_c strings < "$root/$f" |
				grep -nE "(^|[^[:alnum:]_.>])($CALLS)(64)?[[:space:]]*\\(" || true)
		done < <(find "$root/$layer" -name '*.[ch]' -type f | LC_ALL=C sort)
	done

	if [ "${#KNOWN_VIOLATIONS[@]}" -gt 0 ]; then
		for key in "${KNOWN_VIOLATIONS[@]}"; do
			if [ "${#seen[@]}" -eq 0 ] || ! in_list "$key" "${seen[@]}"; then
				echo "note: KNOWN_VIOLATIONS entry '$key' no longer occurs: remove it"
			fi
		done
	fi
	echo "check-layers: $n violation(s), $known of them known"
	return "$failed"
}

# Plants one violation of each rule (and the things that must pass) in a
# scratch tree and checks that each rule is reported at its file:line, and
# nothing else is.
self_test() {
	local t out status=0 want
	local -a KNOWN_VIOLATIONS=()   # the check of the scratch tree knows of none
	t=$(mktemp -d "${TMPDIR:-/tmp}/check-layers.XXXXXX")
	mkdir -p "$t"/{common,store,backend,tier,meter,fuse,daemon}
	printf '#include "common/log.h"\n#include "store/objstore.h"\n' > "$t/common/x.c"
	printf '#include "common/log.h"\n#include "backend/fs.h"\n' > "$t/store/x.c"
	printf '#include "backend/fs_i.h"\n#include "store/codec.h"\n#include "tier/tier.h"\n' > "$t/backend/x.c"
	printf 'int f(void) { return tier_open(0) + ops->tier_x(1) + fs_tier_y(2); } /* tier_close() */\n' >> "$t/backend/x.c"
	printf 'struct tier *t; struct tiers *q; const char *s = "tier_z()";\n' >> "$t/backend/x.c"
	printf '/* #include "fuse/fuse_i.h" in a comment */\n#include "fuse/fuse_i.h"\n' > "$t/backend/x.h"
	printf '#include "backend/fs_i.h"\n#include "store/objstore.h"\n#include "daemon/control.h"\n' > "$t/tier/x.c"
	printf '#include "fuse/fuse_i.h"\n#include "backend/fs.h"\n#include "backend/fs_i.h"\n#include "daemon/control.h"\n' > "$t/fuse/x.c"
	printf '#include "backend/layer.h"\n#include "common/log.h"\n#include "tier/tier.h"\n' > "$t/meter/x.c"
	cat > "$t/fuse/y.c" <<-'EOF'
	#include "fuse_i.h"
	static int f(int fd, void *b)
	{
		/* pwrite(fd, b, 1, 0) in a comment */
		const char *s = "fsync(fd)";
		fs_fsync(0); op_lseek(1); x.pread(2); p->fallocate(3);
		return pread(fd, b, 1, 0) + (int)lseek64 (fd, 0, 0);
	}
	EOF
	printf '#include "fuse/session.h"\n#include "backend/meta_i.h"\n#include "fuse/fuse_i.h"\n' > "$t/daemon/x.c"
	printf 'void g(int fd) { fdatasync(fd); copy_file_range(fd, 0, fd, 0, 1, 0); }\n' > "$t/daemon/y.c"

	out=$(check "$t") && { echo "self-test: planted violations passed"; status=1; }
	for want in \
		"common/x.c:2: common-alone:" \
		"store/x.c:2: store-down:" \
		"backend/x.c:2: backend-up:" \
		"backend/x.c:3: backend-up:" \
		"backend/x.c:4: backend-tier: backend/ names tier_open:" \
		"backend/x.c:5: backend-tier: backend/ names struct tier:" \
		"backend/x.h:2: backend-up:" \
		"tier/x.c:3: tier-up:" \
		"meter/x.c:3: meter-up:" \
		"fuse/x.c:3: fuse-internal:" \
		"fuse/x.c:4: fuse-up:" \
		"fuse/y.c:7: backing-fd: pread()" \
		"fuse/y.c:7: backing-fd: lseek64()" \
		"daemon/x.c:2: daemon-internal:" \
		"daemon/x.c:3: daemon-internal:" \
		"daemon/y.c:1: backing-fd: fdatasync()" \
		"daemon/y.c:1: backing-fd: copy_file_range()" \
		"check-layers: 17 violation(s), 0 of them known"; do
		if ! grep -qF -- "$want" <<<"$out"; then
			echo "self-test: missing '$want'"
			status=1
		fi
	done
	rm -rf "$t"
	if [ "$status" != 0 ]; then
		echo "self-test: the check printed:"
		echo "$out"
		return 1
	fi
	echo "self-test: every rule reported"
}

if [ "${1:-}" = --self-test ]; then
	self_test
else
	check "$(cd "${1:-$(dirname "$0")/..}" && pwd)"
fi
