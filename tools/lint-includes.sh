#!/bin/sh
# make lint: every #include "module/header.h" must follow the module
# dependencies (lower modules only; a module's private header *_int.h only
# from inside the module).  Prints each violation; exits 1 if there is one.
set -eu
cd "$(dirname "$0")/.."
allowed() {
    case $1 in
    util) echo "util" ;;
    model) echo "util model" ;;
    query) echo "util model query" ;;
    store) echo "util model query store" ;;
    events) echo "util model events" ;;
    http) echo "util http" ;;
    sta) echo "util model query store events http sta" ;;
    ingest) echo "util model store events ingest" ;;
    rules) echo "util model store events rules" ;;
    opendata) echo "util model store http opendata" ;;
    app) echo "util model query store events http sta ingest rules opendata app" ;;
    *) echo "" ;;
    esac
}
bad=0
for f in $(find src -name '*.[ch]' | sort); do
    mod=$(echo "$f" | cut -d/ -f2)
    ok=$(allowed "$mod")
    for inc in $(sed -n 's/^#include "\([a-z_]*\/[a-z_]*\.h\)".*/\1/p' "$f"); do
        dep=${inc%%/*}
        hdr=${inc#*/}
        case " $ok " in
        *" $dep "*) ;;
        *) echo "$f: includes $inc, but $mod may not depend on $dep"; bad=1 ;;
        esac
        case $hdr in
        *_int.h) [ "$dep" = "$mod" ] || { echo "$f: includes $inc, private to $dep"; bad=1; } ;;
        esac
    done
done
[ $bad = 0 ] && echo "lint: module dependencies ok"
exit $bad
