#!/usr/bin/env bash
# PolicyQA scaled out as plain processes, for machines without containers: one `chroma run`,
# REPLICAS app processes over it (each with its own store dir) and nginx round-robin in front.
#
#   deploy/run-local.sh [REPLICAS]        # default 3; Ctrl-C stops everything
#
# Settings (environment):
#   PYTHON       the venv's python (default: .venv/bin/python); `chroma` is taken from beside it
#   STATE_DIR    Chroma data, replica store dirs, uploads, logs (default: .policyqa/scaleout)
#   CHROMA_PORT  8000    APP_PORT  7861 (replica i listens on APP_PORT+i-1)    PROXY_PORT  8080
#   NGINX        Debian's nginx (default: nginx on PATH, else /usr/sbin/nginx)
#   POLICYQA_API_KEY, POLICYQA_ADMIN_PASSWORD, POLICYQA_MODEL_CACHE …  passed on to every replica
#
# Replica 1 starts first: with an empty Chroma server it builds the index from data/ (minutes the
# first time). The others start once it is healthy, so they find the index on the server.
set -euo pipefail

replicas=${1:-3}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
python=${PYTHON:-$root/.venv/bin/python}
chroma=$(dirname "$python")/chroma
state=${STATE_DIR:-$root/.policyqa/scaleout}
chroma_port=${CHROMA_PORT:-8000}
app_port=${APP_PORT:-7861}
proxy_port=${PROXY_PORT:-8080}
nginx=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

for tool in "$python" "$chroma" "$nginx"; do
    [[ -x $tool ]] || { echo "not found: $tool" >&2; exit 1; }
done
mkdir -p "$state/logs" "$state/chroma"
# nginx's prefix (config, pid, temp dirs): a temp dir, since nginx started as root runs its
# workers as "nobody", who must reach the temp dirs under it (not possible below a 0700 home).
nginx_dir=$(mktemp -d -t policyqa-nginx.XXXXXX)
chmod 755 "$nginx_dir"
export GRADIO_ANALYTICS_ENABLED=False ANONYMIZED_TELEMETRY=False HF_HUB_OFFLINE=1

pids=()
stop_all() {
    trap - INT TERM EXIT
    echo "stopping …" >&2
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$nginx_dir"
}
trap 'stop_all; exit 130' INT TERM
trap stop_all EXIT

# Until http://127.0.0.1:PORT/PATH answers 200, or the process PID has exited, or TIMEOUT s.
wait_ok() {
    local pid=$1 url=$2 timeout=$3 log=$4
    local deadline=$((SECONDS + timeout))
    until "$python" -c "import urllib.request as u; u.urlopen('$url', timeout=3)" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "exited before $url was ok; see $log" >&2
            tail -n 20 "$log" >&2
            exit 1
        fi
        if ((SECONDS > deadline)); then
            echo "$url not ok after $timeout s; see $log" >&2
            exit 1
        fi
        sleep 1
    done
}

"$chroma" run --path "$state/chroma" --host 127.0.0.1 --port "$chroma_port" >"$state/logs/chroma.log" 2>&1 &
pids+=($!)
wait_ok "$!" "http://127.0.0.1:$chroma_port/api/v2/heartbeat" 60 "$state/logs/chroma.log"
echo "chroma: 127.0.0.1:$chroma_port ($state/chroma)"

upstreams=()
start_replica() {
    local i=$1 port=$((app_port + $1 - 1))
    local dir=$state/replica-$i
    mkdir -p "$dir/store"
    POLICYQA_CHROMA_HOST=127.0.0.1 POLICYQA_CHROMA_PORT=$chroma_port \
        POLICYQA_STORE_DIR=$dir/store POLICYQA_UPLOAD_DIR=$dir/uploads \
        "$python" app.py --host 127.0.0.1 --port "$port" >"$state/logs/replica-$i.log" 2>&1 &
    pids+=($!)
    upstreams+=("127.0.0.1:$port")
    replica_pid=$!
}

start_replica 1
wait_ok "$replica_pid" "http://127.0.0.1:$app_port/api/health" 1800 "$state/logs/replica-1.log"
echo "replica 1: http://127.0.0.1:$app_port/"
waiting=()
for ((i = 2; i <= replicas; i++)); do
    start_replica "$i"
    waiting+=("$replica_pid:$i")
done
for entry in "${waiting[@]}"; do
    pid=${entry%%:*} i=${entry##*:}
    wait_ok "$pid" "http://127.0.0.1:$((app_port + i - 1))/api/health" 600 "$state/logs/replica-$i.log"
    echo "replica $i: http://127.0.0.1:$((app_port + i - 1))/"
done

sh "$root/deploy/render-nginx.sh" "$root/deploy/nginx.conf" "127.0.0.1:$proxy_port" "${upstreams[@]}" \
    >"$nginx_dir/nginx.conf"
"$nginx" -t -q -p "$nginx_dir" -c "$nginx_dir/nginx.conf" -e stderr
"$nginx" -p "$nginx_dir" -c "$nginx_dir/nginx.conf" -e stderr -g 'daemon off;' \
    >"$state/logs/nginx.log" 2>&1 &
pids+=($!)
wait_ok "$!" "http://127.0.0.1:$proxy_port/nginx-health" 30 "$state/logs/nginx.log"

echo "ready: http://127.0.0.1:$proxy_port/  (logs in $state/logs; Ctrl-C stops everything)"
wait -n "${pids[@]}" || true
echo "a process exited; see $state/logs" >&2
