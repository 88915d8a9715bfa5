# bench/requests.sh - sourced by bench/run.sh: counts the FUSE requests each
# FUSE target's kernel sends during the timed part of a workload's warm-up
# run, with the kernel's fuse:fuse_request_send trace event (tracefs), and
# turns them into the report's "requests per unit" lines and the ceiling
# they put on efsfs (see bench/README.md, "Requests and ceilings").
#
# Only the warm-up run is traced, so the counted runs carry no tracing.
# The trace buffer is switched on where the workload marks the start of its
# timed part (disk_mark, through req_arm) and off when the run returns; a
# buffer that overran makes that cell "not counted" rather than low.
# Everything tracefs had before (buffer size, tracing_on, the event's
# enable) is put back by req_restore, which run.sh's cleanup calls.
# shellcheck shell=bash disable=SC2034

REQ_TRACEFS=/sys/kernel/tracing
REQ_EVENT=$REQ_TRACEFS/events/fuse/fuse_request_send
REQ_NOTE=""             # why nothing was counted, or ""
REQ_ON=0                # 1 while counting works
REQ_SAVED=""            # "buffer_size_kb tracing_on enable" before us
declare -A REQ_COUNTS=()        # "wl target" -> "OPCODE=N ..." (one warm-up run)

# Requests the kernel does not wait for: they overlap with the next ones.
REQ_BACKGROUND=" FUSE_RELEASE FUSE_RELEASEDIR FUSE_FORGET FUSE_BATCH_FORGET FUSE_INTERRUPT FUSE_NOTIFY_REPLY "

req_setup()
{
	if ((WARMUP == 0)); then
		REQ_NOTE="no warm-up run (--warmup 0): requests not counted"
		return 1
	fi
	if [[ ! -d $REQ_TRACEFS/events ]]; then
		mount -t tracefs nodev "$REQ_TRACEFS" 2>/dev/null || true
	fi
	if [[ ! -w $REQ_EVENT/enable || ! -w $REQ_TRACEFS/trace ]]; then
		REQ_NOTE="no fuse:fuse_request_send trace event in $REQ_TRACEFS: requests not counted"
		return 1
	fi
	# "7 (expanded: 1408)" before the buffer was first used: 1408 is its size
	REQ_SAVED="$(sed -E 's/.*expanded: ([0-9]+).*/\1/; s/^([0-9]+).*/\1/' "$REQ_TRACEFS/buffer_size_kb")"
	REQ_SAVED+=" $(cat "$REQ_TRACEFS/tracing_on") $(cut -c1 "$REQ_EVENT/enable")"
	# about 40 bytes an event: room for 200,000 on each CPU
	echo 8192 >"$REQ_TRACEFS/buffer_size_kb" 2>/dev/null || true
	echo 0 >"$REQ_TRACEFS/tracing_on"
	echo 1 >"$REQ_EVENT/enable" || { REQ_NOTE="cannot enable the trace event"; return 1; }
	REQ_ON=1
}

req_restore()
{
	local size on enable
	[[ -n "$REQ_SAVED" ]] || return 0
	read -r size on enable <<<"$REQ_SAVED"
	echo "$enable" >"$REQ_EVENT/enable" 2>/dev/null
	echo "$on" >"$REQ_TRACEFS/tracing_on" 2>/dev/null
	echo "$size" >"$REQ_TRACEFS/buffer_size_kb" 2>/dev/null
	REQ_SAVED=""
}

# disk_mark calls this at the start of a run's timed part: when the run is
# traced (REQ_TRACING=1 in its environment), clear the buffer and start.
req_arm()
{
	[[ "${REQ_TRACING:-0}" == 1 ]] || return 0
	echo 0 >"$REQ_TRACEFS/tracing_on"
	: >"$REQ_TRACEFS/trace"
	echo 1 >"$REQ_TRACEFS/tracing_on"
}

# req_collect WL TARGET: stops tracing and keeps the counts by opcode.
req_collect()
{
	local key="$1 $2" overrun
	echo 0 >"$REQ_TRACEFS/tracing_on"
	overrun=$(awk '/^overrun:/ { s += $2 } END { print s + 0 }' "$REQ_TRACEFS"/per_cpu/cpu*/stats 2>/dev/null)
	if [[ "${overrun:-0}" != 0 ]]; then
		REQ_COUNTS[$key]="overrun"
	else
		REQ_COUNTS[$key]=$(grep -o 'opcode [0-9]* (FUSE_[A-Z0-9_]*)' "$REQ_TRACEFS/trace" |
			awk '{ gsub(/[()]/, "", $3); n[$3]++ } END { for (o in n) printf "%s=%d ", o, n[o] }')
	fi
	: >"$REQ_TRACEFS/trace"
}

# Units of work in one run of WL on TARGET (what its rate counts), or
# nothing for a workload whose rate is not per operation.
wl_units()
{
	local w=$1 t=$2
	case $w in
	create | stat | untar | rmrf | nullreq) size_of "$w" "$t" ;;
	meta) echo $((6 * $(size_of meta "$t"))) ;;
	pcreate1) size_of pcreate "$t" ;;
	pcreate4) echo $((4 * $(size_of pcreate "$t"))) ;;
	find | du) size_of walk "$t" ;;
	gitclone) size_of git "$t" ;;
	qsmall | qstat) size_of qsmall "$t" ;;
	*) return 1 ;;
	esac
}

# req_per_unit WL TARGET: "SYNC BACKGROUND DETAIL" per unit, DETAIL the
# waited-for opcodes ("GETATTR 1.00, LOOKUP 1.00"); nothing when uncounted.
req_per_unit()
{
	local w=$1 t=$2 units counts=${REQ_COUNTS["$1 $2"]:-}
	[[ -n "$counts" && "$counts" != overrun ]] || return 1
	units=$(wl_units "$w" "$t") || return 1
	awk -v units="$units" -v bg="$REQ_BACKGROUND" -v counts="$counts" 'BEGIN {
		n = split(counts, kv, " ")
		for (i = 1; i <= n; i++) {
			split(kv[i], p, "=")
			if (index(bg, " " p[1] " ")) { b += p[2]; g[p[1]] = p[2] }
			else { s += p[2]; c[p[1]] = p[2] }
		}
		bd = ""
		for (o in g) nb++
		while (nb-- > 0) {
			best = ""
			for (o in g)
				if (best == "" || g[o] > g[best] || (g[o] == g[best] && o < best))
					best = o
			bd = bd sprintf("%s%s %.2f", bd == "" ? "" : ", ", substr(best, 6), g[best] / units)
			delete g[best]
		}
		# the waited-for ones, the most frequent first
		d = ""
		while (1) {
			best = ""
			for (o in c)
				if (best == "" || c[o] > c[best] || (c[o] == c[best] && o < best))
					best = o
			if (best == "") break
			if (c[best] / units >= 0.01)
				d = d sprintf("%s%s %.2f", d == "" ? "" : ", ", substr(best, 6), c[best] / units)
			delete c[best]
		}
		printf "%.2f %.2f %s|%s\n", s / units, b / units, d, bd
	}'
}
