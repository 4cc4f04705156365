#!/bin/sh
# Installs what klammer needs to build and test on Debian 12 (run as root).
# Only packages that are missing are installed; a machine that has them all
# is left alone (and no network is needed).
set -e
pkgs="gcc make pkg-config libmicrohttpd-dev libsqlite3-dev libjansson-dev libcmocka-dev
      clang libclang-rt-14-dev sqlite3 curl libsqlite3-mod-spatialite
      libmosquitto-dev mosquitto-dev mosquitto mosquitto-clients libssl-dev openssl
      libpq-dev postgresql-15 postgresql-15-postgis-3"
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
# A Node installed outside Debian (e.g. in /usr/local) counts as present.
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: missing packages:$missing (run as root, or install them)" >&2
        exit 1
    fi
    echo "install-deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >/dev/null
fi
