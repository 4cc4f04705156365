#!/bin/sh
# A private PostgreSQL 15 + PostGIS cluster for the tests: no system service,
# everything inside DIR, listening on 127.0.0.1 on a free port only.
#
#   tools/pg-cluster.sh start DIR   creates DIR (initdb) if needed, starts the
#                                   server and prints its connection URL
#   tools/pg-cluster.sh stop DIR    stops it (pg_ctl stop -m fast)
#   tools/pg-cluster.sh restart DIR restarts it on the same port (pg_ctl
#                                   restart -m fast: every session is cut)
#   tools/pg-cluster.sh url DIR     prints the URL of a running cluster
#
# PostgreSQL refuses to run as root; as root the server runs as the user
# `postgres`, which then owns DIR.  The PostGIS extension is created in
# template1, so every database created for a test has it.
set -e
cmd=$1
dir=$2
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|restart|url DIR" >&2; exit 2; }
bindir=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)
[ -x "$bindir/pg_ctl" ] || { echo "pg-cluster: PostgreSQL 15 is not installed" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})' 2>/dev/null ||
        python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

url() {
    port=$(cat "$dir/port")
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
}

case $cmd in
start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
            >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    port=$(free_port)
    echo "$port" >"$dir/port"
    # Durability stays on (fsync): the crash tests check acknowledged writes.
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir'
            -c max_connections=400 -c shared_buffers=64MB" start </dev/null >/dev/null 2>&1 ||
        { tail -20 "$dir/server.log" >&2; exit 1; }
    psql -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@127.0.0.1:$port/template1" \
        -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
    url
    ;;
stop)
    [ -f "$dir/data/postmaster.pid" ] || exit 0
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
restart)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart \
        </dev/null >/dev/null 2>&1 || { tail -20 "$dir/server.log" >&2; exit 1; }
    ;;
url)
    url
    ;;
*)
    echo "usage: $0 start|stop|restart|url DIR" >&2
    exit 2
    ;;
esac
