#!/bin/sh
# compare.sh - the bench/ workloads on SQLite and on PostgreSQL, one after the
# other, and one table side by side: every figure as a ratio against the
# ceiling measured in the same run (the HTTP ceiling for HTTP workloads, the
# SQLite or PostgreSQL insert ceiling for storage figures).
#
#   BENCH_DB=both sh bench/run.sh     (or: make bench BENCH_DB=both)
#   sh bench/compare.sh               (the same)
#
# Every other BENCH_* variable of run.sh applies to both runs.  The complete
# results of each run follow the table.  Results file: BENCH_RESULTS, else
# bench/results/YYYY-MM-DD-postgresql.md for a full run, or
# build/bench/YYYY-MM-DD-postgresql-partial.md.  BENCH_COMPARE_ONLY=1 writes
# the table again from the last two runs' files in build/bench/ without
# running anything.
#
# SPDX-License-Identifier: Apache-2.0
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
OUT=$ROOT/build/bench
mkdir -p "$OUT"
date=$(date +%Y-%m-%d)
if [ -n "${BENCH_RESULTS:-}" ]; then results=$BENCH_RESULTS
elif [ "${BENCH_QUICK:-0}" != 1 ]; then results=$BENCH/results/$date-postgresql.md
else results=$OUT/$date-postgresql-partial.md; fi
unset BENCH_RESULTS

# Each run gets its own copy of run.sh: editing bench/ while a run reads it
# must not change what runs.
cp "$BENCH/run.sh" "$OUT/run-copy.sh"
for db in sqlite pg; do
    [ "${BENCH_COMPARE_ONLY:-0}" != 1 ] || break
    echo "compare.sh: BENCH_DB=$db" >&2
    BENCH_ROOT=$ROOT BENCH_DB=$db BENCH_KV_OUT=$OUT/compare-$db.kv BENCH_RESULTS=$OUT/compare-$db.md \
        sh "$OUT/run-copy.sh" || { echo "compare.sh: the $db run failed" >&2; exit 1; }
done

get() { sed -n "s/^$2=//p" "$OUT/compare-$1.kv" | tail -n 1; }
grp() { [ -n "$1" ] && echo "$1" | awk '{ s = sprintf("%.0f", $1); r = ""
    while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
    print s r }'; }
pct() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f %%", 100 * a / b }'; }

# rate FIGURE KEY CEILING-KEY UNIT: value and ratio on both.
rate() {
    s=$(get sqlite "$2") p=$(get pg "$2") sc=$(get sqlite "$3") pc=$(get pg "$3")
    echo "| $1 | ${s:+$(grp "$s") $4} | $(pct "$s" "$sc") | ${p:+$(grp "$p") $4} | $(pct "$p" "$pc") | $(pct "$p" "$s") |"
}
# ms FIGURE KEY: a latency (ms) on both, PostgreSQL as a multiple of SQLite;
# "(not run)" when the run has no such step, "(not measured)" when its
# requests failed or ran out of time (listed under that run's table).
ms() {
    s=$(get sqlite "$2") p=$(get pg "$2")
    m=$(awk -v a="$p" -v b="$s" 'BEGIN { if (a != "" && b > 0) printf "x %.1f", a / b }')
    echo "| $1 | $(shown sqlite "$2" "$s") | | $(shown pg "$2" "$p") | | $m |"
}
shown() {
    if [ -n "$3" ]; then echo "$3 ms"
    elif grep -q "^$2=" "$OUT/compare-$1.kv"; then echo "(not measured)"
    else echo "(not run)"; fi
}
ceil() {
    s=$(get sqlite "$2") p=$(get pg "$3")
    echo "| $1 | ${s:+$(grp "$s") $4} | | ${p:+$(grp "$p") $4} | | $(pct "$p" "$s") |"
}

{
    echo "# Klammer on SQLite and on PostgreSQL, $(date '+%Y-%m-%d %H:%M %Z')"
    echo
    echo "Two runs of bench/run.sh one after the other on the same machine ($(nproc) cores), the same sizes;"
    echo "each figure divided by the ceiling measured in the same run. Last column: PostgreSQL's value"
    echo "as a share (rates) or multiple (latencies) of SQLite's."
    for db in sqlite pg; do
        echo "$db run: load average $(get $db load_start) at start, $(get $db load_end) at the end;"
        echo "other processes used $(get $db others_pct) % of the CPU during it."
    done
    [ "${BENCH_QUICK:-0}" = 1 ] && echo "**BENCH_QUICK=1: small sizes, not comparable with a full run.**"
    echo
    echo "| figure | SQLite | of its ceiling | PostgreSQL | of its ceiling | PG / SQLite |"
    echo "| --- | --- | --- | --- | --- | --- |"
    rate "HTTP ceiling: minimal libmicrohttpd, POST" ceil_post_rps "" req/s
    rate "HTTP ceiling: minimal libmicrohttpd, GET" ceil_get_rps "" req/s
    rate "POST one Observation per request" post_rps ceil_post_rps req/s
    rate "GET latest Observation" latest_rps ceil_get_rps req/s
    rate "GET page of 100 Observations" page_rps ceil_get_rps req/s
    ceil "storage ceiling: 1000-row transactions, durable (SQLite FULL; PostgreSQL INSERT, synchronous_commit=$(get pg pg_sync))" \
        sqlite_batch1000_FULL_i1_t0 pg_multi1000_i1_t0 rows/s
    ceil "storage: one row per transaction (SQLite FULL; PostgreSQL autocommit)" \
        sqlite_single_FULL_i1_t0 pg_single_i1_t0 rows/s
    ceil "storage: PostgreSQL COPY, 1000 rows per transaction" "" pg_copy1000_i1_t0 rows/s
    ceil "storage: 1000-row transactions with Klammer's statistics trigger" \
        sqlite_batch1000_FULL_i1_t1 pg_multi1000_i1_t1 rows/s
    rate "POST one Observation per request, vs. the storage ceiling" post_rps storage_ceiling req/s
    rate "MQTT uplinks end to end (bench/ingest.sh), vs. the storage ceiling" uplink_rps storage_ceiling uplinks/s
    rate "dataArray, 10,000 rows per request, vs. the storage ceiling" da_rps storage_ceiling obs/s
    ms "map of every Datastream's latest Observation, p50" map_p50
    ms "map, p99" map_p99
    ms "map, one Datastream holding all \$count rows, p50" map2_p50
    ms "\$count, first stage, p50" count1_p50
    ms "\$count, all rows, p50" count_p50
    ms "1-day phenomenonTime range, \$top=1000, p50" range_p50
    ms "\$filter=result gt 59.85 (a scan of one Datastream), p50" result_p50
    ms "st_within over 10,000 Locations, p50" geo_p50
    echo
    echo "Rows: $(grp "$(get sqlite count_rows)") observations in the \$count Datastream on SQLite,"
    echo "$(grp "$(get pg count_rows)") on PostgreSQL; resident memory after the GET workloads:"
    echo "$(awk -v k="$(get sqlite rss_kib)" 'BEGIN { printf "%.1f", k / 1024 }') MiB on SQLite,"
    echo "$(awk -v k="$(get pg rss_kib)" 'BEGIN { printf "%.1f", k / 1024 }') MiB on PostgreSQL (Klammer's process only, not the database server)."
    echo
    echo "---"
    echo
    cat "$OUT/compare-sqlite.md"
    echo
    echo "---"
    echo
    cat "$OUT/compare-pg.md"
} >"$results"
sed -n '1,/^---$/p' "$results" | sed '$d'
echo "compare.sh: written to $results" >&2
