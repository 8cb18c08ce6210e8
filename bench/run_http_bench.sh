#!/usr/bin/env bash
# Issue 2: range and whole-file serving, onda beside nginx (Debian's package, sendfile on), in one run,
# on the same 100 MB file from the same disk, driven by the same load generator (bench/load/http_load).
#
#   bash bench/run_http_bench.sh
#
# What it does:
#   1. installs what is missing (build packages via scripts/install-deps.sh; nginx, ffmpeg, curl) and
#      builds the `bench` preset (a release onda and http_load);
#   2. makes a ~100 MB WAV (white noise, 567 s, stereo s16 at 44.1 kHz) in a temporary directory:
#      onda accepts only real audio/video; nginx serves the very file onda stored (a hard link);
#   3. starts nginx (generated config: worker_processes = onda's threads, sendfile, tcp_nopush,
#      keepalive_requests 100000, access_log off, reuseport like onda's SO_REUSEPORT acceptors) and a
#      release onda without transcode workers (the upload would otherwise start a ladder transcode that
#      takes both cores during the runs), and uploads the file to onda;
#   4. reads onda's RSS after start, after the upload (idle), then with 10,000 idle keep-alive
#      connections (one GET /healthz each, then held), and the same for nginx as a reference;
#   5. per mode (range: random 64 KiB ranges; whole: whole-file GETs) and per server: a 3 s warm-up then
#      15 s measured, 64 connections, in ROUNDS rounds that alternate the servers' order; prints, per mode
#      and server, the round of median req/s, and the onda/nginx ratios of those. nginx is measured twice:
#      as configured above (`nginx`), and on a second server block of the same nginx with tcp_nopush
#      off (`nginx-nopush-off`), which avoids a Linux-only 40 ms stall of nginx's (see its comment);
#   6. stops everything it started (trap EXIT) and removes the temporary directory.
# Knobs (environment): THREADS (server threads, 2), CONNECTIONS (64), WARMUP (3), MEASURE_SECONDS (15),
# LOAD_THREADS (2), IDLE_CONNECTIONS (10000), ROUNDS (3), KEEP_TMP=1 keeps the temporary directory,
# RESULTS (a file the summary is also written to; default build/bench/http_bench_results.txt).
set -euo pipefail

cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
WARMUP=${WARMUP:-3}
SECONDS_MEASURED=${MEASURE_SECONDS:-15}
LOAD_THREADS=${LOAD_THREADS:-2}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
ROUNDS=${ROUNDS:-3}
RESULTS=${RESULTS:-build/bench/http_bench_results.txt}
ONDA=build/bench/src/onda
LOAD=build/bench/bench/http_load

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- 1. what the run needs ---------------------------------------------------------------------------
./scripts/install-deps.sh nginx ffmpeg curl
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx is not installed"
cmake --preset bench >/dev/null
cmake --build --preset bench
[ -x "$ONDA" ] && [ -x "$LOAD" ] || die "the bench build did not produce $ONDA and $LOAD"

# 10,000 idle connections need as many descriptors in onda and in the load generator.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
[ "$NOFILE" -ge $((IDLE_CONNECTIONS + 100)) ] ||
  die "open-file limit $NOFILE is below the $IDLE_CONNECTIONS idle connections this run opens"

# --- processes and clean-up --------------------------------------------------------------------------
TMP=$(mktemp -d /tmp/onda-http-bench.XXXXXX)
chmod 755 "$TMP"  # nginx's workers run as nobody and must reach the file
ONDA_PID="" NGINX_PID="" IDLE_PID=""
stop_pid() {  # stop_pid PID: TERM, wait up to 10 s, then KILL; only processes this script started
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_pid "$IDLE_PID"
  stop_pid "$ONDA_PID"
  stop_pid "$NGINX_PID"  # the master stops its workers
  if [ "${KEEP_TMP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {  # a listening port nobody uses, below the ephemeral range the clients take
  local port
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 10000))
    ss -Htln "sport = :$port" | grep -q . || { echo "$port"; return; }
  done
  die "no free port"
}
wait_http() {  # wait_http URL: up to 15 s for a 2xx answer
  for _ in $(seq 150); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  die "no answer from $1"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# "anon A, file F": VmRSS split into heap/stacks and file-backed pages (mostly shared libraries).
rss_split() { awk '/^RssAnon:/ {a = $2} /^RssFile:/ {f = $2} END {printf "anon %.1f, file %.1f", a / 1024, f / 1024}' "/proc/$1/status"; }
nginx_pids() { echo "$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')"; }
nginx_rss_kib() { local sum=0 pid; for pid in $(nginx_pids); do sum=$((sum + $(rss_kib "$pid"))); done; echo "$sum"; }
cpu_ticks() { local sum=0 pid; for pid in "$@"; do sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo "$sum"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
field() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$1"; }

# --- 2. the file --------------------------------------------------------------------------------------
mkdir -p "$TMP/www" "$TMP/nginx/tmp" "$TMP/onda-data"
FILE="$TMP/bench.wav"  # uploaded to onda, then removed: nginx serves onda's stored file (below)
log "making the 100 MB WAV in $TMP"
ffmpeg -nostdin -loglevel error -f lavfi -i anoisesrc=d=567:c=white:r=44100 -ac 2 -c:a pcm_s16le "$FILE"
FILE_BYTES=$(stat -c %s "$FILE")

# --- 3. the servers -----------------------------------------------------------------------------------
NGINX_PORT=$(free_port)
NGINX_NOPUSH_OFF_PORT=$(free_port)
[ "$NGINX_NOPUSH_OFF_PORT" != "$NGINX_PORT" ] || NGINX_NOPUSH_OFF_PORT=$(free_port)
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes $THREADS;
worker_rlimit_nofile $NOFILE;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections $((IDLE_CONNECTIONS + 2000)); }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 100000;
  keepalive_timeout 75s;
  client_body_temp_path $TMP/nginx/tmp/body;
  proxy_temp_path $TMP/nginx/tmp/proxy;
  fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
  uwsgi_temp_path $TMP/nginx/tmp/uwsgi;
  scgi_temp_path $TMP/nginx/tmp/scgi;
  types { audio/wav wav; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$NGINX_PORT reuseport;
    root $TMP/www;
    location = /healthz { default_type application/json; return 200 '{"status":"ok"}'; }
  }
  # The same with tcp_nopush off: on Linux, nginx does not set TCP_NODELAY on a keep-alive connection
  # after it has corked one, so the short last segment of a 64 KiB answer waits for the client's
  # delayed ACK (about 40 ms on loopback). This server shows nginx without that stall.
  server {
    listen 127.0.0.1:$NGINX_NOPUSH_OFF_PORT reuseport;
    tcp_nopush off;
    root $TMP/www;
  }
}
EOF
"$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" &
NGINX_PID=$!
wait_http "http://127.0.0.1:$NGINX_PORT/healthz"

ONDA_PORT=$(free_port)
"$ONDA" serve --listen "127.0.0.1:$ONDA_PORT" --data-dir "$TMP/onda-data" \
  --set auth.default_visibility=public --set auth.rate_limit_per_minute=0 \
  --set transcode.workers=0 --threads "$THREADS" --set log.level=warn >"$TMP/onda.log" 2>&1 &
ONDA_PID=$!
wait_http "http://127.0.0.1:$ONDA_PORT/healthz"
sleep 1
ONDA_RSS_START=$(rss_kib "$ONDA_PID") ONDA_SPLIT_START=$(rss_split "$ONDA_PID")

TOKEN=$("$ONDA" token --data-dir "$TMP/onda-data" --sub bench --role creator)
log "uploading to onda"
UPLOADED=$(curl -sf -H "Authorization: Bearer $TOKEN" -H "Content-Type: audio/wav" --data-binary "@$FILE" \
  "http://127.0.0.1:$ONDA_PORT/v1/media?filename=bench.wav&title=bench") || die "upload failed: $(cat "$TMP/onda.log")"
MEDIA_ID=$(field "$UPLOADED" id)
[[ "$MEDIA_ID" == m_* ]] || die "no media id in: $UPLOADED"
ONDA_PATH="/v1/media/$MEDIA_ID/stream"
# nginx serves onda's stored copy itself, through a hard link to the blob: one file, one set of
# page-cache pages for both. Two copies of the same bytes written by different programs need not
# cost the kernel the same to send (their page-cache folios can differ): nginx sent ffmpeg's copy
# ~4 % faster than onda's in paired runs (docs/benchmarks.md, session 11).
BLOB="$TMP/onda-data/blobs/media/$MEDIA_ID/original"
[ -f "$BLOB" ] || die "onda's stored file is not at $BLOB"
ln "$BLOB" "$TMP/www/media.wav"
chmod 644 "$TMP/www/media.wav"  # nginx's workers run as nobody (the mode is the blob's too: one inode)
NGINX_PATH="/media.wav"
cmp -s "$FILE" "$BLOB" || die "onda stored other bytes than were uploaded"
rm -f "$FILE"  # 100 MB the runs do not use, out of the page cache of the machine being measured

# Both serve that one file: check that each answers a 1 MiB range from the middle with the same bytes.
middle=$((FILE_BYTES / 2))
curl -sf -r "$middle-$((middle + 1048575))" "http://127.0.0.1:$ONDA_PORT$ONDA_PATH" -o "$TMP/onda.part"
curl -sf -r "$middle-$((middle + 1048575))" "http://127.0.0.1:$NGINX_PORT$NGINX_PATH" -o "$TMP/nginx.part"
cmp -s "$TMP/onda.part" "$TMP/nginx.part" || die "onda and nginx serve different bytes"
rm -f "$TMP/onda.part" "$TMP/nginx.part"

sleep 2
ONDA_RSS_IDLE=$(rss_kib "$ONDA_PID") ONDA_SPLIT_IDLE=$(rss_split "$ONDA_PID")
NGINX_RSS_IDLE=$(nginx_rss_kib)

# --- 4. 10,000 idle keep-alive connections ------------------------------------------------------------
IDLE_RSS="" IDLE_OPEN=""
measure_idle() {  # measure_idle PORT NAME: sets IDLE_RSS (KiB) and IDLE_OPEN once every connection is up
  local port=$1 name=$2 out="$TMP/idle-$2.json" ready line final
  "$LOAD" --mode idle --port "$port" --path /healthz --connections "$IDLE_CONNECTIONS" \
    --threads "$LOAD_THREADS" --seconds 300 >"$out" 2>"$TMP/idle-$name.err" &
  IDLE_PID=$!
  for _ in $(seq 1500); do [ -s "$out" ] && break; kill -0 "$IDLE_PID" 2>/dev/null || break; sleep 0.1; done
  line=$(head -n1 "$out")
  [ -n "$line" ] || die "the idle load generator said nothing: $(cat "$TMP/idle-$name.err")"
  ready=$(field "$line" idle_ready)
  sleep 2  # let the server settle before reading its memory
  if [ "$name" = onda ]; then IDLE_RSS=$(rss_kib "$ONDA_PID") ONDA_SPLIT_10K=$(rss_split "$ONDA_PID")
  else IDLE_RSS=$(nginx_rss_kib); fi
  stop_pid "$IDLE_PID"
  IDLE_PID=""
  final=$(tail -n1 "$out")
  log "$name idle: $line -> $final"
  # Open when RSS was read: those answered, less any the server had closed by the end of the hold.
  IDLE_OPEN=$((ready - $(field "$final" closed_by_server)))
}
log "opening $IDLE_CONNECTIONS idle connections to onda"
measure_idle "$ONDA_PORT" onda
ONDA_RSS_10K=$IDLE_RSS ONDA_OPEN_10K=$IDLE_OPEN
log "opening $IDLE_CONNECTIONS idle connections to nginx"
measure_idle "$NGINX_PORT" nginx
NGINX_RSS_10K=$IDLE_RSS NGINX_OPEN_10K=$IDLE_OPEN
sleep 2

# --- 5. load runs ---------------------------------------------------------------------------------------
declare -A RESULT CPU
ticks_per_second=$(getconf CLK_TCK)
run_load() {  # run_load MODE SERVER ROUND
  local mode=$1 server=$2 round=$3 port path pids before after out
  case $server in
    onda) port=$ONDA_PORT path=$ONDA_PATH pids=$ONDA_PID ;;
    nginx) port=$NGINX_PORT path=$NGINX_PATH pids=$(nginx_pids) ;;
    nginx-nopush-off) port=$NGINX_NOPUSH_OFF_PORT path=$NGINX_PATH pids=$(nginx_pids) ;;
  esac
  log "round $round/$ROUNDS, $mode on $server: ${WARMUP}s warm-up, ${SECONDS_MEASURED}s measured, $CONNECTIONS connections"
  before=$(cpu_ticks $pids)
  out=$("$LOAD" --mode "$mode" --port "$port" --path "$path" --connections "$CONNECTIONS" \
    --threads "$LOAD_THREADS" --warmup "$WARMUP" --seconds "$SECONDS_MEASURED" --size "$FILE_BYTES")
  after=$(cpu_ticks $pids)
  RESULT[$mode.$server.$round]=$out
  # Server CPU over warm-up + measurement, as a share of one core (200 % = both cores).
  CPU[$mode.$server.$round]=$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v s="$((WARMUP + SECONDS_MEASURED))" \
    'BEGIN {printf "%.0f", 100 * t / hz / s}')
  echo "round $round $mode $server $out" >>"$TMP/raw.txt"
}
SERVERS="onda nginx nginx-nopush-off"
# Rounds alternate the order of the servers, so that neither always runs first (a warmer page cache,
# a drifting machine); the report takes, per mode and server, the round of median req/s.
for round in $(seq "$ROUNDS"); do
  order=$SERVERS
  [ $((round % 2)) -eq 0 ] && order=$(tr ' ' '\n' <<<"$SERVERS" | tac | tr '\n' ' ')
  for mode in range whole; do
    for server in $order; do run_load "$mode" "$server" "$round"; done
  done
done
for mode in range whole; do
  for server in $SERVERS; do
    median=$(for round in $(seq "$ROUNDS"); do
      echo "$(field "${RESULT[$mode.$server.$round]}" rps) $round"
    done | sort -n | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2) {print $2}')
    RESULT[$mode.$server]=${RESULT[$mode.$server.$median]}
    CPU[$mode.$server]=${CPU[$mode.$server.$median]}
  done
done
ONDA_RSS_AFTER=$(rss_kib "$ONDA_PID") ONDA_SPLIT_AFTER=$(rss_split "$ONDA_PID")
ONDA_HWM=$(awk '/^VmHWM:/ {print $2}' "/proc/$ONDA_PID/status")

# --- 6. the report ----------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
{
  echo "onda vs nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, loopback"
  echo "file: $FILE_BYTES bytes (WAV); $CONNECTIONS connections; ${WARMUP}s warm-up + ${SECONDS_MEASURED}s;" \
       "$ROUNDS rounds, the round of median req/s shown;" \
       "server threads/workers: $THREADS; load generator threads: $LOAD_THREADS"
  echo
  printf '%-6s %-17s %10s %9s %9s %9s %7s %8s\n' mode server "req/s" "MB/s" "p50 ms" "p99 ms" errors "cpu %"
  for mode in range whole; do
    for server in $SERVERS; do
      r=${RESULT[$mode.$server]}
      printf '%-6s %-17s %10s %9s %9s %9s %7s %8s\n' "$mode" "$server" "$(field "$r" rps)" "$(field "$r" mb_per_s)" \
        "$(field "$r" p50_ms)" "$(field "$r" p99_ms)" "$(field "$r" errors)" "${CPU[$mode.$server]}"
    done
  done
  echo
  for mode in range whole; do
    o=${RESULT[$mode.onda]}
    for peer in nginx nginx-nopush-off; do
      n=${RESULT[$mode.$peer]}
      printf 'onda/%-17s %-5s req/s %5s  MB/s %5s  (target >= 1.0)\n' "$peer" "$mode:" \
        "$(ratio "$(field "$o" rps)" "$(field "$n" rps)")" "$(ratio "$(field "$o" mb_per_s)" "$(field "$n" mb_per_s)")"
    done
  done
  echo
  echo "onda RSS (VmRSS; targets: idle <= 20 MiB, 10,000 idle connections <= 100 MiB):"
  echo "  after start                          $(mib "$ONDA_RSS_START") MiB  ($ONDA_SPLIT_START)"
  echo "  idle, after the upload               $(mib "$ONDA_RSS_IDLE") MiB  ($ONDA_SPLIT_IDLE)"
  echo "  $ONDA_OPEN_10K idle keep-alive connections  $(mib "$ONDA_RSS_10K") MiB  ($ONDA_SPLIT_10K)"
  echo "  after the load runs                  $(mib "$ONDA_RSS_AFTER") MiB  ($ONDA_SPLIT_AFTER; peak $(mib "$ONDA_HWM"))"
  echo "  per idle connection                  $(awk -v a="$ONDA_RSS_10K" -v b="$ONDA_RSS_IDLE" -v n="$ONDA_OPEN_10K" \
    'BEGIN {if (n > 0) printf "%.1f", (a - b) / n; else print "n/a"}') KiB"
  echo "nginx RSS (master + workers, VmRSS summed; reference): idle $(mib "$NGINX_RSS_IDLE") MiB;" \
       "with $NGINX_OPEN_10K idle keep-alive connections $(mib "$NGINX_RSS_10K") MiB" \
       "($(awk -v a="$NGINX_RSS_10K" -v b="$NGINX_RSS_IDLE" -v n="$NGINX_OPEN_10K" \
         'BEGIN {if (n > 0) printf "%.1f", (a - b) / n; else print "n/a"}') KiB per connection)"
  echo
  echo "raw:"
  cat "$TMP/raw.txt"
} | tee "$RESULTS"
grep -qi "error\|crit\|emerg" "$TMP/nginx/error.log" 2>/dev/null && log "nginx error log: $(tail -n3 "$TMP/nginx/error.log")"
[ -s "$TMP/onda.log" ] && log "onda log (warnings): $(tail -n5 "$TMP/onda.log")"
exit 0
