#!/bin/bash
# tests/mount/meter.sh - mount suite: the meter (meter/) through a real
# mount.
#  - provisioned 10 MiB/s: writing 100 MiB with fsync takes at least 9 s
#    (a lower bound only: a slow machine can only be slower), metadata
#    requests are answered meanwhile, DataWriteIOBytes and MeteredIOBytes
#    match what was written within 1%, and the Prometheus endpoint
#    (metrics_listen) serves metrics that `promtool check metrics` accepts
#    while the file system is busy, and a real Prometheus scrapes it;
#  - bursting, with the test clock (EFSFS_METER_TEST_CLOCK=1 and the control
#    `efsfs metrics advance`): BurstCreditBalance falls while bursting, rises
#    when idle, and is kept across a remount;
#  - elastic (the default): not throttled, `efsfs stats --json` answers.
# Needs: EFSFS, root, /dev/fuse; promtool and prometheus (Debian's prometheus package).

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root_fuse
command -v promtool >/dev/null || fail "promtool not found (apt-get install prometheus)"
command -v curl >/dev/null || fail "curl not found"

# stat_of NAME METRIC: the value of METRIC in `efsfs stats NAME`.
stat_of()
{
	local out
	out=$("$EFSFS" stats "$1") || fail "efsfs stats $1 failed: $out"
	awk -v k="$2:" '$1 == k { print $2; found = 1 } END { exit !found }' <<<"$out" ||
		fail "efsfs stats $1 has no $2: $out"
}

# within_pct A B PCT: |A - B| <= B * PCT / 100
within_pct()
{
	awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= b * p / 100) }'
}

# a free loopback port
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# ---- provisioned 10 MiB/s ----------------------------------------------------
make_config tp "throughput_mode = provisioned" "provisioned_throughput_in_mibps = 10" \
	"metrics_listen = 127.0.0.1:$port"
efsfs_mkfs tp
mnt="$TEST_TMP/tp.mnt"
efsfs_mount tp "$mnt"
assert_eq provisioned "$(stat_of tp ThroughputMode)" "stats shows the throughput mode"
assert_eq $((10 * 1048576)) "$(stat_of tp PermittedThroughput)" \
	"PermittedThroughput is the provisioned 10 MiB/s (baseline is 1 MiB/s)"
w0=$(stat_of tp DataWriteIOBytes)
m0=$(stat_of tp MeteredIOBytes)

start=$(date +%s.%N)
dd if=/dev/zero of="$mnt/big" bs=1M count=100 conv=fsync status=none &
ddpid=$!
# while dd runs (and is being delayed): metadata is answered, and the
# endpoint serves valid metrics
wait_until 20 test -e "$mnt/big" || fail "dd did not create $mnt/big"
t0=$(date +%s%N)
timeout 5 ls -l "$mnt" >/dev/null || fail "ls on the busy, throttled mount failed or hung"
timeout 5 mkdir "$mnt/dir-while-busy" || fail "mkdir on the throttled mount failed or hung"
t1=$(date +%s%N)
((t1 - t0 < 3000000000)) || fail "metadata took $(((t1 - t0) / 1000000)) ms while data was throttled"
pass "metadata requests answered in $(((t1 - t0) / 1000000)) ms while data is throttled"
curl -sf "http://127.0.0.1:$port/metrics" >"$TEST_TMP/metrics.txt" ||
	fail "GET http://127.0.0.1:$port/metrics failed"
kill -0 "$ddpid" 2>/dev/null || fail "dd ended before the scrape: the throttle is not working"
out=$(promtool check metrics <"$TEST_TMP/metrics.txt" 2>&1) ||
	fail "promtool check metrics: $out"
pass "promtool accepts the endpoint's metrics while the file system is busy"
grep -q "^efsfs_data_write_io_bytes_total{file_system_id=\"$FS_ID\"} " "$TEST_TMP/metrics.txt" ||
	fail "no efsfs_data_write_io_bytes_total for $FS_ID: $(head -c 2000 "$TEST_TMP/metrics.txt")"
grep -q "^efsfs_storage_bytes{file_system_id=\"$FS_ID\",storage_class=\"Standard\"} " \
	"$TEST_TMP/metrics.txt" || fail "no efsfs_storage_bytes{storage_class=\"Standard\"}"
grep -q '^# HELP efsfs_metered_io_bytes_total CloudWatch MeteredIOBytes (Bytes)' \
	"$TEST_TMP/metrics.txt" || fail "the HELP of MeteredIOBytes does not give its CloudWatch name"
pass "the endpoint has the series with file_system_id and storage_class labels"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/other")
assert_eq 404 "$code" "the endpoint answers 404 outside /metrics"
wait "$ddpid" || fail "dd of 100 MiB with fsync failed"
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
awk -v s="$secs" 'BEGIN { exit !(s >= 9) }' ||
	fail "100 MiB with fsync at a provisioned 10 MiB/s took $secs s (< 9 s): not throttled"
pass "100 MiB with fsync at a provisioned 10 MiB/s took $secs s (>= 9 s)"
w=$(($(stat_of tp DataWriteIOBytes) - w0))
m=$(($(stat_of tp MeteredIOBytes) - m0))
within_pct "$w" 104857600 1 || fail "DataWriteIOBytes grew by $w, not 104857600 within 1%"
pass "DataWriteIOBytes grew by $w for 100 MiB written"
within_pct "$m" 104857600 1 || fail "MeteredIOBytes grew by $m, not 104857600 within 1%"
pass "MeteredIOBytes grew by $m for 100 MiB written"
t=$(stat_of tp ThrottledOperations)
((t > 0)) || fail "ThrottledOperations is $t after writing 10 times the rate"
pass "ThrottledOperations: $t"
assert_eq 1 "$(stat_of tp ClientConnections)" "ClientConnections is 1 while mounted"
# a real Prometheus scrapes the endpoint: its query API then has the series
pport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: efsfs\n    static_configs:\n      - targets: ["127.0.0.1:%s"]\n' \
	"$port" >"$TEST_TMP/prometheus.yml"
prometheus --config.file="$TEST_TMP/prometheus.yml" --storage.tsdb.path="$TEST_TMP/prom" \
	--web.listen-address="127.0.0.1:$pport" >"$TEST_TMP/prometheus.log" 2>&1 &
prompid=$!
prom_has_series()
{
	curl -sf "http://127.0.0.1:$pport/api/v1/query?query=efsfs_data_write_io_bytes_total" |
		grep -q "\"file_system_id\":\"$FS_ID\""
}
rc=0
wait_until 60 prom_has_series || rc=$?
kill "$prompid" 2>/dev/null || true
wait "$prompid" 2>/dev/null || true
((rc == 0)) || fail "Prometheus did not get efsfs_data_write_io_bytes_total: $(tail -n 5 "$TEST_TMP/prometheus.log")"
pass "a real Prometheus scraped the endpoint (efsfs_data_write_io_bytes_total of $FS_ID)"
assert_eq 0 "$(stat_of tp PassthroughOpens)" "a throttled file system opens nothing with passthrough"
efsfs_umount "$mnt"
# the history: the unmount recorded the last minute; get-metric-statistics
# over the two hours around now sums every byte written
t0=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
t1=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
out=$("$EFSFS" metrics get tp --metric-name DataWriteIOBytes --start-time "$t0" \
	--end-time "$t1" --period 7200 --statistics Sum SampleCount 2>&1) ||
	fail "efsfs metrics get tp: $out"
sum=$(python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["Label"] == "DataWriteIOBytes"; print(int(sum(p["Sum"] for p in d["Datapoints"])))' <<<"$out") ||
	fail "efsfs metrics get printed no AWS-style JSON: $out"
((sum >= 104857600)) || fail "metrics get: Sum of DataWriteIOBytes is $sum, less than written: $out"
pass "metrics get (unmounted, from the history): Sum of DataWriteIOBytes $sum"
out=$("$EFSFS" metrics get tp --metric-name StorageBytes --start-time "$t0" --end-time "$t1" \
	--period 60 --statistics Maximum 2>&1) && fail "StorageBytes without a class worked: $out"
grep -q "StorageClass" <<<"$out" || fail "StorageBytes without a class: unclear error: $out"
pass "metrics get: StorageBytes without --dimensions is refused, naming StorageClass"

# ---- bursting, with the test clock ---------------------------------------------------
make_config burst "throughput_mode = bursting"
efsfs_mkfs burst
mnt="$TEST_TMP/burst.mnt"
EFSFS_METER_TEST_CLOCK=1 efsfs_mount burst "$mnt"
c0=$(stat_of burst BurstCreditBalance)
dd if=/dev/zero of="$mnt/f" bs=1M count=64 conv=fsync status=none || fail "dd of 64 MiB failed"
c1=$(stat_of burst BurstCreditBalance)
# 64 MiB metered above a 1 MiB/s baseline: the balance falls by about 64 MiB
# less a second or two of baseline
((c1 < c0 - 48 * 1048576)) || fail "BurstCreditBalance went from $c0 to $c1 while bursting 64 MiB"
pass "BurstCreditBalance fell by $(((c0 - c1) / 1048576)) MiB while bursting 64 MiB"
out=$("$EFSFS" metrics advance burst 3600 2>&1) || fail "efsfs metrics advance burst 3600: $out"
c2=$(stat_of burst BurstCreditBalance)
((c2 > c1)) || fail "BurstCreditBalance did not rise after an idle hour: $c1 -> $c2"
pass "BurstCreditBalance rose by $(((c2 - c1) / 1048576)) MiB after an idle hour (test clock)"
# spend again and remount: the balance is saved in the metadata
dd if=/dev/zero of="$mnt/g" bs=1M count=64 conv=fsync status=none || fail "dd of 64 MiB failed"
c3=$(stat_of burst BurstCreditBalance)
efsfs_umount "$mnt"
c4=$(stat_of burst BurstCreditBalance)
((c4 >= c3 && c4 < c0)) ||
	fail "unmounted, BurstCreditBalance is $c4 (mounted it was $c3, at the start $c0)"
pass "the balance is kept across unmount ($c3 -> $c4)"
efsfs_mount burst "$mnt"
c5=$(stat_of burst BurstCreditBalance)
((c5 >= c3 && c5 < c0)) || fail "remounted, BurstCreditBalance is $c5 (before: $c3)"
pass "the balance is kept across a remount ($c3 -> $c5)"
out=$("$EFSFS" metrics advance burst 60 2>&1) &&
	fail "metrics advance worked without the test clock: $out"
pass "metrics advance is refused on the real clock"
efsfs_umount "$mnt"

# ---- elastic, the default ------------------------------------------------------------------
make_config el
efsfs_mkfs el
mnt="$TEST_TMP/el.mnt"
efsfs_mount el "$mnt"
# StorageBytes counts allocated bytes: a 10 GiB sparse file with one byte
# written is not 10 GiB of Standard
truncate -s 10G "$mnt/sparse" || fail "truncate -s 10G failed"
printf x | dd of="$mnt/sparse" bs=1 seek=$((5 * 1024 * 1024 * 1024)) conv=notrunc,fsync status=none ||
	fail "writing one byte into the sparse file failed"
std=$(stat_of el 'StorageBytes{StorageClass=Standard}')
((std > 0 && std < 1048576)) ||
	fail "StorageBytes{StorageClass=Standard} is $std for a 10 GiB sparse file with 1 byte written"
pass "StorageBytes{StorageClass=Standard} is $std for a 10 GiB sparse file with 1 byte written"
out=$("$EFSFS" stats --json el) || fail "efsfs stats --json el: $out"
python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["ThroughputMode"] == "elastic", d; assert "StorageBytes" in d and "Standard" in d["StorageBytes"], d' <<<"$out" ||
	fail "efsfs stats --json is not the JSON expected: $out"
pass "efsfs stats --json: elastic by default, valid JSON"
efsfs_umount "$mnt"
finish
