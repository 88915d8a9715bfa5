# bench/requests.sh - sourced by bench/run.sh: counts the FUSE requests each
# FUSE target's kernel sends during the timed part of a workload's warm-up
# run, with the kernel's fuse:fuse_request_send trace event (tracefs), and
# turns them into the report's "requests per unit" lines and the ceiling
# they put on efsfs (see bench/README.md, "Requests and ceilings").
#
# The counting uses a tracefs instance of its own (instances/efsfs-bench-PID:
# its own buffer, switch and event, so nothing of the host's tracing setup
# is touched), removed by req_restore, which run.sh's cleanup calls.  Only
# the warm-up run is traced: where the workload marks the start of its
# timed part (disk_mark, through req_arm), the event is enabled with a
# filter on the traced mount's FUSE connection (so that other FUSE mounts
# on the host do not count), and req_collect disables it when the run
# returns; the counted runs carry no tracing at all.  A buffer that lost
# events makes that cell "not counted" rather than low.
#
# The kernel sends FORGET, BATCH_FORGET and INTERRUPT without this event,
# so they are not counted; RELEASE and RELEASEDIR, which the application
# does not wait for, are counted apart ("in the background").
# shellcheck shell=bash disable=SC2034

REQ_TRACEFS=/sys/kernel/tracing
REQ_INST=""             # the instance directory while counting works
REQ_MOUNTED=0           # 1 when req_setup mounted tracefs (unmounted again)
REQ_NOTE=""             # why nothing is counted, or ""
REQ_ON=0                # 1 while counting works
declare -A REQ_COUNTS=()        # "wl target" -> "OPCODE=N ..." ("none": zero)

REQ_BACKGROUND=" FUSE_RELEASE FUSE_RELEASEDIR "

req_setup()
{
	if ((WARMUP == 0)); then
		REQ_NOTE="no warm-up run (--warmup 0): requests not counted"
		return 1
	fi
	if [[ ! -d $REQ_TRACEFS/instances ]]; then
		mount -t tracefs nodev "$REQ_TRACEFS" 2>/dev/null && REQ_MOUNTED=1
	fi
	if [[ ! -d $REQ_TRACEFS/events/fuse/fuse_request_send ]] ||
		! mkdir "$REQ_TRACEFS/instances/efsfs-bench-$$" 2>/dev/null; then
		REQ_NOTE="no tracefs instance with the fuse:fuse_request_send event in $REQ_TRACEFS: requests not counted"
		req_restore
		return 1
	fi
	REQ_INST=$REQ_TRACEFS/instances/efsfs-bench-$$
	# about 40 bytes an event: room for 200,000 on each CPU
	echo 8192 >"$REQ_INST/buffer_size_kb" 2>/dev/null || true
	echo 0 >"$REQ_INST/tracing_on"
	REQ_ON=1
}

req_restore()
{
	if [[ -n "$REQ_INST" ]]; then
		echo 0 >"$REQ_INST/events/fuse/fuse_request_send/enable" 2>/dev/null
		rmdir "$REQ_INST" 2>/dev/null
		REQ_INST=""
	fi
	REQ_ON=0
	if ((REQ_MOUNTED)); then
		umount "$REQ_TRACEFS" 2>/dev/null
		REQ_MOUNTED=0
	fi
}

# The connection number the event reports for the FUSE mount at DIR: the
# kernel's dev_t of its superblock, major << 20 | minor.
req_connection()
{
	local mm
	mm=$(findmnt -n -o MAJ:MIN -M "$1" 2>/dev/null | head -n 1 | tr -d ' ') || return 1
	[[ $mm =~ ^([0-9]+):([0-9]+)$ ]] || return 1
	echo $(((BASH_REMATCH[1] << 20) | BASH_REMATCH[2]))
}

# disk_mark calls this at the start of a run's timed part: when the run is
# traced (REQ_TRACING, in its environment, names the target's mount point),
# start counting that mount's requests afresh.  A mount whose connection
# cannot be found is not counted (no filter would count every mount's).
req_arm()
{
	local ev=$REQ_INST/events/fuse/fuse_request_send conn
	[[ -n "${REQ_TRACING:-}" && -n "$REQ_INST" ]] || return 0
	req_stop
	conn=$(req_connection "$REQ_TRACING") || return 0
	echo "connection == $conn" >"$ev/filter" || return 0
	echo 1 >"$REQ_INST/tracing_on"
	echo 1 >"$ev/enable"
}

# req_count_trace DIR: "OPCODE=N ..." from DIR/trace, "none" for no event,
# "lost" when DIR/per_cpu/*/stats report overrun or dropped events.
req_count_trace()
{
	local lost counts
	lost=$(awk '/^(overrun|dropped events):/ { s += $NF } END { print s + 0 }' \
		"$1"/per_cpu/cpu*/stats 2>/dev/null)
	if [[ "${lost:-0}" != 0 ]]; then
		echo lost
		return
	fi
	counts=$(grep -o 'opcode [0-9]* (FUSE_[A-Z0-9_]*)' "$1/trace" |
		awk '{ gsub(/[()]/, "", $3); n[$3]++ } END { for (o in n) printf "%s=%d ", o, n[o] }')
	echo "${counts:-none}"
}

# Stops counting; with "keep WL TARGET", keeps the counts by opcode first
# (req_collect); the buffer is emptied either way.
req_stop()
{
	[[ -n "$REQ_INST" ]] || return 0
	echo 0 >"$REQ_INST/events/fuse/fuse_request_send/enable"
	echo 0 >"$REQ_INST/tracing_on"
	[[ ${1:-} == keep ]] && REQ_COUNTS["$2 $3"]=$(req_count_trace "$REQ_INST")
	: >"$REQ_INST/trace"
}

# req_collect WL TARGET: stops counting and keeps the counts by opcode.
req_collect()
{
	req_stop keep "$1" "$2"
}

# Units of work in one run of WL on TARGET (what its rate counts), or
# nothing for a workload whose rate is not per operation.
wl_units()
{
	local w=$1 t=$2
	case $w in
	create | stat | untar | rmrf | nullreq | pcreate1 | find | du | gitclone)
		size_of "$(wl_size_key "$w")" "$t" ;;
	meta) echo $((6 * $(size_of meta "$t"))) ;;        # 6 operations a round
	pcreate4) echo $((4 * $(size_of pcreate "$t"))) ;; # 4 processes
	qsmall | qstat) size_of qsmall "$t" ;;
	*) return 1 ;;
	esac
}

# req_per_unit WL TARGET: "SYNC BACKGROUND DETAIL|BGDETAIL" per unit, each
# detail the opcodes, most frequent first (ties by name); nothing (status
# 1) when not counted.
req_per_unit()
{
	local w=$1 t=$2 units counts=${REQ_COUNTS["$1 $2"]:-}
	[[ -n "$counts" && "$counts" != lost ]] || return 1
	units=$(wl_units "$w" "$t") || return 1
	[[ $counts == none ]] && counts=""
	awk -v units="$units" -v bg="$REQ_BACKGROUND" -v counts="$counts" '
	function listed(a,    best, o, d) {
		d = ""
		while (1) {
			best = ""
			for (o in a)
				if (best == "" || a[o] > a[best] || (a[o] == a[best] && o < best))
					best = o
			if (best == "")
				return d
			if (a[best] / units >= 0.01)
				d = d sprintf("%s%s %.2f", d == "" ? "" : ", ", substr(best, 6), a[best] / units)
			delete a[best]
		}
	}
	BEGIN {
		n = split(counts, kv, " ")
		for (i = 1; i <= n; i++) {
			split(kv[i], p, "=")
			if (index(bg, " " p[1] " ")) { b += p[2]; g[p[1]] = p[2] }
			else { s += p[2]; c[p[1]] = p[2] }
		}
		printf "%.2f %.2f %s|%s\n", s / units, b / units, listed(c), listed(g)
	}'
}

# req_ceiling N NULL_EFSFS NULL_NATIVE NULL_REQS NATIVE: "CEILING T_REQ T_NAT"
# for a workload whose unit waits for N requests: T_REQ, the time one
# request adds (efsfs's nullreq time per call less native's, the system
# call both make, over the requests per call), T_NAT native's time per
# unit (from its rate NATIVE), CEILING = T_NAT / (N * T_REQ + T_NAT).
# Rates in calls or units per second; NULL_NATIVE 0 when native did not
# run nullreq (nothing is taken off), NULL_REQS 0 when uncounted (1).
req_ceiling()
{
	awk -v n="$1" -v e="$2" -v nat="$3" -v q="$4" -v r="$5" 'BEGIN {
		if (e <= 0 || r <= 0) exit 1
		t = 1e6 / e - (nat > 0 ? 1e6 / nat : 0)
		if (q > 0) t /= q
		if (t < 0) t = 0
		tn = 1e6 / r
		printf "%.2f %.1f %.1f\n", tn / (n * t + tn), t, tn
	}'
}
