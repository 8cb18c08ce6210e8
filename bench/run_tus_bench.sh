#!/usr/bin/env bash
# tus 1.0.0 resumable uploads, onda beside the reference server (@tus/server with @tus/file-store, npm,
# pinned in bench/tus-peer/package-lock.json), in one run: a 1 GiB file uploaded in 5 MiB PATCHes over
# loopback by the same client (bench/load/tus_upload), MB/s for each and the onda/peer ratio.
#
#   bash bench/run_tus_bench.sh
#   ONDA_BUILD_DIR=build/onda-main bash bench/run_tus_bench.sh   # an onda built elsewhere (see below)
#
# What it does:
#   1. installs what is missing (build packages via scripts/install-deps.sh; ffmpeg, curl), builds the
#      `bench` preset's tus_upload (and onda, when ONDA_BUILD_DIR is the preset's build/bench; another
#      ONDA_BUILD_DIR is brought up to date with `cmake --build DIR --target onda`), and runs
#      `npm ci` in bench/tus-peer;
#   2. makes the input once and keeps it: build/bench/tus_bench_input.wav, 1 GiB of PCM (a 440 Hz sine,
#      48 kHz stereo s16, 5592.4 s) plus a 44-byte header, 1,073,741,868 bytes. onda probes a finished
#      upload and refuses what is not audio/video (415), so the input is real audio; the peer stores it
#      as it is;
#   3. starts the servers, each with its own data directory in one temporary directory (same
#      filesystem): `onda` (`onda serve --listen 127.0.0.1:0 --ready-file F --threads 2`, rate limit
#      off, no transcode workers — each finished upload would otherwise start a ladder transcode of the
#      1 GiB WAV that takes both cores away from the runs after it, the peer's included — a creator token from `onda token`; as configured by default, so each PATCH is fdatasync'ed
#      before it is acknowledged), `onda-nosync` (the same with `--set uploads.sync_writes=false`: no
#      fdatasync, which is what the peer does, so the two compare like for like), and `peer`
#      (`node bench/tus-peer/server.mjs DIR`, path /files);
#   4. uploads the file WARMUPS times to each (not counted), then RUNS times to each, alternating
#      onda, peer, onda-nosync, onda, peer, ...; every upload is one tus_upload process: POST, then
#      PATCHes of CHUNK
#      bytes, timed from the POST to the last 204 (onda's last PATCH includes its probe of the file).
#      After each upload, untimed: the client DELETEs it (tus termination, and onda's media object), the
#      script checks that the data directories are empty again and runs `sync`, so no run starts with
#      the previous run's dirty pages still being written back and the disk holds at most the input
#      and one upload;
#   5. prints per run MB/s, chunk latency p50/p99, the last PATCH's latency, CPU (server, client, and
#      the rest of the machine: other users' processes, but also kernel writeback and softirq work), and
#      at the end each server's median and best MB/s, the ratios to the peer (target: onda at least 3) and
#      each server's peak RSS (VmHWM); the summary is also written to RESULTS;
#   6. stops everything it started (trap EXIT) and removes the temporary directory.
# Knobs (environment): ONDA_BUILD_DIR (build/bench; must hold src/onda), RUNS (3), WARMUPS (1),
# CHUNK (5MiB = 5,242,880 bytes; also accepts bytes, MB, KiB), THREADS (onda's, 2), SIDES (which
# servers, in this order: "onda peer onda-nosync"), SKIP_BUILD=1, KEEP_TMP=1, INPUT (another input
# file), TMPDIR,
# RESULTS (build/bench/tus_bench_results.txt).
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
WARMUPS=${WARMUPS:-1}
CHUNK=${CHUNK:-5MiB}
THREADS=${THREADS:-2}
read -r -a SIDES <<<"${SIDES:-onda peer onda-nosync}"
ONDA_BUILD_DIR=${ONDA_BUILD_DIR:-build/bench}
INPUT=${INPUT:-build/bench/tus_bench_input.wav}
RESULTS=${RESULTS:-build/bench/tus_bench_results.txt}
ONDA=$ONDA_BUILD_DIR/src/onda
CLIENT=build/bench/bench/tus_upload
PEER_DIR=bench/tus-peer

log() { printf '[tus-bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
WANT_ONDA=0 WANT_PEER=0
for side in "${SIDES[@]}"; do
  case $side in
    onda | onda-nosync) WANT_ONDA=1 ;;
    peer) WANT_PEER=1 ;;
    *) die "SIDES: $side is not onda, onda-nosync or peer" ;;
  esac
done

# --- 1. what the run needs ---------------------------------------------------------------------------
./scripts/install-deps.sh ffmpeg curl
command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed (@tus/server wants Node >= 20.19)"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cmake --preset bench >/dev/null
  if [ "$ONDA_BUILD_DIR" = build/bench ] && [ "$WANT_ONDA" = 1 ]; then
    cmake --build --preset bench --target onda tus_upload
  else
    cmake --build --preset bench --target tus_upload
    if [ "$WANT_ONDA" = 1 ]; then
      [ -f "$ONDA_BUILD_DIR/CMakeCache.txt" ] || die "$ONDA_BUILD_DIR is not a CMake build directory"
      cmake --build "$ONDA_BUILD_DIR" --target onda -j 2
    fi
  fi
  (cd "$PEER_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi
[ -x "$CLIENT" ] || die "no $CLIENT"
[ "$WANT_ONDA" = 0 ] || [ -x "$ONDA" ] || die "no $ONDA"
[ "$WANT_PEER" = 0 ] || [ -d "$PEER_DIR/node_modules/@tus/server" ] || die "run npm ci in $PEER_DIR"

# --- 2. the input -------------------------------------------------------------------------------------
if [ ! -s "$INPUT" ]; then
  log "making the 1 GiB WAV $INPUT (once)"
  mkdir -p "$(dirname "$INPUT")"
  ffmpeg -nostdin -loglevel error -y -f lavfi -i "sine=f=440:sample_rate=48000:d=5592.405333333" \
    -af atrim=end_sample=268435456 -ac 2 -ar 48000 -c:a pcm_s16le -fflags +bitexact -flags:a +bitexact -f wav \
    "$INPUT.part"
  mv "$INPUT.part" "$INPUT"
fi
INPUT_BYTES=$(stat -c %s "$INPUT")

# --- processes and clean-up --------------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/onda-tus-bench.XXXXXX")
free_kib=$(df -Pk "$TMP" | awk 'NR == 2 {print $4}')
[ "$free_kib" -gt $((3 * INPUT_BYTES / 1024)) ] ||
  die "$(df -h "$TMP" | awk 'NR == 2 {print $4}') free where $TMP is; this run needs about 3 times the input"
declare -A URL PID_OF RSS_START TOKEN_OF
stop_pid() {  # stop_pid PID: TERM, wait up to 10 s, then KILL; only processes this script started
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local pid
  for pid in "${PID_OF[@]}"; do stop_pid "$pid"; done
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
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }  # all cores, not idle/iowait
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
field() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$1"; }
du_kib() { du -sk "$1" | cut -f1; }

# --- 3. the servers -----------------------------------------------------------------------------------
start_onda() {  # start_onda SIDE [--set key=value...]
  local side=$1 port tus_version
  shift
  mkdir -p "$TMP/$side"
  "$ONDA" serve --listen 127.0.0.1:0 --data-dir "$TMP/$side" --ready-file "$TMP/$side.ready" --threads "$THREADS" \
    --set auth.rate_limit_per_minute=0 --set transcode.workers=0 --set log.level=warn "$@" >"$TMP/$side.log" 2>&1 &
  PID_OF[$side]=$!
  port=$(wait_port_file "$TMP/$side.ready" "${PID_OF[$side]}") || die "$side did not start: $(tail -n5 "$TMP/$side.log")"
  TOKEN_OF[$side]=$("$ONDA" token --data-dir "$TMP/$side" --sub bench --role creator) || die "onda token failed"
  URL[$side]="http://127.0.0.1:$port/v1/uploads"
  tus_version=$(curl -s -o /dev/null -D - -X OPTIONS -H 'Tus-Resumable: 1.0.0' \
    -H "Authorization: Bearer ${TOKEN_OF[$side]}" "${URL[$side]}" | tr -d '\r' |
    awk -F': *' 'tolower($1) == "tus-version" {print $2}')
  [ -n "$tus_version" ] || die "the onda in $ONDA_BUILD_DIR answers OPTIONS /v1/uploads without Tus-Version:" \
    "it has no tus endpoint (build one that has and pass ONDA_BUILD_DIR, or SIDES=peer)"
}
start_peer() {
  local port
  mkdir -p "$TMP/peer"
  node "$PEER_DIR/server.mjs" "$TMP/peer" >"$TMP/peer.ready" 2>"$TMP/peer.log" &
  PID_OF[peer]=$!
  port=$(wait_port_file "$TMP/peer.ready" "${PID_OF[peer]}") || die "the peer did not start: $(tail -n5 "$TMP/peer.log")"
  URL[peer]="http://127.0.0.1:$port/files"
}
for side in "${SIDES[@]}"; do
  case $side in
    onda) start_onda onda ;;
    onda-nosync) start_onda onda-nosync --set uploads.sync_writes=false ;;
    peer) start_peer ;;
  esac
done
sleep 1
for side in "${SIDES[@]}"; do RSS_START[$side]=$(status_kib "${PID_OF[$side]}" VmRSS); done
PEER_VERSIONS=$(cd "$PEER_DIR" && node -p \
  '["server","file-store"].map(p => "@tus/" + p + " " + require("./node_modules/@tus/" + p + "/package.json").version).join(" + ")' \
  2>/dev/null || echo "@tus/server + @tus/file-store")

# --- 4. the uploads -----------------------------------------------------------------------------------
declare -A RUN_LINES RATES
ticks_per_second=$(getconf CLK_TCK)
upload() {  # upload SIDE LABEL: one tus_upload process, one upload, deleted afterwards
  local side=$1 label=$2 pid=${PID_OF[$1]} auth=() before after busy_before busy_after started ended out line
  local seconds cpu other leftover
  [ "$side" != peer ] && auth=(--token "${TOKEN_OF[$side]}")
  before=$(cpu_ticks "$pid")
  busy_before=$(busy_ticks)
  started=$(date +%s.%N)
  out=$("$CLIENT" --url "${URL[$side]}" --file "$INPUT" --chunk "$CHUNK" "${auth[@]}" --delete 2>"$TMP/client.err") ||
    die "$side $label: $(cat "$TMP/client.err"); server log: $(tail -n5 "$TMP/$side.log")"
  ended=$(date +%s.%N)
  after=$(cpu_ticks "$pid")
  busy_after=$(busy_ticks)
  line=$(head -n1 <<<"$out")
  # CPU over the client's whole process (the upload, and its untimed DELETE: a few ms), as a share of
  # one core (200 % = both cores): the server's, and everything else's on the machine but the client's
  # (other engineers' compilers, kernel writeback threads): what the two servers do not share equally.
  seconds=$(awk -v a="$started" -v b="$ended" 'BEGIN {print b - a}')
  cpu=$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v s="$seconds" 'BEGIN {printf "%.0f", 100 * t / hz / s}')
  other=$(awk -v t=$((busy_after - busy_before - (after - before))) -v hz="$ticks_per_second" -v s="$seconds" \
    -v c="$(field "$line" client_cpu_pct)" 'BEGIN {o = 100 * t / hz / s - c; printf "%.0f", o < 0 ? 0 : o}')
  line="${line%\}},\"server_cpu_pct\":$cpu,\"other_cpu_pct\":$other}"
  log "$side $label: $(field "$line" mb_per_s) MB/s in $(field "$line" seconds) s; chunk p50 $(field "$line" p50_ms) ms," \
    "p99 $(field "$line" p99_ms) ms, last $(field "$line" last_chunk_ms) ms; cpu: server $cpu %," \
    "client $(field "$line" client_cpu_pct) %, other $other %"
  echo "$side $label $line" >>"$TMP/raw.txt"
  if [ "$label" != warm-up ]; then
    RUN_LINES[$side]+="$line"$'\n'
    RATES[$side]+="$(field "$line" mb_per_s) "
  fi
  # Nothing of the upload may stay behind (else the next runs fill the disk).
  leftover=$(du_kib "$TMP/$side")
  [ "$side" = peer ] && [ "$leftover" -gt 1024 ] && rm -rf "${TMP:?}/peer/"*
  [ "$leftover" -lt $((INPUT_BYTES / 1024 / 2)) ] ||
    die "$side kept $((leftover / 1024)) MiB in its data directory after the upload was deleted"
  sync
  sleep 1
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "input $INPUT ($INPUT_BYTES bytes), chunk $CHUNK; $WARMUPS warm-up and $RUNS measured uploads per server, alternating"
for ((i = 1; i <= WARMUPS; ++i)); do for side in "${SIDES[@]}"; do upload "$side" warm-up; done; done
for ((i = 1; i <= RUNS; ++i)); do for side in "${SIDES[@]}"; do upload "$side" "run $i"; done; done

# --- 5. the report ----------------------------------------------------------------------------------------
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
best() { tr ' ' '\n' | grep . | sort -g | tail -n1; }
declare -A MEDIAN BEST HWM
for side in "${SIDES[@]}"; do
  MEDIAN[$side]=$(median <<<"${RATES[$side]}")
  BEST[$side]=$(best <<<"${RATES[$side]}")
  HWM[$side]=$(status_kib "${PID_OF[$side]}" VmHWM)
done
name() {
  case $1 in
    onda) echo "onda ($ONDA_BUILD_DIR; default: fdatasync per PATCH)" ;;
    onda-nosync) echo "onda-nosync (uploads.sync_writes=false)" ;;
    peer) echo "peer ($PEER_VERSIONS)" ;;
  esac
}
{
  echo "tus 1.0.0 uploads: onda vs $PEER_VERSIONS (node $(node -v)), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, loopback"
  echo "input: $INPUT_BYTES bytes (WAV); chunk $CHUNK; $WARMUPS warm-up + $RUNS measured uploads per server, alternating;" \
    "onda threads: $THREADS; MB = 10^6 bytes"
  echo "load average before the uploads: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg)" \
    "(cpu % columns: one core = 100; oth = the rest of the machine, client and server excluded;" \
    "MB/srv cpu-s = MB moved per second of server CPU, which contention on the machine changes less than MB/s)"
  echo
  printf '%-11s %-4s %8s %8s %8s %8s %8s %9s %9s %9s %11s\n' server run "MB/s" seconds "p50 ms" "p99 ms" "last ms" \
    "srv cpu%" "cli cpu%" "oth cpu%" "MB/srv cpu-s"
  for side in "${SIDES[@]}"; do
    n=0
    while IFS= read -r line; do
      [ -n "$line" ] || continue
      n=$((n + 1))
      printf '%-11s %-4s %8s %8s %8s %8s %8s %9s %9s %9s %11s\n' "$side" "$n" "$(field "$line" mb_per_s)" \
        "$(field "$line" seconds)" "$(field "$line" p50_ms)" "$(field "$line" p99_ms)" "$(field "$line" last_chunk_ms)" \
        "$(field "$line" server_cpu_pct)" "$(field "$line" client_cpu_pct)" "$(field "$line" other_cpu_pct)" \
        "$(awk -v m="$(field "$line" mb_per_s)" -v c="$(field "$line" server_cpu_pct)" 'BEGIN {if (c > 0) printf "%.0f", 100 * m / c}')"
    done <<<"${RUN_LINES[$side]}"
  done
  echo
  for side in "${SIDES[@]}"; do
    echo "$(name "$side"): median ${MEDIAN[$side]} MB/s, best ${BEST[$side]} MB/s;" \
      "RSS after start $(mib "${RSS_START[$side]}") MiB, peak (VmHWM) $(mib "${HWM[$side]}") MiB"
  done
  if [ "$WANT_PEER" = 1 ]; then
    for side in "${SIDES[@]}"; do
      [ "$side" = peer ] && continue
      printf '%-17s median %s, best %s%s\n' "$side/peer:" "$(ratio "${MEDIAN[$side]}" "${MEDIAN[peer]}")" \
        "$(ratio "${BEST[$side]}" "${BEST[peer]}")" "$([ "$side" = onda ] && echo ' (target >= 3)')"
    done
  fi
  echo
  echo "raw:"
  cat "$TMP/raw.txt"
} | tee "$RESULTS"
for side in "${SIDES[@]}"; do
  [ -s "$TMP/$side.log" ] && log "$side log: $(tail -n5 "$TMP/$side.log")"
done
exit 0
