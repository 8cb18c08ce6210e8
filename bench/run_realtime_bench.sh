#!/usr/bin/env bash
# Issue 5: realtime broadcast, onda beside a minimal Node socket.io 4.x server (bench/peers/socketio-peer,
# pinned in its package-lock.json), in one run, driven by the same load tool (bench/load/socketio_load).
#
#   bash bench/run_realtime_bench.sh
#   ONDA_BUILD_DIR=build/other bash bench/run_realtime_bench.sh   # an onda built elsewhere
#
# What it does:
#   1. builds the `bench` preset's onda and socketio_load (SKIP_BUILD=1 skips) and runs `npm ci` in
#      bench/peers/socketio-peer;
#   2. raises the open-file limit to the hard limit (each side holds CLIENTS sockets);
#   3. one server at a time, so they never share the two cores: starts onda (`onda serve --threads
#      THREADS`, API rate limit, device limit and Socket.IO event limit off: one user `bench` connects
#      CLIENTS + PUBLISHERS devices from one address), makes a creator token of user `bench`, runs
#      socketio_load against it, stops it; then the same with the peer (`node server.mjs`);
#   4. socketio_load (see its header): CLIENTS WebSocket clients in room `user:bench`, RSS per idle
#      connection, then a `burst` phase (MESSAGES messages from PUBLISHERS publishers, each a Socket.IO
#      device of `bench` emitting `volume_change` and sending the next as soon as the previous is
#      acked; every other device gets `sync_state`: deliveries/s) and a `paced` phase (PACED_MESSAGES at
#      RATE/s: delivery latency p50/p99 at a steady load), each with the server's CPU seconds;
#   5. prints a table and the onda/peer ratios; the summary is also written to RESULTS.
# PIN=1 pins the server to CPU 0 and the load tool to CPU 1 (taskset; both sides alike).
# On the 2-core development VM the whole run takes about 8 minutes (most of it the two bursts of
# 10 million deliveries); MESSAGES=200 makes it about 2.
# Knobs (environment): CLIENTS (10000), MESSAGES (1000, burst), PACED_MESSAGES (200), PUBLISHERS (4), RATE (20),
# THREADS (onda's, 2), PIN (0),
# LOAD_THREADS (2), SIDES ("onda peer"), ONDA_BUILD_DIR (build/bench), SKIP_BUILD=1, KEEP_TMP=1, EXTRA
# (more `--set key=value` for onda), RESULTS (build/bench/realtime_bench_results.txt).
set -euo pipefail

cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-10000}
MESSAGES=${MESSAGES:-1000}
PACED_MESSAGES=${PACED_MESSAGES:-200}
PUBLISHERS=${PUBLISHERS:-4}
RATE=${RATE:-20}
THREADS=${THREADS:-2}
LOAD_THREADS=${LOAD_THREADS:-2}
read -r -a SIDES <<<"${SIDES:-onda peer}"
ONDA_BUILD_DIR=${ONDA_BUILD_DIR:-build/bench}
RESULTS=${RESULTS:-build/bench/realtime_bench_results.txt}
ONDA=$ONDA_BUILD_DIR/src/onda
LOAD=build/bench/bench/socketio_load
PEER_DIR=bench/peers/socketio-peer
read -r -a EXTRA_SETS <<<"${EXTRA:-}"
SERVER_CPUS=()
LOAD_CPUS=()
if [ "${PIN:-0}" = 1 ]; then
  SERVER_CPUS=(taskset -c 0)
  LOAD_CPUS=(taskset -c 1)
fi

log() { printf '[realtime-bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- 1. what the run needs ---------------------------------------------------------------------------
command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cmake --preset bench >/dev/null
  if [ "$ONDA_BUILD_DIR" = build/bench ]; then
    cmake --build --preset bench --target onda socketio_load
  else
    cmake --build --preset bench --target socketio_load
    cmake --build "$ONDA_BUILD_DIR" --target onda -j 2
  fi
  (cd "$PEER_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi
[ -x "$LOAD" ] || die "no $LOAD"
[ -x "$ONDA" ] || die "no $ONDA"
[ -d "$PEER_DIR/node_modules/socket.io" ] || die "run npm ci in $PEER_DIR"

# --- 2. file descriptors -------------------------------------------------------------------------------
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((CLIENTS + 256)) ] || die "the open-file limit $(ulimit -n) is too low for $CLIENTS clients"

# --- processes and clean-up --------------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/onda-realtime-bench.XXXXXX")
SERVER_PID=
stop_server() {  # TERM, wait up to 10 s, then KILL; only the process this script started
  local pid=$SERVER_PID
  SERVER_PID=
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_server
  if [ "${KEEP_TMP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port_file() {  # wait_port_file FILE PID: up to 30 s for {"port":N} in FILE; prints N
  local port
  for _ in $(seq 300); do
    port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$1" 2>/dev/null | head -n1)
    [ -n "$port" ] && { echo "$port"; return; }
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
field() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$1" | head -n1; }
phase_field() {  # phase_field JSON PHASE KEY
  local part
  part=$(grep -o "{\"phase\":\"$2\"[^}]*}" <<<"$1" || true)
  field "$part" "$3"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

declare -A OUT CPU
run_side() {  # run_side SIDE
  local side=$1 port token=() before after started ended
  mkdir -p "$TMP/$side"
  if [ "$side" = onda ]; then
    "${SERVER_CPUS[@]}" "$ONDA" serve --listen 127.0.0.1:0 --data-dir "$TMP/onda" --ready-file "$TMP/onda.ready" \
      --threads "$THREADS" --set auth.rate_limit_per_minute=0 --set realtime.max_devices=0 \
      --set realtime.events_per_minute=0 --set log.level=warn "${EXTRA_SETS[@]/#/--set=}" >"$TMP/onda.log" 2>&1 &
    SERVER_PID=$!
    port=$(wait_port_file "$TMP/onda.ready" "$SERVER_PID") || die "onda did not start: $(tail -n5 "$TMP/onda.log")"
    token=(--token "$("$ONDA" token --data-dir "$TMP/onda" --sub bench --role creator)")
  else
    "${SERVER_CPUS[@]}" node "$PEER_DIR/server.mjs" >"$TMP/peer.ready" 2>"$TMP/peer.log" &
    SERVER_PID=$!
    port=$(wait_port_file "$TMP/peer.ready" "$SERVER_PID") || die "the peer did not start: $(tail -n5 "$TMP/peer.log")"
  fi
  sleep 1
  log "$side: $CLIENTS clients; burst $MESSAGES messages from $PUBLISHERS publishers; paced $PACED_MESSAGES at $RATE/s"
  before=$(cpu_ticks "$SERVER_PID")
  started=$(date +%s.%N)
  OUT[$side]=$("${LOAD_CPUS[@]}" "$LOAD" --port "$port" --target "$side" "${token[@]}" --clients "$CLIENTS" --messages "$MESSAGES" \
    --paced-messages "$PACED_MESSAGES" --publishers "$PUBLISHERS" --rate "$RATE" --threads "$LOAD_THREADS" \
    --server-pid "$SERVER_PID" 2> >(tee -a "$TMP/load.err" >&2)) || die "socketio_load against $side failed; server log: $(tail -n5 "$TMP/$side.log")"
  ended=$(date +%s.%N)
  after=$(cpu_ticks "$SERVER_PID")
  CPU[$side]=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v a="$started" -v b="$ended" \
    'BEGIN {printf "%.0f", 100 * t / hz / (b - a)}')
  stop_server
  [ -s "$TMP/$side.log" ] && log "$side log (tail): $(tail -n3 "$TMP/$side.log")"
  echo "$side ${OUT[$side]}" >>"$TMP/raw.txt"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for side in "${SIDES[@]}"; do run_side "$side"; done

# --- 5. the report -------------------------------------------------------------------------------------
PEER_VERSION=$(cd "$PEER_DIR" && node -p 'require("./node_modules/socket.io/package.json").version' 2>/dev/null || echo 4)
{
  echo "realtime broadcast: onda vs socket.io $PEER_VERSION (node $(node -v)), $(date -u +%Y-%m-%dT%H:%MZ)," \
    "$(nproc) cores, loopback, one server at a time"
  echo "$CLIENTS WebSocket clients in one room; $PUBLISHERS Socket.IO publishers (volume_change -> sync_state);" \
    "burst: $MESSAGES messages, each as soon as the previous is acked; paced: $PACED_MESSAGES at $RATE/s;" \
    "onda threads $THREADS, load threads $LOAD_THREADS; pinned: ${PIN:-0}"
  echo "load average before: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  printf '%-5s %9s %7s %9s %13s %12s %11s %14s %12s %12s %12s %11s %9s\n' server connected dropped "KiB/conn" \
    "burst deliv/s" "burst p99 ms" "burst cpu s" "burst deliv/cpu-s" "paced p50 ms" "paced p99 ms" "paced max ms" \
    "paced cpu s" "srv cpu%"
  for side in "${SIDES[@]}"; do
    out=${OUT[$side]}
    printf '%-5s %9s %7s %9s %13s %12s %11s %14s %12s %12s %12s %11s %9s\n' "$side" "$(field "$out" connected)" \
      "$(field "$out" dropped)" "$(awk -v b="$(field "$out" rss_per_connection_bytes)" 'BEGIN {printf "%.2f", b / 1024}')" \
      "$(phase_field "$out" burst deliveries_per_s)" "$(phase_field "$out" burst p99_ms)" \
      "$(phase_field "$out" burst server_cpu_s)" "$(phase_field "$out" burst deliveries_per_server_cpu_s)" \
      "$(phase_field "$out" paced p50_ms)" "$(phase_field "$out" paced p99_ms)" "$(phase_field "$out" paced max_ms)" \
      "$(phase_field "$out" paced server_cpu_s)" "${CPU[$side]}"
  done
  if [ -n "${OUT[onda]:-}" ] && [ -n "${OUT[peer]:-}" ]; then
    echo
    echo "onda/peer burst deliveries/s: $(ratio "$(phase_field "${OUT[onda]}" burst deliveries_per_s)" \
      "$(phase_field "${OUT[peer]}" burst deliveries_per_s)") (target >= 10)"
    echo "onda/peer burst deliveries per server CPU-second: $(ratio \
      "$(phase_field "${OUT[onda]}" burst deliveries_per_server_cpu_s)" \
      "$(phase_field "${OUT[peer]}" burst deliveries_per_server_cpu_s)")"
  fi
  echo
  echo "raw:"
  cat "$TMP/raw.txt"
} | tee "$RESULTS"
exit 0
