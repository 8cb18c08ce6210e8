#!/usr/bin/env bash
# User-space instructions per 64 KiB range request, counted by callgrind: a figure that does not move
# with the machine's load, for comparing the request path before and after a change (the timed
# comparison with nginx is run_http_bench.sh).
#
#   bash bench/range_instructions.sh [ONDA_BINARY]      # default build/bench/src/onda
#
# Starts onda (one thread) on a generated 100 MB WAV, then runs it under valgrind's callgrind with
# instrumentation switched on only while bench/load/http_load sends range requests for 4 s over 4
# connections, and prints requests, instructions, and instructions per request. Needs valgrind
# (scripts/install-deps.sh valgrind), ffmpeg, curl and the bench preset's http_load.
set -euo pipefail
cd "$(dirname "$0")/.."
ONDA=${1:-build/bench/src/onda}
LOAD=build/bench/bench/http_load
./scripts/install-deps.sh valgrind ffmpeg curl
[ -x "$ONDA" ] && [ -x "$LOAD" ] || { echo "build the bench preset first (cmake --build --preset bench)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/onda-range-instructions.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
ffmpeg -nostdin -loglevel error -f lavfi -i anoisesrc=d=567:c=white:r=44100 -ac 2 -c:a pcm_s16le "$TMP/in.wav"
SIZE=$(stat -c %s "$TMP/in.wav")
PORT=$((20000 + RANDOM % 10000))
serve() {
  "$@" serve --listen "127.0.0.1:$PORT" --data-dir "$TMP/data" --threads 1 --set auth.default_visibility=public \
    --set auth.rate_limit_per_minute=0 --set transcode.workers=0 --set log.level=warn >>"$TMP/onda.log" 2>&1 &
  PID=$!
  for _ in $(seq 150); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && return 0; sleep 0.2; done
  echo "onda did not start: $(cat "$TMP/onda.log")" >&2; exit 1
}

# The upload runs without valgrind (probing under it would take minutes).
serve "$ONDA"
TOKEN=$("$ONDA" token --data-dir "$TMP/data" --sub bench --role creator)
ID=$(curl -sf -H "Authorization: Bearer $TOKEN" -H "Content-Type: audio/wav" --data-binary "@$TMP/in.wav" \
  "http://127.0.0.1:$PORT/v1/media?filename=in.wav" | sed 's/.*"id":"\([^"]*\)".*/\1/')
kill "$PID"; wait "$PID" 2>/dev/null || true

serve valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$TMP/callgrind.out" "$ONDA"
load() { "$LOAD" --mode range --port "$PORT" --path "/v1/media/$ID/stream" --connections 4 --threads 1 --size "$SIZE" "$@"; }
load --warmup 1 --seconds 1 >/dev/null  # caches filled, code paths warm
callgrind_control -i on "$PID" >/dev/null
OUT=$(load --warmup 0 --seconds 4)
callgrind_control -i off "$PID" >/dev/null
callgrind_control -d "$PID" >/dev/null
REQUESTS=$(sed 's/.*"requests":\([0-9]*\).*/\1/' <<<"$OUT")
INSTRUCTIONS=$(callgrind_annotate "$TMP/callgrind.out.1" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done {gsub(",", "", $1); print $1; done = 1}')
echo "requests $REQUESTS, instructions $INSTRUCTIONS, per request $((INSTRUCTIONS / REQUESTS))"
if [ "${KEEP_PROFILE:-0}" = 1 ]; then cp "$TMP/callgrind.out.1" build/bench/range.callgrind; echo "profile: build/bench/range.callgrind"; fi
