#!/bin/sh
# Fill in deploy/nginx.conf's placeholders and print the result (POSIX sh + sed, so it also runs
# in the nginx image):
#   render-nginx.sh TEMPLATE LISTEN UPSTREAM... > nginx.conf
#   render-nginx.sh deploy/nginx.conf 127.0.0.1:8080 127.0.0.1:7861 127.0.0.1:7862
set -eu
if [ "$#" -lt 3 ]; then
    echo "usage: $0 TEMPLATE LISTEN HOST:PORT [HOST:PORT ...]" >&2
    exit 2
fi
template=$1
listen=$2
shift 2
servers=""
for upstream in "$@"; do
    servers="$servers server $upstream max_fails=1 fail_timeout=10s;"
done
# Comment lines are left alone (they name the placeholders).
sed -e "/^[[:space:]]*#/!s|{{LISTEN}}|$listen|g" -e "/^[[:space:]]*#/!s|{{UPSTREAMS}}|$servers|g" "$template"
