#!/bin/sh
# run.sh - Klammer's benchmarks, each figure next to a ceiling measured in
# the same run on the same machine (see bench/README.md).
#
#   sh bench/run.sh                 (what `make bench` runs; ~5 minutes)
#   BENCH_QUICK=1 sh bench/run.sh   (small sizes and short runs; ~25 seconds)
#   BENCH_DB=pg sh bench/run.sh     (the same on PostgreSQL, beside its own ceiling)
#   BENCH_DB=both sh bench/run.sh   (both, then one table side by side: bench/compare.sh)
#
# Everything listens on 127.0.0.1 only, every run is bounded in time and
# size, servers are stopped by PID, and the temporary directory is removed
# on exit.  Environment (defaults: full run / BENCH_QUICK=1):
#
#   KLAMMER_BIN              server binary (build/klammer)
#   BENCH_DB                 sqlite (default), pg or both.  pg: a private PostgreSQL 15
#                            cluster (tools/pg-cluster.sh) in a temporary folder, a fresh
#                            database per server, the storage ceiling from
#                            bench/ceiling_pg.c; the cluster is stopped and removed at exit
#   BENCH_DURATION           seconds per wrk run (10 / 2)
#   BENCH_REPEAT             wrk runs per workload, the median is kept (3 / 1)
#   BENCH_WARMUP             seconds of unmeasured wrk load first (2 / 0)
#   BENCH_CONNECTIONS        wrk connections (32)
#   BENCH_WRK_THREADS        wrk threads (2)
#   BENCH_SERVER_THREADS     thread pool of Klammer and of the HTTP ceiling (2)
#   BENCH_LOG_LEVEL          Klammer's --log-level (warn: no access log)
#   BENCH_OBS                observations bulk-loaded before the HTTP
#                            workloads and the resident-memory figure (1000000 / 20000)
#   BENCH_MAP_THINGS         Things for the map query, 5 Datastreams each (1000 / 100)
#   BENCH_MAP_PER_THING      Datastreams per Thing (5)
#   BENCH_MAP_OBS            observations per map Datastream (3)
#   BENCH_MAP_N              measured map requests (50 / 10)
#   BENCH_COUNT_ROWS         observations in the $count datastream, loaded a tenth
#                            first (10000000 / 100000)
#   BENCH_COUNT_N            measured $count requests (100 / 20)
#   BENCH_SQLITE_ROWS        rows for the batched SQLite ceiling (1000000 / 100000)
#   BENCH_SQLITE_SINGLE_ROWS rows for the one-transaction-per-row ceiling (20000 / 2000)
#   BENCH_PG_ROWS            rows for the batched PostgreSQL ceilings (1000000 / 100000)
#   BENCH_PG_SINGLE_ROWS     rows for the autocommit PostgreSQL ceiling (5000 / 1000)
#   BENCH_SKIP_CEILINGS=1    skip the HTTP and storage ceilings
#   BENCH_SKIP_HTTP=1        skip the wrk workloads and the memory figure
#   BENCH_SKIP_MAP=1         skip the map query
#   BENCH_SKIP_COUNT=1       skip $count over BENCH_COUNT_ROWS observations
#   BENCH_SKIP_SERVER=1      skip everything that needs build/klammer
#   BENCH_TMPDIR             where the databases go (${TMPDIR:-/tmp})
#   BENCH_REQ_TIMEOUT        seconds one timed GET may take (60); a slower one is noted
#                            in the results, not measured; on PostgreSQL also Klammer's
#                            statement_timeout
#   BENCH_WAIT_IDLE          wait up to this many seconds for a load average < 0.5 (0)
#   BENCH_RESULTS            results file (bench/results/YYYY-MM-DD.md for a
#                            complete full run, bench/results/YYYY-MM-DD-pg.md on PostgreSQL,
#                            else build/bench/YYYY-MM-DD[-pg]-partial.md)
#   BENCH_KV_OUT             also write every figure as name=value lines to this file
#
# SPDX-License-Identifier: Apache-2.0
set -eu

# BENCH_ROOT: the work tree, when this script runs from a copy (bench/compare.sh).
ROOT=${BENCH_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BENCH=$ROOT/bench
OUT=$ROOT/build/bench
BIN=${KLAMMER_BIN:-$ROOT/build/klammer}
DB_KIND=${BENCH_DB:-sqlite}
case $DB_KIND in
sqlite | pg) ;;
both) exec sh "$BENCH/compare.sh" ;;
*) echo "run.sh: BENCH_DB must be sqlite, pg or both, not '$DB_KIND'" >&2; exit 2 ;;
esac

if [ "${BENCH_QUICK:-0}" = 1 ]; then
    d_duration=2 d_repeat=1 d_warmup=0 d_obs=20000 d_things=100 d_map_n=10
    d_count_rows=100000 d_count_n=20 d_sqlite=100000 d_sqlite_single=2000
    d_pg=100000 d_pg_single=1000
else
    d_duration=10 d_repeat=3 d_warmup=2 d_obs=1000000 d_things=1000 d_map_n=50
    d_count_rows=10000000 d_count_n=100 d_sqlite=1000000 d_sqlite_single=20000
    d_pg=1000000 d_pg_single=5000
fi
DURATION=${BENCH_DURATION:-$d_duration}
REPEAT=${BENCH_REPEAT:-$d_repeat}
WARMUP=${BENCH_WARMUP:-$d_warmup}
CONNS=${BENCH_CONNECTIONS:-32}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
SRV_THREADS=${BENCH_SERVER_THREADS:-2}
LOG_LEVEL=${BENCH_LOG_LEVEL:-warn}
OBS=${BENCH_OBS:-$d_obs}
MAP_THINGS=${BENCH_MAP_THINGS:-$d_things}
MAP_PER_THING=${BENCH_MAP_PER_THING:-5}
MAP_OBS=${BENCH_MAP_OBS:-3}
MAP_N=${BENCH_MAP_N:-$d_map_n}
COUNT_ROWS=${BENCH_COUNT_ROWS:-$d_count_rows}
COUNT_N=${BENCH_COUNT_N:-$d_count_n}
SQLITE_ROWS=${BENCH_SQLITE_ROWS:-$d_sqlite}
SQLITE_SINGLE_ROWS=${BENCH_SQLITE_SINGLE_ROWS:-$d_sqlite_single}
PG_ROWS=${BENCH_PG_ROWS:-$d_pg}
PG_SINGLE_ROWS=${BENCH_PG_SINGLE_ROWS:-$d_pg_single}
SKIP_CEILINGS=${BENCH_SKIP_CEILINGS:-0}
SKIP_HTTP=${BENCH_SKIP_HTTP:-0}
SKIP_MAP=${BENCH_SKIP_MAP:-0}
SKIP_COUNT=${BENCH_SKIP_COUNT:-0}
if [ "${BENCH_SKIP_SERVER:-0}" = 1 ]; then SKIP_HTTP=1 SKIP_MAP=1 SKIP_COUNT=1; fi

WAIT_IDLE=${BENCH_WAIT_IDLE:-0}
for v in WAIT_IDLE DURATION REPEAT WARMUP CONNS WRK_THREADS SRV_THREADS OBS MAP_THINGS MAP_PER_THING \
         MAP_OBS MAP_N COUNT_ROWS COUNT_N SQLITE_ROWS SQLITE_SINGLE_ROWS PG_ROWS PG_SINGLE_ROWS; do
    val=; eval "val=\$$v"
    case $val in '' | *[!0-9]*) echo "run.sh: $v must be a whole number, not '$val'" >&2; exit 2 ;; esac
done
if [ "$DURATION" -lt 1 ] || [ "$DURATION" -gt 300 ] || [ "$REPEAT" -lt 1 ] || [ "$REPEAT" -gt 10 ]; then
    echo "run.sh: BENCH_DURATION must be 1..300 and BENCH_REPEAT 1..10" >&2; exit 2
fi

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# Other work on the machine distorts every figure: say how busy it was, and
# with BENCH_WAIT_IDLE=SECONDS wait up to that long for a 1-minute load < 0.5.
loadavg() { cut -d' ' -f1 /proc/loadavg; }
if [ "$WAIT_IDLE" -gt 0 ]; then
    waited=0
    while awk -v l="$(loadavg)" 'BEGIN { exit !(l >= 0.5) }' && [ $waited -lt "$WAIT_IDLE" ]; do
        [ $waited = 0 ] && log "waiting for the load average ($(loadavg)) to fall below 0.5"
        sleep 10; waited=$((waited + 10))
    done
fi
LOAD_START=$(loadavg)
# CPU seconds used by the whole machine, and by this script and its children
# (all waited for): the difference is what other processes took meanwhile.
cpu_all() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.1f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat; }
# `times` must run in this shell, not in a $(...) subshell.
cpu_ours() { awk '{ for (i = 1; i <= NF; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] } } END { printf "%.1f", s }' "$1"; }
[ "${LOAD_START%%.*}" -lt 1 ] || log "WARNING: load average $LOAD_START: other processes will distort the figures"

# --- temporary directory, servers, cleanup -----------------------------------
TMP=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/klammer-bench.XXXXXX")
SERVER_PID=
CEIL_PID=
PG_DIR=

stop_pid() { # PID NAME: SIGTERM, up to 15 s, then SIGKILL; exit status in STOP_STATUS
    pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        log "$2 (pid $pid) ignored SIGTERM for 15 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    STOP_STATUS=0
    wait "$pid" 2>/dev/null || STOP_STATUS=$?
}

cleanup() {
    trap - EXIT HUP INT PIPE TERM
    if [ -n "$SERVER_PID" ]; then stop_pid "$SERVER_PID" klammer; fi
    if [ -n "$CEIL_PID" ]; then stop_pid "$CEIL_PID" ceiling_http; fi
    if [ -n "$PG_DIR" ]; then
        sh "$ROOT/tools/pg-cluster.sh" stop "$PG_DIR" || log "WARNING: stopping the PostgreSQL cluster in $PG_DIR failed"
        rm -rf "$PG_DIR"
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM
times >"$TMP/times0"
CPU_ALL0=$(cpu_all) WALL0=$(date +%s)

# --- tools ---------------------------------------------------------------------
need() { # COMMAND DEBIAN-PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing $2 (apt-get)"
        apt-get install -y "$2" >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 && apt-get install -y "$2" >/dev/null 2>&1; } ||
            die "apt-get install $2"
    fi
    command -v "$1" >/dev/null 2>&1 || die "$1 is missing: apt-get install $2"
}
need wrk wrk
need node nodejs
need curl curl
need gcc gcc
need pkg-config pkg-config
if [ "$DB_KIND" = pg ]; then
    need psql postgresql-client-15
    [ -x /usr/lib/postgresql/15/bin/pg_ctl ] || die "PostgreSQL 15 is missing (make deps)"
    pkg-config --exists libpq || die "libpq development files missing (make deps)"
elif [ "$SKIP_HTTP$SKIP_MAP$SKIP_COUNT" != 111 ]; then
    need sqlite3 sqlite3
fi
need bc bc # bench/ingest.sh computes its rates with bc
pkg-config --exists libmicrohttpd sqlite3 || die "libmicrohttpd/sqlite3 development files missing (make deps)"
if [ "$SKIP_HTTP$SKIP_MAP$SKIP_COUNT" != 111 ] && [ ! -x "$BIN" ]; then
    die "$BIN not found: run 'make' first, or BENCH_SKIP_SERVER=1 for the ceilings alone"
fi

mkdir -p "$OUT"
CFLAGS="-O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror"
# shellcheck disable=SC2046,SC2086
gcc $CFLAGS $(pkg-config --cflags libmicrohttpd) -o "$OUT/ceiling_http" "$BENCH/ceiling_http.c" \
    $(pkg-config --libs libmicrohttpd) -pthread || die "building ceiling_http"
# shellcheck disable=SC2046,SC2086
gcc $CFLAGS $(pkg-config --cflags sqlite3) -o "$OUT/ceiling_sqlite" "$BENCH/ceiling_sqlite.c" \
    $(pkg-config --libs sqlite3) || die "building ceiling_sqlite"
if [ "$DB_KIND" = pg ]; then
    # shellcheck disable=SC2046,SC2086
    gcc $CFLAGS $(pkg-config --cflags libpq) -o "$OUT/ceiling_pg" "$BENCH/ceiling_pg.c" \
        $(pkg-config --libs libpq) || die "building ceiling_pg"
fi

# --- databases: SQLite files in $TMP, or databases in a private PostgreSQL cluster ---
# The cluster gets its own folder: tools/pg-cluster.sh hands it to the user
# postgres when run as root.
PG_URL=
if [ "$DB_KIND" = pg ]; then
    PG_DIR=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/klammer-bench-pg.XXXXXX")
    PG_URL=$(sh "$ROOT/tools/pg-cluster.sh" start "$PG_DIR") || die "starting the PostgreSQL cluster"
    log "PostgreSQL cluster in $PG_DIR: $PG_URL"
fi
# CPU seconds of the PostgreSQL cluster so far: pg_ctl detaches the server, so
# `times` does not count it.  The postmaster's own time, that of the children
# it has reaped (cutime, cstime), and that of its live children.
cpu_pg() {
    pm=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) || { echo 0; return; }
    { cat "/proc/$pm/stat"
      for c in $(ps -o pid= --ppid "$pm"); do cat "/proc/$c/stat" 2>/dev/null || true; done; } |
        awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); s += $12 + $13 + $14 + $15 } END { printf "%.1f", s / hz }'
}
CPU_PG0=0
[ -z "$PG_DIR" ] || CPU_PG0=$(cpu_pg)
# new_db NAME: prints the --db of a fresh, empty database.
new_db() {
    if [ "$DB_KIND" = pg ]; then
        psql -X -q -v ON_ERROR_STOP=1 "$PG_URL" -c "CREATE DATABASE $1" >/dev/null || die "CREATE DATABASE $1"
        echo "${PG_URL%/*}/$1"
    else
        echo "$TMP/$1.db"
    fi
}
# dbq DB SQL: runs SQL, prints the result rows (one value per line, '|' between columns).
dbq() {
    if [ "$DB_KIND" = pg ]; then
        psql -X -q -A -t -v ON_ERROR_STOP=1 "$1" -c "$2"
    else
        sqlite3 "$1" "$2"
    fi
}
drop_db() {
    if [ "$DB_KIND" = pg ]; then
        psql -X -q "$PG_URL" -c "DROP DATABASE IF EXISTS ${1##*/}" >/dev/null || true
    else
        rm -f "$1" "$1-wal" "$1-shm"
    fi
}

client() { node "$BENCH/client.mjs" "$@"; }
# lat OUT WHAT URL N WARMUP [CHECK...]: client latency into OUT.  A request
# over BENCH_REQ_TIMEOUT seconds or not answered 200 is noted in the results
# (its figures stay empty, "(not run)") and the run goes on.
REQ_TIMEOUT=${BENCH_REQ_TIMEOUT:-60}
case $REQ_TIMEOUT in '' | *[!0-9]* | 0) die "BENCH_REQ_TIMEOUT must be a whole number of seconds > 0" ;; esac
export BENCH_REQ_TIMEOUT=$REQ_TIMEOUT
lat() {
    out=$1 what=$2; shift 2
    rc=0
    client latency "$@" >"$out" || rc=$?
    [ $rc = 0 ] && return 0
    [ $rc = 3 ] || die "$what"
    log "  WARNING: $what: $(cat "$out")"
    echo "$what: $(cat "$out")" >>"$TMP/failed-requests"
}

# Figures go to $KV as name=value lines; raw tool output to $DETAILS.
KV=$TMP/figures
DETAILS=$TMP/details
: >"$KV"
: >"$DETAILS"
put() { echo "$1=$2" >>"$KV"; }
get() { sed -n "s/^$1=//p" "$KV" | tail -n 1; }
detail() { case $1 in "### "*) echo >>"$DETAILS" ;; esac; printf '%s\n' "$*" >>"$DETAILS"; }

# --- wrk -------------------------------------------------------------------------
to_ms() { # wrk's 96.00us / 1.23ms / 1.50s -> milliseconds
    echo "$1" | awk '{ v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /ms$/) v += 0;
                       else if ($1 ~ /m$/) v *= 60000; else if ($1 ~ /s$/) v *= 1000;
                       printf "%.2f", v }'
}

# wrk_once NAME URL [LUA-SCRIPT [SCRIPT-ARG]]: one wrk run of BENCH_DURATION
# seconds (after BENCH_WARMUP seconds unmeasured, the first time for NAME);
# its output goes to $TMP/wrk-NAME-K.txt, its rate to $TMP/wrk-NAME.rates.
wrk_once() {
    name=$1 url=$2 script=${3:-} sarg=${4:-}
    echo "$url${script:+ (-s $(basename "$script"))}" >"$TMP/wrk-$name.what"
    set -- -t"$WRK_THREADS" -c"$CONNS" --timeout 10s --latency
    [ -n "$script" ] && set -- "$@" -s "$script"
    if [ -n "$sarg" ]; then set -- "$@" "$url" -- "$sarg"; else set -- "$@" "$url"; fi
    if [ ! -f "$TMP/wrk-$name.rates" ]; then
        : >"$TMP/wrk-$name.rates"
        if [ "$WARMUP" -gt 0 ]; then wrk -d"${WARMUP}s" "$@" >/dev/null 2>&1 || true; fi
    fi
    r=$(($(wc -l <"$TMP/wrk-$name.rates") + 1))
    f=$TMP/wrk-$name-$r.txt
    wrk -d"${DURATION}s" "$@" >"$f" 2>&1 || true
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$f")
    [ -n "$rps" ] || { cat "$f" >&2; die "wrk $name produced no rate"; }
    echo "$rps $r" >>"$TMP/wrk-$name.rates"
    log "  $name run $r: $rps req/s"
    drain_pg
}

# drain_pg: on PostgreSQL, waits until the requests wrk left behind when it
# stopped (received by Klammer, each still running its statement) are done:
# until no client statement has been running for half a second, at most
# 2 x BENCH_REQ_TIMEOUT (Klammer's statement_timeout) - so that they do not
# load the machine during the next run.
drain_pg() {
    [ "$DB_KIND" = pg ] || return 0
    w=0 quiet=0
    while [ $quiet -lt 5 ]; do
        n=$(psql -X -A -t "$PG_URL" -c "SELECT count(*) FROM pg_stat_activity
              WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
        if [ "$n" = 0 ]; then quiet=$((quiet + 1)); else quiet=0; fi
        [ $w -lt $((REQ_TIMEOUT * 20)) ] || { log "  WARNING: statements still running after $((w / 10)) s"; return 0; }
        sleep 0.1; w=$((w + 1))
    done
    [ $w -le 5 ] || log "  waited $((w / 10)).$((w % 10)) s for the requests wrk left behind"
    echo "$w" >>"$TMP/drain-tenths"
}

# wrk_summary NAME: keeps the run with the median rate as NAME_rps, NAME_p50,
# NAME_p99 (ms), NAME_errors.
wrk_summary() {
    name=$1
    med=$(sort -n "$TMP/wrk-$name.rates" | awk '{ a[NR] = $2 } END { print a[int((NR + 1) / 2)] }')
    f=$TMP/wrk-$name-$med.txt
    put "${name}_rps" "$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$f")"
    put "${name}_p50" "$(to_ms "$(awk '$1 == "50%" { print $2 }' "$f")")"
    put "${name}_p99" "$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")")"
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$f")
    sockerr=$(awk '/Socket errors:/ { sub(/^ *Socket errors: */, ""); print }' "$f")
    put "${name}_errors" "${non2xx:-0}"
    detail "### $name: $(cat "$TMP/wrk-$name.what")"
    detail "runs in order (req/s): $(sort -n -k2 "$TMP/wrk-$name.rates" | awk '{ printf "%s%s", sep, $1; sep = ", " }'); kept the median (run $med):"
    detail '```'
    sed -n '/Thread Stats/,$p' "$f" >>"$DETAILS"
    detail '```'
    [ -z "${non2xx}" ] || log "  WARNING: $name: $non2xx answers were not 2xx/3xx"
    [ -z "${sockerr}" ] || log "  WARNING: $name: socket errors: $sockerr"
}

# paired NAME CEILING: the ratio of each run of NAME to the ceiling run of
# the same round, in order ("11.3 %, 9.6 %, ...").
paired() {
    sort -n -k2 "$TMP/wrk-$1.rates" | cut -d' ' -f1 >"$TMP/pa"
    sort -n -k2 "$TMP/wrk-$2.rates" | cut -d' ' -f1 >"$TMP/pb"
    paste -d' ' "$TMP/pa" "$TMP/pb" | awk '{ printf "%s%.1f %%", sep, 100 * $1 / $2; sep = ", " }'
}

# The HTTP ceiling server.
CEIL_BASE=
start_ceiling() {
    cport=$(client port)
    CEIL_BASE=http://127.0.0.1:$cport
    "$OUT/ceiling_http" "$cport" "$SRV_THREADS" 2>>"$TMP/ceiling.log" &
    CEIL_PID=$!
    i=0
    until curl -sf -o /dev/null "$CEIL_BASE/v1.1"; do
        i=$((i + 1)); [ $i -lt 100 ] || die "ceiling_http did not start"; sleep 0.1
    done
}
stop_ceiling() {
    [ -n "$CEIL_PID" ] || return 0
    stop_pid "$CEIL_PID" ceiling_http
    CEIL_PID=
}
ceil_get_once() { wrk_once ceil_get "$CEIL_BASE/v1.1/Datastreams(1)/Observations?\$top=1"; }
ceil_post_once() { wrk_once ceil_post "$CEIL_BASE" "$BENCH/post_observation.lua" 1; }

# --- the Klammer server ---------------------------------------------------------------
PORT=
BASE=
start_server() { # DB [extra serve flags...]
    db=$1; shift
    PORT=$(client port)
    BASE=http://127.0.0.1:$PORT
    # On PostgreSQL a statement ends after BENCH_REQ_TIMEOUT seconds, so that a
    # request abandoned by the client does not go on loading the machine.
    sdb=$db
    [ "$DB_KIND" != pg ] || sdb="$db?options=-c%20statement_timeout%3D${REQ_TIMEOUT}s"
    "$BIN" serve --db "$sdb" --listen "127.0.0.1:$PORT" --log-level "$LOG_LEVEL" \
        --threads "$SRV_THREADS" "$@" 2>>"$TMP/server.log" &
    SERVER_PID=$!
    client wait "$BASE" 30 || { tail -n 20 "$TMP/server.log" >&2; die "klammer did not become ready"; }
}
stop_server() {
    stop_pid "$SERVER_PID" klammer
    SERVER_PID=
    [ "$STOP_STATUS" = 0 ] || log "WARNING: klammer exited with status $STOP_STATUS after SIGTERM"
}
rss_kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

# bulk_load DB DATASTREAM FEATURE ROWS T0_SECONDS: ROWS observations one second
# apart into one datastream, written by the sqlite3 shell while the server is
# stopped (the schema's triggers keep the datastream's statistics), 1M a transaction.
# On PostgreSQL psql writes them with the statistics trigger off (one row
# trigger updating the same datastream row a million times in one transaction
# slows down with every update) and sets the statistics afterwards from the
# rows, as the trigger keeps them; then VACUUM ANALYZE, the state autovacuum
# reaches a minute after such a load.
bulk_load() {
    db=$1 ds=$2 foi=$3 rows=$4 from=$5
    [ "$rows" -gt 0 ] || return 0
    if [ "$DB_KIND" = pg ]; then bulk_load_pg; return; fi
    sql=$TMP/load.sql
    { echo "PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;"
      i=0
      while [ $i -lt "$rows" ]; do
          n=$((rows - i)); [ $n -gt 1000000 ] && n=1000000
          echo "BEGIN;"
          echo "WITH RECURSIVE c(i) AS (SELECT $i UNION ALL SELECT i + 1 FROM c WHERE i < $((i + n - 1)))"
          echo "INSERT INTO observations(datastream_id, feature_id, phen_start, result_time, result, result_type)"
          echo "SELECT $ds, $foi, ($from + i) * 1000000, ($from + i) * 1000000, 10 + (i % 500) / 10.0, 1 FROM c;"
          echo "COMMIT;"
          echo "PRAGMA wal_checkpoint(TRUNCATE);"
          i=$((i + n))
      done; } >"$sql"
    sqlite3 "$db" <"$sql" >/dev/null || die "bulk load into $db"
}
bulk_load_pg() { # the variables of bulk_load
    sql=$TMP/load.sql
    { echo "SET synchronous_commit = off; SET session_replication_role = replica;"
      i=0
      while [ $i -lt "$rows" ]; do
          n=$((rows - i)); [ $n -gt 1000000 ] && n=1000000
          echo "INSERT INTO observations(stream_id, datastream_id, feature_id, phen_start, result_time, result, result_type)"
          echo "SELECT $ds, $ds, $foi, ($from + i) * 1000000, ($from + i) * 1000000,"
          echo "       CAST(CAST(10 + (i % 500) / 10.0 AS DOUBLE PRECISION) AS TEXT), 1"
          echo "FROM generate_series(CAST($i AS BIGINT), $((i + n - 1))) i;"
          i=$((i + n))
      done
      echo "SET session_replication_role = origin;"
      echo "UPDATE datastreams d SET obs_count = s.n, phen_start = s.ps, phen_end = s.pe,"
      echo "  result_start = s.rs, result_end = s.re, last_obs_id = l.id, last_phen = l.phen_start"
      echo "FROM (SELECT count(*) n, min(phen_start) ps, max(coalesce(phen_end, phen_start)) pe,"
      echo "             min(result_time) rs, max(result_time) re"
      echo "      FROM observations WHERE datastream_id = $ds) s,"
      echo "     (SELECT id, phen_start FROM observations WHERE datastream_id = $ds"
      echo "      ORDER BY phen_start DESC, id DESC LIMIT 1) l"
      echo "WHERE d.id = $ds;"
      echo "VACUUM ANALYZE observations;"
      echo "VACUUM ANALYZE datastreams;"; } >"$sql"
    psql -X -q -v ON_ERROR_STOP=1 -f "$sql" "$db" >/dev/null || die "bulk load into $db"
}

# --- ceilings ------------------------------------------------------------------------
if [ "$SKIP_CEILINGS" != 1 ]; then
    if [ "$SKIP_HTTP" = 1 ]; then # else interleaved with Klammer's runs below
        log "HTTP ceiling: minimal libmicrohttpd server, $SRV_THREADS threads"
        start_ceiling
        r2=0
        while [ $r2 -lt "$REPEAT" ]; do ceil_post_once; ceil_get_once; r2=$((r2 + 1)); done
        stop_ceiling
        wrk_summary ceil_post
        wrk_summary ceil_get
    fi

    if [ "$DB_KIND" = pg ]; then
    log "PostgreSQL ceiling: $PG_ROWS rows by COPY and by INSERT in 1000-row transactions, $PG_SINGLE_ROWS autocommit"
    "$OUT/ceiling_pg" "$(new_db ceiling)" "$PG_ROWS" "$PG_SINGLE_ROWS" >"$TMP/pg.txt" || die "ceiling_pg"
    drop_db ceiling
    detail "### PostgreSQL ceilings (bench/ceiling_pg.c)"
    detail '```'
    cat "$TMP/pg.txt" >>"$DETAILS"
    detail '```'
    while read -r _ mode sync _ idx trg _ _ rate; do
        key=pg_${mode#mode=}_i${idx#indexes=}_t${trg#triggers=}
        put "$key" "${rate#rows_per_s=}"
        put pg_sync "${sync#sync=}"
        log "  $key: ${rate#rows_per_s=} rows/s (synchronous_commit=${sync#sync=})"
    done <"$TMP/pg.txt"
    else
    log "SQLite ceiling: $SQLITE_ROWS rows in 1000-row transactions, $SQLITE_SINGLE_ROWS one per transaction"
    mkdir "$TMP/sqlite"
    "$OUT/ceiling_sqlite" "$TMP/sqlite" "$SQLITE_ROWS" "$SQLITE_SINGLE_ROWS" >"$TMP/sqlite.txt" ||
        die "ceiling_sqlite"
    detail "### SQLite ceilings (bench/ceiling_sqlite.c)"
    detail '```'
    cat "$TMP/sqlite.txt" >>"$DETAILS"
    detail '```'
    while read -r _ mode sync idx trg _ _ rate; do
        key=sqlite_${mode#mode=}_${sync#sync=}_i${idx#indexes=}_t${trg#triggers=}
        put "$key" "${rate#rows_per_s=}"
        log "  $key: ${rate#rows_per_s=} rows/s"
    done <"$TMP/sqlite.txt"
    fi
fi

# --- HTTP workloads and resident memory ----------------------------------------------
if [ "$SKIP_HTTP" != 1 ]; then
    log "HTTP workloads: fixture, $OBS observations bulk-loaded, then wrk"
    db=$(new_db http)
    start_server "$db"
    client fixture "$BASE" >"$TMP/fixture.env" || die "creating the fixture"
    . "$TMP/fixture.env"
    stop_server
    bulk_load "$db" "$DS_ID" "$FOI_ID" "$OBS" 1577836800 # from 2020-01-01
    start_server "$db"
    obs_url="$BASE/v1.1/Datastreams($DS_ID)/Observations"
    latest_url="$obs_url?\$top=1&\$orderby=phenomenonTime%20desc"
    page_url="$obs_url?\$top=100"
    for u in "$latest_url" "$page_url"; do
        code=$(curl -s -o "$TMP/probe.json" -w '%{http_code}' "$u")
        [ "$code" = 200 ] || { head -c 500 "$TMP/probe.json" >&2; die "GET $u -> $code"; }
    done
    # Each round runs the ceiling and Klammer back to back, so that both see
    # the same machine state; the medians over the rounds are kept.
    [ "$SKIP_CEILINGS" = 1 ] || { log "  HTTP ceiling: minimal libmicrohttpd server, $SRV_THREADS threads"; start_ceiling; }
    r2=0
    while [ $r2 -lt "$REPEAT" ]; do
        [ "$SKIP_CEILINGS" = 1 ] || ceil_post_once
        wrk_once post "$BASE" "$BENCH/post_observation.lua" "$DS_ID"
        [ "$SKIP_CEILINGS" = 1 ] || ceil_get_once
        wrk_once latest "$latest_url"
        wrk_once page "$page_url"
        r2=$((r2 + 1))
    done
    if [ "$SKIP_CEILINGS" != 1 ]; then
        stop_ceiling
        wrk_summary ceil_post
        wrk_summary ceil_get
    fi
    wrk_summary post
    wrk_summary latest
    wrk_summary page
    if [ "$SKIP_CEILINGS" != 1 ]; then
        put pairs "POST $(paired post ceil_post); GET latest $(paired latest ceil_get); GET page $(paired page ceil_get)"
    fi
    put page_bytes "$(curl -s "$page_url" | wc -c)"
    put rss_kib "$(rss_kib "$SERVER_PID" VmRSS)"
    put hwm_kib "$(rss_kib "$SERVER_PID" VmHWM)"
    put rss_obs "$(client count "$BASE" "$DS_ID")"
    log "  resident: $(get rss_kib) KiB (peak $(get hwm_kib) KiB) with $(get rss_obs) observations"
    stop_server
    drop_db "$db"
fi

# --- the map: every Datastream's latest Observation --------------------------------------
MAP_PATH='/v1.1/Things?$expand=Datastreams($expand=Observations($top=1;$orderby=phenomenonTime%20desc))'
mapdb=
if [ "$SKIP_MAP" != 1 ]; then
    mapdb=$(new_db map)
    nds=$((MAP_THINGS * MAP_PER_THING))
    log "map: $MAP_THINGS Things x $MAP_PER_THING Datastreams (deep insert over HTTP), $MAP_OBS observations each"
    # Page size: all Things in one answer (the query as a dashboard sends it).
    topmax=$((MAP_THINGS > 10000 ? MAP_THINGS : 10000))
    set -- --top-default "$MAP_THINGS" --top-max "$topmax"
    start_server "$mapdb" "$@"
    t0=$(date +%s)
    client mapfixture "$BASE" "$MAP_THINGS" "$MAP_PER_THING" 8 >"$TMP/map.env" || die "creating the map fixture"
    . "$TMP/map.env"
    log "  created in $(($(date +%s) - t0)) s: $DS_COUNT datastreams"
    [ "$DS_COUNT" = "$nds" ] || die "expected $nds datastreams, the server counts $DS_COUNT"
    stop_server
    if [ "$DB_KIND" = pg ]; then # the statistics trigger on: 3 rows per datastream
        dbq "$mapdb" "INSERT INTO observations(stream_id, datastream_id, feature_id, phen_start, result_time, result, result_type)
        SELECT d.id, d.id, $FOI_ID, (1704067200 + j * 600) * 1000000, (1704067200 + j * 600) * 1000000,
               CAST(CAST(round(15 + (d.id % 100) / 10.0 + j, 1) AS DOUBLE PRECISION) AS TEXT), 1
        FROM datastreams d, generate_series(CAST(0 AS BIGINT), $MAP_OBS - 1) j ORDER BY d.id, j" >/dev/null &&
            dbq "$mapdb" "VACUUM ANALYZE" >/dev/null || die "loading map observations"
    else
        sqlite3 "$mapdb" "WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < $MAP_OBS - 1)
        INSERT INTO observations(datastream_id, feature_id, phen_start, result_time, result, result_type)
        SELECT d.id, $FOI_ID, (1704067200 + j * 600) * 1000000, (1704067200 + j * 600) * 1000000,
               round(15 + (d.id % 100) / 10.0 + j, 1), 1
        FROM datastreams d, k ORDER BY d.id, j;" || die "loading map observations"
    fi
    start_server "$mapdb" "$@"
    lat "$TMP/map.txt" "map query" "$BASE$MAP_PATH" "$MAP_N" 3 map "$MAP_THINGS" "$MAP_PER_THING"
    detail "### map: GET $MAP_PATH (server: --top-default $MAP_THINGS)"
    detail "\`$(cat "$TMP/map.txt")\`"
    log "  $(cat "$TMP/map.txt")"
    for k in first p50 p99; do put "map_$k" "$(sed -n "s/.*${k}_ms=\([0-9.]*\).*/\1/p" "$TMP/map.txt")"; done
    put map_bytes "$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' "$TMP/map.txt")"
    if grep -q CHECK_FAILED "$TMP/map.txt"; then put map_check failed; fi
    stop_server
fi

# --- $count over COUNT_ROWS observations (and a 1-day range, once $filter exists) ---------------
# The Datastream is filled in two stages, a tenth then the rest, and both
# queries are timed after each: indexed reads must stay flat from 1M to 10M.
# measure_stage TAG ROWS
measure_stage() {
    tag=$1 rows=$2
    count_url="$BASE/v1.1/Datastreams($DS_ID)/Observations?\$count=true&\$top=1"
    lat "$TMP/count-$tag.txt" "\$count over $rows" "$count_url" "$COUNT_N" 1 count "$rows"
    detail "### \$count: GET /v1.1/Datastreams($DS_ID)/Observations?\$count=true&\$top=1 ($rows observations)"
    detail "\`$(cat "$TMP/count-$tag.txt")\`"
    log "  \$count over $rows: $(cat "$TMP/count-$tag.txt")"
    for k in first p50 p99; do
        put "count${tag}_$k" "$(sed -n "s/.*${k}_ms=\([0-9.]*\).*/\1/p" "$TMP/count-$tag.txt")"
    done
    put "count${tag}_rows" "$rows"
    if grep -q CHECK_FAILED "$TMP/count-$tag.txt"; then put count_check failed; fi
    # Issue 3: a 1-day phenomenonTime range with $top=1000 (501 until $filter lands).
    range_url="$BASE/v1.1/Datastreams($DS_ID)/Observations?\$filter=phenomenonTime%20ge%20$RANGE_FROM%20and%20phenomenonTime%20lt%20$RANGE_TO&\$top=1000"
    code=$(curl -s -o "$TMP/probe.json" -w '%{http_code}' "$range_url")
    if [ "$code" = 200 ]; then
        lat "$TMP/range-$tag.txt" "1-day range over $rows" "$range_url" "$COUNT_N" 1 rows "$RANGE_ROWS"
        if grep -q CHECK_FAILED "$TMP/range-$tag.txt"; then put range_check failed; fi
        detail "### 1-day range, \$top=1000: $RANGE_FROM .. $RANGE_TO ($rows observations in the Datastream)"
        detail "\`$(cat "$TMP/range-$tag.txt")\`"
        for k in p50 p99; do
            put "range${tag}_$k" "$(sed -n "s/.*${k}_ms=\([0-9.]*\).*/\1/p" "$TMP/range-$tag.txt")"
        done
    else
        put "range${tag}_status" "$code"
    fi
    # Issue 3: a filter on result over the whole Datastream (result has no index:
    # this one scans the Datastream's rows, so it grows with them), and a
    # geospatial st_within over the 10,000 Locations.
    res_url="$BASE/v1.1/Datastreams($DS_ID)/Observations?\$filter=result%20gt%2059.85&\$top=100&\$count=true"
    lat "$TMP/result-$tag.txt" "result filter over $rows" "$res_url" 5 1
    detail "### \$filter=result gt 59.85 over $rows observations of one Datastream"
    detail "\`$(cat "$TMP/result-$tag.txt")\`"
    for k in p50 p99; do
        put "result${tag}_$k" "$(sed -n "s/.*${k}_ms=\([0-9.]*\).*/\1/p" "$TMP/result-$tag.txt")"
    done
    geo_url="$BASE/v1.1/Locations?\$filter=st_within(location,geography'POLYGON((7.44%2051.34,7.50%2051.34,7.50%2051.39,7.44%2051.39,7.44%2051.34))')&\$top=1000&\$count=true&\$select=id"
    lat "$TMP/geo-$tag.txt" "st_within" "$geo_url" 20 2
    detail "### st_within over $(dbq "$db" 'SELECT count(*) FROM locations') Locations"
    detail "\`$(cat "$TMP/geo-$tag.txt")\`"
    for k in p50 p99; do
        put "geo${tag}_$k" "$(sed -n "s/.*${k}_ms=\([0-9.]*\).*/\1/p" "$TMP/geo-$tag.txt")"
    done
}

if [ "$SKIP_COUNT" != 1 ]; then
    if [ -n "$mapdb" ]; then # one of the map's Datastreams grows to COUNT_ROWS
        db=$mapdb
        DS_ID=$(dbq "$db" "SELECT min(id) FROM datastreams")
        set -- --top-default "$MAP_THINGS" --top-max "$topmax"
    else
        db=$(new_db count)
        start_server "$db"
        client fixture "$BASE" >"$TMP/fixture.env" || die "creating the fixture"
        . "$TMP/fixture.env"
        stop_server
        set --
    fi
    have=$(dbq "$db" "SELECT count(*) FROM observations WHERE datastream_id = $DS_ID")
    from=1262304000 # 2010-01-01, one observation a second
    stage1=$COUNT_ROWS
    [ "$COUNT_ROWS" -lt 2000000 ] || stage1=$((COUNT_ROWS / 10))
    mid=$((from + stage1 / 2))
    RANGE_FROM=$(date -u -d "@$mid" +%Y-%m-%dT%H:%M:%SZ)
    RANGE_TO=$(date -u -d "@$((mid + 86400))" +%Y-%m-%dT%H:%M:%SZ)
    RANGE_ROWS=$((stage1 - stage1 / 2)) # observations in the range, at most 1000 per page
    [ "$RANGE_ROWS" -le 86400 ] || RANGE_ROWS=86400
    [ "$RANGE_ROWS" -le 1000 ] || RANGE_ROWS=1000
    log "\$count: loading $stage1 observations into Datastream $DS_ID"
    bulk_load "$db" "$DS_ID" "$FOI_ID" "$stage1" "$from"
    # 10,000 Locations spread over Hagen for the st_within figure.
    if [ "$DB_KIND" = pg ]; then
        dbq "$db" "INSERT INTO locations(name, description, encoding_type, location)
        SELECT 'L' || i, 'bench', 'application/geo+json',
          json_build_object('type', 'Point', 'coordinates',
            json_build_array(CAST(7.35 + (i % 100) * 0.0027 AS DOUBLE PRECISION),
                             CAST(51.27 + (i / 100) * 0.0016 AS DOUBLE PRECISION)))
        FROM generate_series(0, 9999) i; ANALYZE locations;" >/dev/null || die "loading Locations"
    else
        sqlite3 "$db" "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 9999)
        INSERT INTO locations(name, description, encoding_type, location)
        SELECT 'L' || i, 'bench', 'application/geo+json',
          json_object('type', 'Point', 'coordinates', json_array(7.35 + (i % 100) * 0.0027,
                      51.27 + (i / 100) * 0.0016)) FROM c;" || die "loading Locations"
    fi
    if [ "$stage1" -lt "$COUNT_ROWS" ]; then
        start_server "$db" "$@"
        measure_stage 1 $((have + stage1))
        stop_server
        log "\$count: loading $((COUNT_ROWS - stage1)) more"
        t0=$(date +%s)
        bulk_load "$db" "$DS_ID" "$FOI_ID" $((COUNT_ROWS - stage1)) $((from + stage1))
        log "  loaded in $(($(date +%s) - t0)) s"
    fi
    stats=$(dbq "$db" "SELECT obs_count FROM datastreams WHERE id = $DS_ID")
    real=$(dbq "$db" "SELECT count(*) FROM observations WHERE datastream_id = $DS_ID")
    [ "$stats" = "$real" ] || put count_stats_mismatch "obs_count $stats, count(*) $real"
    start_server "$db" "$@"
    measure_stage "" "$real"
    if [ "$SKIP_MAP" != 1 ]; then
        lat "$TMP/map2.txt" "map again" "$BASE$MAP_PATH" "$MAP_N" 3 map "$MAP_THINGS" "$MAP_PER_THING"
        detail "### map again, one Datastream now holding $real observations"
        detail "\`$(cat "$TMP/map2.txt")\`"
        log "  map again: $(cat "$TMP/map2.txt")"
        for k in p50 p99; do put "map2_$k" "$(sed -n "s/.*${k}_ms=\([0-9.]*\).*/\1/p" "$TMP/map2.txt")"; done
        if grep -q CHECK_FAILED "$TMP/map2.txt"; then put map_check failed; fi
    fi
    put rss10_kib "$(rss_kib "$SERVER_PID" VmRSS)"
    stop_server
fi

# --- the table -------------------------------------------------------------------------------
# row FIGURE VALUE UNIT CEILING-NAME CEILING-VALUE AIM: one Markdown row; AIM is
# ">=30%" (of the ceiling), "<50" (value, same unit) or "-"; CEILING-NAME
# containing "SQLite" or "PostgreSQL" is in rows/s, else req/s.
row() {
    awk -v fig="$1" -v val="$2" -v unit="$3" -v cname="$4" -v cval="$5" -v aim="$6" '
    function grp(n,  s, r) {
        s = sprintf("%.0f", n); r = ""
        while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
        return s r
    }
    BEGIN {
        if (aim == "-") aim = ""
        if (val == "") { printf "| %s | (not run) | | | %s | |\n", fig, aim; exit }
        v = (unit == "req/s") ? grp(val) " " unit : val " " unit
        c = ""; ratio = ""; verdict = ""
        if (cval != "") {
            c = sprintf("%s %s (%s)", grp(cval), cname ~ /SQLite|PostgreSQL/ ? "rows/s" : "req/s", cname)
            r = 100 * val / cval; ratio = sprintf("%.1f %%", r)
        }
        if (aim ~ /^>=/) { a = substr(aim, 3) + 0; if (ratio != "") verdict = (r >= a) ? "yes" : "NO" }
        else if (aim ~ /^</) { a = substr(aim, 2) + 0; verdict = (val + 0 < a) ? "yes" : "NO" }
        printf "| %s | %s | %s | %s | %s | %s |\n", fig, v, c, ratio, aim, verdict
    }'
}

complete=yes
for s in "$SKIP_CEILINGS" "$SKIP_HTTP" "$SKIP_MAP" "$SKIP_COUNT"; do [ "$s" = 1 ] && complete=no; done
date=$(date +%Y-%m-%d)
[ "$DB_KIND" = pg ] && date=$date-pg
if [ -n "${BENCH_RESULTS:-}" ]; then results=$BENCH_RESULTS
elif [ "${BENCH_QUICK:-0}" != 1 ] && [ $complete = yes ]; then results=$BENCH/results/$date.md
else results=$OUT/$date-partial.md; fi
mkdir -p "$(dirname "$results")"

grp() { [ -n "$1" ] && echo "$1" | awk '{ s = sprintf("%.0f", $1); r = ""
    while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
    print s r }'; }
mib() { [ -n "$1" ] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ceil_get=$(get ceil_get_rps) ceil_post=$(get ceil_post_rps)
page_bytes=$(get page_bytes) count_first=$(get count_first)
sq_full=$(get sqlite_batch1000_FULL_i1_t0) sq_normal=$(get sqlite_batch1000_NORMAL_i1_t0)
# The storage ceiling of this run: 1000-row transactions at the durable setting.
if [ "$DB_KIND" = pg ]; then
    st_name="PostgreSQL 1000-row INSERT txns, synchronous_commit=$(get pg_sync)"
    st_val=$(get pg_multi1000_i1_t0)
    db_where="a private PostgreSQL cluster in $(dirname "$TMP") (tools/pg-cluster.sh: fsync on, shared_buffers=64MB)"
else
    st_name="SQLite 1000-row txns, sync=FULL" st_val=$sq_full
    db_where=$(dirname "$TMP")
fi
put storage_ceiling "$st_val"
if [ -s "$TMP/server.log" ]; then
    detail "### Klammer's log at --log-level $LOG_LEVEL: $(wc -l <"$TMP/server.log") lines, the last 10:"
    detail '```'
    tail -n 10 "$TMP/server.log" | cut -c1-300 >>"$DETAILS"
    detail '```'
fi
times >"$TMP/times1"
put load_start "$LOAD_START"
put load_end "$(loadavg)"
others_pct=$(awk -v a="$(cpu_all)" -v a0="$CPU_ALL0" -v o="$(cpu_ours "$TMP/times1")" -v o0="$(cpu_ours "$TMP/times0")" \
    -v w=$(($(date +%s) - WALL0)) -v n="$(nproc)" -v pg="$(if [ -n "$PG_DIR" ]; then cpu_pg; else echo 0; fi)" -v pg0="$CPU_PG0" \
    'BEGIN { x = ((a - a0) - (o - o0) - (pg - pg0)) / (w * n) * 100; if (x < 0) x = 0; printf "%.0f", x }')
put others_pct "$others_pct"
{
    echo "# Klammer benchmark, $(date '+%Y-%m-%d %H:%M %Z')"
    echo
    echo "$(nproc) cores ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr);"
    if [ "$DB_KIND" = pg ]; then printf 'PostgreSQL %s, ' "$(psql -X -A -t "$PG_URL" -c 'SHOW server_version' | cut -d' ' -f1)"; fi
    echo "SQLite $(pkg-config --modversion sqlite3), libmicrohttpd $(pkg-config --modversion libmicrohttpd), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)."
    echo "wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s, median of $REPEAT run(s) after ${WARMUP} s warm-up;"
    echo "server and ceiling with $SRV_THREADS threads, Klammer --log-level $LOG_LEVEL; databases in $db_where."
    echo "Other processes used $others_pct % of the machine's CPU during the run (load average $LOAD_START at start)$(awk -v p="$others_pct" 'BEGIN { if (p >= 5) printf ": **the machine was busy with other work, the figures are distorted**" }')."
    [ "${BENCH_QUICK:-0}" = 1 ] && echo "**BENCH_QUICK=1: small sizes, not comparable with a full run.**"
    echo
    echo "| figure | value | ceiling | ratio | aim | met |"
    echo "| --- | --- | --- | --- | --- | --- |"
    count_rows=$(get count_rows); count_rows=${count_rows:-$COUNT_ROWS}
    rss_obs=$(get rss_obs); rss_obs=${rss_obs:-$OBS}
    row "POST one Observation per request" "$(get post_rps)" req/s "minimal MHD, same POSTs" "$ceil_post" ">=30%"
    row "GET latest Observation (\$top=1, \$orderby desc)" "$(get latest_rps)" req/s "minimal MHD, GET" "$ceil_get" ">=50%"
    row "GET page of 100 Observations${page_bytes:+ ($(grp "$(get page_bytes)") bytes)}" "$(get page_rps)" req/s "minimal MHD, GET" "$ceil_get" "-"
    row "POST one Observation per request, vs. storage" "$(get post_rps)" req/s "$st_name" "$st_val" "-"
    row "map of $(grp $((MAP_THINGS * MAP_PER_THING))) Datastreams' latest Observation, p50" "$(get map_p50)" ms "" "" "<50"
    row "map, p99 of $MAP_N" "$(get map_p99)" ms "" "" "<50"
    if [ -n "$(get map2_p50)" ]; then
        row "map, one Datastream holding $(grp "$count_rows") Observations, p50" "$(get map2_p50)" ms "" "" "<50"
    fi
    row "\$count of $(grp "$count_rows") Observations, p50" "$(get count_p50)" ms "" "" "<10"
    row "\$count, p99 of $COUNT_N${count_first:+ (first request: $count_first ms)}" "$(get count_p99)" ms "" "" "<10"
    if [ -n "$(get count1_p50)" ]; then
        row "\$count of $(grp "$(get count1_rows)") Observations (same Datastream, earlier), p50" "$(get count1_p50)" ms "" "" "<10"
    fi
    row "resident memory, $(grp "$rss_obs") Observations stored, after the GET workloads" "$(mib "$(get rss_kib)")" MiB "" "" "<64"
    echo
    if [ -n "$(get post_rps)" ]; then
        echo "Latency under wrk load (p50 / p99, ms): POST $(get post_p50) / $(get post_p99), GET latest $(get latest_p50) / $(get latest_p99), GET page $(get page_p50) / $(get page_p99)."
    fi
    if [ -n "$(get pairs)" ]; then
        echo "Ratio of each round's run to the ceiling run just before it: $(get pairs)."
    fi
    if [ -n "$(get hwm_kib)" ]; then
        echo "Peak resident memory during the HTTP workloads: $(mib "$(get hwm_kib)") MiB."
    fi
    if [ -n "$(get rss10_kib)" ]; then
        echo "Resident memory with $(grp "$count_rows") Observations in one Datastream, after the \$count (and map) queries: $(mib "$(get rss10_kib)") MiB."
    fi
    for t in 1 ""; do
        n=$(get "count${t}_rows")
        if [ -n "$(get "range${t}_p50")" ]; then
            echo "1-day phenomenonTime range, \$top=1000, $(grp "$n") Observations in the Datastream (issue 3): p50 $(get "range${t}_p50") ms, p99 $(get "range${t}_p99") ms."
        elif [ -n "$(get "range${t}_status")" ]; then
            echo "1-day phenomenonTime range with \$filter over $(grp "$n") Observations (issue 3): not measured, the server answers $(get "range${t}_status")."
        fi
        if [ -n "$(get "result${t}_p50")" ]; then
            echo "\$filter=result gt 59.85 (\$count=true, \$top=100) over $(grp "$n") Observations of one Datastream (issue 3; result has no index, a scan): p50 $(get "result${t}_p50") ms, p99 $(get "result${t}_p99") ms."
        fi
        if [ -n "$(get "geo${t}_p50")" ]; then
            echo "st_within over 10,000 Locations (\$count=true, \$top=1000; issue 3): p50 $(get "geo${t}_p50") ms, p99 $(get "geo${t}_p99") ms."
        fi
    done
    for e in post latest page; do
        n=$(get "${e}_errors"); [ "${n:-0}" = 0 ] || echo "**$e: $n answers were not 2xx** - its rate is not a valid figure."
    done
    if [ -s "$TMP/failed-requests" ]; then
        echo "**Not measured (a request over the ${REQ_TIMEOUT}-second limit, curl --max-time, or not answered 200):**"
        sed 's/^/- /' "$TMP/failed-requests"
        echo
    fi
    [ -z "$(get map_check)" ] || echo "**The map answer did not hold every Thing, Datastream and latest Observation** (see below)."
    [ -z "$(get range_check)" ] || echo "**The 1-day range did not return the expected page of observations** (see below)."
    [ -z "$(get count_check)" ] || echo "**\$count did not report the stored number of observations** (see below)."
    [ -z "$(get count_stats_mismatch)" ] || echo "**Datastream statistics disagree with the rows: $(get count_stats_mismatch).**"
    echo
    echo "## Ceilings, measured in the same run"
    echo
    echo "| ceiling | value | p50 / p99 latency |"
    echo "| --- | --- | --- |"
    ceil() { if [ -n "$2" ]; then echo "| $1 | $(grp "$2") $3 | ${4:-} |"; else echo "| $1 | (not run) | |"; fi; }
    ceil "minimal libmicrohttpd, GET, 300-byte JSON" "$ceil_get" req/s "$(get ceil_get_p50) / $(get ceil_get_p99) ms"
    ceil "minimal libmicrohttpd, POST (post_observation.lua), 300-byte JSON" "$ceil_post" req/s "$(get ceil_post_p50) / $(get ceil_post_p99) ms"
    if [ "$DB_KIND" = pg ]; then
    sc=$(get pg_sync)
    ceil "PostgreSQL, COPY of 1000 rows per transaction, synchronous_commit=$sc" "$(get pg_copy1000_i1_t0)" rows/s
    ceil "PostgreSQL, INSERT of 1000 rows per transaction, synchronous_commit=$sc" "$(get pg_multi1000_i1_t0)" rows/s
    ceil "PostgreSQL, one INSERT per transaction (autocommit), synchronous_commit=$sc" "$(get pg_single_i1_t0)" rows/s
    ceil "for reference: 1000-row INSERT with Klammer's statistics trigger" "$(get pg_multi1000_i1_t1)" rows/s
    ceil "for reference: 1000-row INSERT, bare table without indexes" "$(get pg_multi1000_i0_t0)" rows/s
    ceil "for reference: 1000-row COPY, bare table without indexes" "$(get pg_copy1000_i0_t0)" rows/s
    echo
    echo "PostgreSQL: libpq, parameters as text, into a table shaped like \`observations\` (schema_pg.c) with its 4 indexes,"
    echo "from an empty table; the server's durability settings, which Klammer does not change"
    echo "($(grp "$PG_ROWS") rows batched, $(grp "$PG_SINGLE_ROWS") autocommit; bench/ceiling_pg.c)."
    else
    ceil "SQLite, 1000-row transactions, synchronous=FULL" "$sq_full" rows/s
    ceil "SQLite, 1000-row transactions, synchronous=NORMAL" "$sq_normal" rows/s
    ceil "SQLite, one transaction per row, synchronous=FULL" "$(get sqlite_single_FULL_i1_t0)" rows/s
    ceil "SQLite, one transaction per row, synchronous=NORMAL" "$(get sqlite_single_NORMAL_i1_t0)" rows/s
    ceil "for reference: 1000-row, FULL, with Klammer's statistics trigger" "$(get sqlite_batch1000_FULL_i1_t1)" rows/s
    ceil "for reference: one per row, NORMAL, with the statistics trigger" "$(get sqlite_single_NORMAL_i1_t1)" rows/s
    ceil "for reference: 1000-row, FULL, bare table without indexes" "$(get sqlite_batch1000_FULL_i0_t0)" rows/s
    echo
    echo "SQLite: prepared INSERT into a table shaped like \`observations\` with its 4 indexes, WAL, from an empty file"
    echo "($(grp "$SQLITE_ROWS") rows batched, $(grp "$SQLITE_SINGLE_ROWS") one per transaction; bench/ceiling_sqlite.c)."
    fi
    echo
    echo "## Details"
    echo
    cat "$DETAILS"
} >"$results"

echo
sed -n '1,/^## Details/p' "$results" | sed '$d'
log "written to $results"

# LoRaWAN uplinks and dataArray beside the storage ceiling (bench/ingest.sh);
# BENCH_INGEST=0 skips it.  On PostgreSQL it gets a fresh database and this
# run's ceiling.
if [ "${BENCH_INGEST:-1}" != 0 ] && [ "${BENCH_SKIP_SERVER:-0}" != 1 ]; then
    if [ "$DB_KIND" = pg ]; then
        BENCH_INGEST_DB=$(new_db ingest) BENCH_INGEST_CEILING=$st_val BENCH_INGEST_CEILING_NAME="$st_name"
        BENCH_INGEST_CEILING_TRIG=$(get pg_multi1000_i1_t1)
        export BENCH_INGEST_DB BENCH_INGEST_CEILING BENCH_INGEST_CEILING_NAME BENCH_INGEST_CEILING_TRIG
    fi
    if BENCH_INGEST_KV=$KV KLAMMER_BIN=$BIN sh "$BENCH/ingest.sh" >"$OUT/ingest.md"; then
        cat "$OUT/ingest.md" >>"$results"
        cat "$OUT/ingest.md"
    else
        log "bench/ingest.sh failed (see above)"
    fi
fi
[ -z "${BENCH_KV_OUT:-}" ] || cp "$KV" "$BENCH_KV_OUT"
