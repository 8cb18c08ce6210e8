#!/usr/bin/env bash
# Where the heap of an idle Socket.IO connection goes (issue 5: <= 4 KiB per idle connection), by
# allocation site. Starts the `bench` preset's onda under heaptrack, connects CLIENTS WebSocket
# clients with bench/load/socketio_load (one publisher sends one message per 2 s meanwhile), waits
# WAIT seconds, then kills onda with SIGKILL while every client is still connected: heaptrack then
# reports what was allocated and never freed, which is what the connections held. Prints the
# largest sites and the total; divide by CLIENTS for bytes per connection (heap only: the RSS the
# realtime bench measures adds malloc's overhead per block).
#
#   bash bench/idle_heap.sh
#   CLIENTS=2000 WAIT=12 SITES=30 bash bench/idle_heap.sh
#
# Needs heaptrack (apt-get install heaptrack) and the bench preset built (cmake --build --preset bench
# --target onda socketio_load). Output: build/bench/idle_heap/ (heap.zst, leaks.txt).
set -euo pipefail

cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-2000}
WAIT=${WAIT:-12}
SITES=${SITES:-30}
ONDA=build/bench/src/onda
LOAD=build/bench/bench/socketio_load
OUT=build/bench/idle_heap

command -v heaptrack >/dev/null || { echo "idle_heap: heaptrack is needed (apt-get install heaptrack)" >&2; exit 1; }
[ -x "$ONDA" ] && [ -x "$LOAD" ] || { echo "idle_heap: build the bench preset's onda and socketio_load" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"
rm -rf "$OUT"
mkdir -p "$OUT"

HEAPTRACK_PID=
LOAD_PID=
cleanup() {
  [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null || true
  [ -n "$HEAPTRACK_PID" ] && pkill -KILL -P "$HEAPTRACK_PID" 2>/dev/null || true
  pkill -f "onda-media.*$OUT/data" 2>/dev/null || true
}
trap cleanup EXIT

heaptrack -o "$OUT/heap" "$ONDA" serve --listen 127.0.0.1:0 --data-dir "$OUT/data" --ready-file "$OUT/ready" \
  --threads 2 --set auth.rate_limit_per_minute=0 --set realtime.max_devices=0 --set realtime.events_per_minute=0 \
  --set log.level=warn >"$OUT/onda.log" 2>&1 &
HEAPTRACK_PID=$!
for _ in $(seq 300); do [ -s "$OUT/ready" ] && break; sleep 0.1; done
port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$OUT/ready")
[ -n "$port" ] || { echo "idle_heap: onda did not start: $(tail -n3 "$OUT/onda.log")" >&2; exit 1; }
server=$(pgrep -P "$HEAPTRACK_PID" -f "onda serve" | head -n1)
token=$("$ONDA" token --data-dir "$OUT/data" --sub bench --role creator)
"$LOAD" --port "$port" --target onda --token "$token" --clients "$CLIENTS" --messages 1 --paced-messages 1000 \
  --publishers 1 --rate 0.5 --threads 2 --server-pid "$server" >"$OUT/load.out" 2>"$OUT/load.err" &
LOAD_PID=$!
sleep "$WAIT"
grep -q "clients connected" "$OUT/load.err" || { echo "idle_heap: the clients did not connect in time" >&2; exit 1; }
kill -KILL "$server"
wait "$HEAPTRACK_PID" || true
HEAPTRACK_PID=
heaptrack_print -f "$OUT/heap.zst" --print-peaks 0 --print-allocators 0 --print-leaks 1 --print-temporary 0 \
  --peak-limit "$SITES" -s 0 >"$OUT/leaks.txt" 2>/dev/null
grep "clients connected" "$OUT/load.err"
awk '/leaked over/ {line = $0; getline; printf "%-60s %s\n", substr($0, 1, 60), line}' "$OUT/leaks.txt"
grep "total memory leaked" "$OUT/leaks.txt"
echo "per client: heap total / $CLIENTS (includes the server's own ~1 MiB)"
