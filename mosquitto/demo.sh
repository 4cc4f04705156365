#!/bin/sh
# Runs `klammer demo` with a private Mosquitto broker on 127.0.0.1:1883 when
# the mosquitto binary is installed (the klammer plugin loaded if built),
# else without MQTT.  The broker is stopped, by its PID, when the demo ends.
#
# usage: sh mosquitto/demo.sh KLAMMER_BIN PLUGIN_SO klammer-args...
#
# SPDX-License-Identifier: Apache-2.0
set -u
bin=$1 plugin=$2
shift 2
port=${KLAMMER_DEMO_MQTT_PORT:-1883}
broker=$(command -v mosquitto || { [ -x /usr/sbin/mosquitto ] && echo /usr/sbin/mosquitto; } || true)
if [ -z "$broker" ]; then
    echo "demo: mosquitto is not installed: MQTT is off"
    exec "$bin" "$@"
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/klammer-demo-mqtt.XXXXXX")
{
    echo "listener $port 127.0.0.1"
    echo "allow_anonymous true"
    echo "persistence false"
    if [ -f "$plugin" ]; then
        echo "plugin $(cd "$(dirname "$plugin")" && pwd)/$(basename "$plugin")"
        echo "plugin_opt_acl allow"
    fi
} >"$dir/mosquitto.conf"
"$broker" -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
pid=$!
sleep 0.5
if ! kill -0 "$pid" 2>/dev/null; then
    echo "demo: mosquitto did not start (port $port busy?): MQTT is off; see $dir/mosquitto.log"
    exec "$bin" "$@"
fi
cleanup() {
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
echo "demo: private mosquitto on mqtt://127.0.0.1:$port (pid $pid, log $dir/mosquitto.log)"
# klammer runs as a child we wait for, so that Ctrl-C or SIGTERM reach it
# (forwarded as SIGTERM: graceful shutdown) and the broker is stopped after.
"$bin" "$@" --mqtt "mqtt://127.0.0.1:$port" &
kpid=$!
trap 'kill -TERM "$kpid" 2>/dev/null' INT TERM
wait "$kpid"
rc=$?
# wait returns early when a trapped signal arrives: wait for the real exit.
while kill -0 "$kpid" 2>/dev/null; do
    wait "$kpid"
    rc=$?
done
exit "$rc"
