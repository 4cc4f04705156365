#!/bin/sh
# ingest.sh - LoRaWAN ingest and dataArray throughput, each next to the raw
# SQLite batched-insert ceiling measured in the same run (bench/README.md).
#
#   sh bench/ingest.sh          (also called at the end of bench/run.sh;
#                                BENCH_INGEST=0 skips it there)
#
# 1. MQTT uplinks/s end to end: a private mosquitto on loopback, klammer
#    serve --ingest-mqtt, bench/uplink_pub.c publishing N pre-built ChirpStack
#    uplinks at QoS 1 for BENCH_INGEST_DEVICES registered devices; the clock
#    runs from the first publication until klammer has stored all N
#    (Observations $count polled).
# The MQTT ceiling: the same uplinks through the same broker to mosquitto_sub
#    at QoS 1, which only acknowledges (before klammer connects).
# 2. dataArray observations/s: BENCH_DA_REQUESTS POST /v1.1/CreateObservations
#    of 10,000 rows each, one after another.
# Every run is bounded: N <= 200,000, each phase <= 60 s.
#
#   KLAMMER_BIN              server binary (build/klammer)
#   BENCH_INGEST_N           uplinks published (20000; at most 200000)
#   BENCH_INGEST_DEVICES     registered devices the uplinks come from (100)
#   BENCH_INGEST_CLIENTS     klammer's --ingest-mqtt-clients (1)
#   BENCH_DA_REQUESTS        CreateObservations requests of 10,000 rows (10)
#   BENCH_SQLITE_ROWS        rows for the SQLite ceiling (200000)
#   BENCH_INGEST_DB          klammer's --db instead of a fresh SQLite file (bench/run.sh
#                            BENCH_DB=pg passes a fresh PostgreSQL database); with it:
#   BENCH_INGEST_CEILING     the storage ceiling measured by the caller (rows/s), instead
#                            of running ceiling_sqlite, and BENCH_INGEST_CEILING_NAME its name,
#   BENCH_INGEST_CEILING_TRIG  the same with Klammer's statistics trigger
#   BENCH_INGEST_KV          append the figures as name=value lines to this file
#   BENCH_TMPDIR             where the databases go (${TMPDIR:-/tmp})
#
# SPDX-License-Identifier: Apache-2.0
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
OUT=$ROOT/build/bench
BIN=${KLAMMER_BIN:-$ROOT/build/klammer}
N=${BENCH_INGEST_N:-20000}
DEVICES=${BENCH_INGEST_DEVICES:-100}
CLIENTS=${BENCH_INGEST_CLIENTS:-1}
DA_REQ=${BENCH_DA_REQUESTS:-10}
SQLITE_ROWS=${BENCH_SQLITE_ROWS:-200000}
[ "$N" -le 200000 ] || N=200000

log() { echo "ingest.sh: $*" >&2; }
die() { log "$*"; exit 1; }
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || die "mosquitto is not installed"
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
command -v curl >/dev/null || die "curl is not installed"
command -v node >/dev/null || die "node is not installed"
[ -x "$BIN" ] || die "no klammer binary at $BIN (make)"

mkdir -p "$OUT"
CFLAGS="-O2 -std=c11 -D_DEFAULT_SOURCE -Wall"
[ -x "$OUT/uplink_pub" ] && [ "$OUT/uplink_pub" -nt "$BENCH/uplink_pub.c" ] ||
    gcc $CFLAGS -pthread -o "$OUT/uplink_pub" "$BENCH/uplink_pub.c" $(pkg-config --cflags --libs libmosquitto) ||
    die "building uplink_pub"
[ -x "$OUT/ceiling_sqlite" ] && [ "$OUT/ceiling_sqlite" -nt "$BENCH/ceiling_sqlite.c" ] ||
    gcc $CFLAGS $(pkg-config --cflags sqlite3) -o "$OUT/ceiling_sqlite" "$BENCH/ceiling_sqlite.c" \
        $(pkg-config --libs sqlite3) || die "building ceiling_sqlite"

TMP=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/klammer-ingest-bench.XXXXXX")
MPID= KPID=
cleanup() {
    [ -z "$KPID" ] || { kill "$KPID" 2>/dev/null || true; wait "$KPID" 2>/dev/null || true; }
    [ -z "$MPID" ] || { kill "$MPID" 2>/dev/null || true; wait "$MPID" 2>/dev/null || true; }
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
now() { date +%s.%N; }
# CPU seconds (user + system) a process has used so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# CPU seconds per thread name of a process ("name seconds" lines).
cpu_threads() {
    for t in /proc/"$1"/task/*; do
        printf '%s %s\n' "$(cat "$t/comm")" "$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "$t/stat")"
    done | awk '{ s[$1] += $2 } END { for (k in s) printf "%s %.2f\n", k, s[k] }' | sort
}

# --- the storage ceiling -----------------------------------------------------
DB=${BENCH_INGEST_DB:-$TMP/k.db}
if [ -n "${BENCH_INGEST_DB:-}" ]; then
    ceil_full=${BENCH_INGEST_CEILING:-} ceil_trig=${BENCH_INGEST_CEILING_TRIG:-}
    ceil_name=${BENCH_INGEST_CEILING_NAME:-storage ceiling}
else
    mkdir -p "$TMP/sqlite"
    "$OUT/ceiling_sqlite" "$TMP/sqlite" "$SQLITE_ROWS" 1000 >"$TMP/sqlite.txt" || die "ceiling_sqlite"
    ceil_full=$(awk '/mode=batch1000 sync=FULL indexes=1 triggers=0/ { for (i=1;i<=NF;i++) if ($i ~ /^rows_per_s=/) { sub("rows_per_s=","",$i); print $i } }' "$TMP/sqlite.txt")
    ceil_trig=$(awk '/mode=batch1000 sync=FULL indexes=1 triggers=1/ { for (i=1;i<=NF;i++) if ($i ~ /^rows_per_s=/) { sub("rows_per_s=","",$i); print $i } }' "$TMP/sqlite.txt")
    ceil_name="SQLite 1000-row tx, FULL"
fi

# --- broker and server -------------------------------------------------------
MPORT=$(free_port)
cat >"$TMP/mosquitto.conf" <<CONF
listener $MPORT 127.0.0.1
allow_anonymous true
max_queued_messages 1000000
max_inflight_messages 1000
user root
CONF
"$MOSQ" -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
MPID=$!

# --- the MQTT ceiling ---------------------------------------------------------
# The same N uplinks through the same broker to a subscriber that does
# nothing but acknowledge them (mosquitto_sub at QoS 1): what publisher and
# broker allow on this machine before klammer does any work.  Run before
# klammer connects, so nothing is queued for its session.
SUB=$(command -v mosquitto_sub || true)
for _ in $(seq 50); do mosquitto_pub -h 127.0.0.1 -p "$MPORT" -t bench/up -m 1 2>/dev/null && break; sleep 0.1; done
ceil_mqtt=
if [ -n "$SUB" ]; then
    "$SUB" -h 127.0.0.1 -p "$MPORT" -q 1 -t 'application/#' -C "$N" -W 120 >/dev/null 2>&1 &
    SPID=$!
    sleep 0.5
    t0=$(now)
    "$OUT/uplink_pub" 127.0.0.1 "$MPORT" "$N" "$DEVICES" >/dev/null 2>&1 || true
    wait "$SPID" 2>/dev/null && ceil_mqtt=$(echo "$N / ($(now) - $t0)" | bc)
fi
HPORT=$(free_port)
"$BIN" serve --db "$DB" --listen "127.0.0.1:$HPORT" --log-level warn --threads 4 \
    --ingest-mqtt "mqtt://127.0.0.1:$MPORT" --ingest-mqtt-clients "$CLIENTS" \
    --mqtt-client-id "bench-$$" >"$TMP/klammer.log" 2>&1 &
KPID=$!
H=http://127.0.0.1:$HPORT
for _ in $(seq 100); do curl -sf "$H/v1.1" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "$H/v1.1" >/dev/null || die "klammer did not start: $(tail -5 "$TMP/klammer.log")"

post() { curl -sf -X POST -H 'Content-Type: application/json' --data-binary "$2" "$H$1"; }
post /v1.1/Things '{"name":"bench bins","description":"b","Locations":[{"name":"l","description":"d","encodingType":"application/geo+json","location":{"type":"Point","coordinates":[7.47,51.36]}}],"Datastreams":[{"name":"fill","description":"d","observationType":"http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement","unitOfMeasurement":{"name":"millimetre","symbol":"mm","definition":"ucum:mm"},"Sensor":{"name":"s","description":"d","encodingType":"text/plain","metadata":"m"},"ObservedProperty":{"name":"distance","definition":"d","description":"d"}},{"name":"da","description":"d","observationType":"http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement","unitOfMeasurement":{"name":"millimetre","symbol":"mm","definition":"ucum:mm"},"Sensor":{"name":"s2","description":"d","encodingType":"text/plain","metadata":"m"},"ObservedProperty":{"name":"distance2","definition":"d","description":"d"}}]}' >/dev/null ||
    die "cannot create the Datastreams"
node -e '
const n = +process.argv[1], out = [];
for (let d = 0; d < n; d++) out.push({ devEui: "24E12471" + d.toString(16).toUpperCase().padStart(8, "0"), decoder: "milesight-em310-udl", mapping: { distance: { datastream: 1 } } });
console.log(JSON.stringify(out));' "$DEVICES" >"$TMP/devices.json"
post /api/devices "@$TMP/devices.json" >/dev/null || die "cannot register the devices"
# Wait for every ingest connection.
for _ in $(seq 100); do curl -s "$H/health" | grep -q '"ingest":{"state":"connected"' && break; sleep 0.1; done

count() { curl -s "$H/v1.1/Datastreams($1)/Observations?\$count=true&\$top=0" | sed -n 's/.*"@iot.count":\([0-9]*\).*/\1/p'; }

# --- 1. uplinks end to end ---------------------------------------------------
log "publishing $N uplinks from $DEVICES devices ($CLIENTS ingest connections)"
cpu0_k=$(cpu "$KPID"); cpu0_m=$(cpu "$MPID"); cpu_threads "$KPID" >"$TMP/threads0.txt"
t0=$(now)
"$OUT/uplink_pub" 127.0.0.1 "$MPORT" "$N" "$DEVICES" >"$TMP/pub.txt" || die "uplink_pub: $(cat "$TMP/pub.txt")"
stored=0
while :; do
    stored=$(count 1)
    [ "${stored:-0}" -ge "$N" ] && break
    [ "$(echo "$(now) - $t0 > 60" | bc)" = 1 ] && break
    sleep 0.05
done
t1=$(now)
cpu_k=$(echo "$(cpu "$KPID") - $cpu0_k" | bc -l); cpu_m=$(echo "$(cpu "$MPID") - $cpu0_m" | bc -l)
cpu_threads "$KPID" >"$TMP/threads1.txt"
per_thread=$(join -a 2 -e 0 -o 0,1.2,2.2 "$TMP/threads0.txt" "$TMP/threads1.txt" |
    awk '{ printf "%s%s %.2f s", sep, $1, $3 - $2; sep = ", " }')
up_s=$(echo "$t1 - $t0" | bc -l)
up_rate=$(echo "${stored:-0} / $up_s" | bc)
pub_rate=$(sed -n 's/.*acked_per_s=\([0-9]*\).*/\1/p' "$TMP/pub.txt")
health=$(curl -s "$H/health")

# --- 2. dataArray --------------------------------------------------------------
# Each request carries the next 10,000 seconds of the series, as a logger
# uploading its backlog would (the same rows again would be a different,
# degenerate workload: every insert lands between equal keys).
node -e '
const n = Number(process.argv[1]), dir = process.argv[2], t0 = Date.UTC(2024, 0, 1);
for (let k = 0; k < n; k++) {
  const rows = [];
  for (let i = 0; i < 10000; i++) {
    const s = k * 10000 + i;
    rows.push([new Date(t0 + s * 1000).toISOString(), s % 977, { seq: s }]);
  }
  require("fs").writeFileSync(`${dir}/da-${k}.json`, JSON.stringify([{ Datastream: { "@iot.id": 2 },
    components: ["phenomenonTime", "result", "parameters"], dataArray: rows }]));
}' "$DA_REQ" "$TMP"
log "posting $DA_REQ CreateObservations requests of 10,000 rows"
t0=$(now)
i=0
while [ "$i" -lt "$DA_REQ" ]; do
    post /v1.1/CreateObservations "@$TMP/da-$i.json" >/dev/null || die "CreateObservations failed"
    i=$((i + 1))
    [ "$(echo "$(now) - $t0 > 60" | bc)" = 1 ] && break
done
t1=$(now)
da_rows=$(count 2)
da_s=$(echo "$t1 - $t0" | bc -l)
da_rate=$(echo "$da_rows / $da_s" | bc)

pct() { [ -n "$2" ] && [ "$2" -gt 0 ] && echo "$(echo "100 * $1 / $2" | bc) %" || echo "-"; }
echo
echo "## LoRaWAN ingest and dataArray (bench/ingest.sh)"
echo
echo "| workload | rate | of the storage ceiling ($ceil_name: $ceil_full rows/s) |"
echo "| --- | --- | --- |"
echo "| MQTT uplinks end to end (published -> stored), $stored of $N, $DEVICES devices, $CLIENTS connections | $up_rate uplinks/s | $(pct "$up_rate" "$ceil_full") |"
echo "| MQTT ceiling: the same uplinks to a subscriber that only acknowledges (mosquitto_sub, QoS 1) | ${ceil_mqtt:--} msg/s | klammer: $(pct "$up_rate" "${ceil_mqtt:-0}") of it |"
echo "| publisher alone: broker acknowledgements | $pub_rate msg/s | |"
echo "| CPU during the uplinks: klammer / mosquitto, of $(printf '%.1f' "$up_s") s wall on $(nproc) cores | $cpu_k s / $cpu_m s | |"
echo "| klammer's CPU by thread | $per_thread | |"
echo "| dataArray: $da_rows rows in $DA_REQ CreateObservations requests of 10,000 | $da_rate obs/s | $(pct "$da_rate" "$ceil_full") |"
echo "| for reference: the same ceiling with Klammer's statistics trigger | $ceil_trig rows/s | |"
echo
echo "Uplink timing runs from the first publication until \$count shows all N; the uplinks that"
echo "arrived together go through the HTTP write path as one CreateObservations request. Health after the run:"
echo
echo "    $(echo "$health" | sed -n 's/.*\("ingest":{[^]]*\].*\)}$/\1/p' | cut -c1-600)"
if [ -n "${BENCH_INGEST_KV:-}" ]; then
    printf 'uplink_rps=%s\nuplink_stored=%s\nuplink_n=%s\npub_rps=%s\nda_rps=%s\nda_rows=%s\n' \
        "$up_rate" "$stored" "$N" "$pub_rate" "$da_rate" "$da_rows" >>"$BENCH_INGEST_KV"
fi
