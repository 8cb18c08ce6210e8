#!/usr/bin/env bash
# Transcode ladders, onda beside the ffmpeg command line, in one run (DESIGN.md "Decode once, encode
# many"; issue 4's benchmark). Wall time of each, and the ratios.
#
#   bash bench/run_transcode_bench.sh
#
# What it does:
#   1. builds the `bench` preset's onda (unless SKIP_BUILD=1) and makes the inputs once, kept in
#      build/bench/: a 10-minute 48 kHz stereo WAV (a tone over pink noise, so encoders have work),
#      and a 60 s 1920x1080 30 fps H.264 + AAC clip (ffmpeg's testsrc2 with temporal noise, encoded at
#      CRF 20: about 30 Mbit/s, as a camera records);
#   2. audio ladder of the WAV: `onda transcode` (HLS AAC 64k@22.05k, 128k@44.1k, 320k@48k in 4 s
#      fMP4 segments; MP3 128k/192k/320k; Opus 160k in Ogg; FLAC; waveform peaks) against the same
#      renditions made by one ffmpeg command per rendition, run one after another;
#   3. video ladder of the clip: `onda transcode` (H.264 1080p 5000k, 720p 2500k, 480p 1200k, 360p 800k,
#      libx264 preset veryfast, keyframes every 4 s, AAC 128k, 4 s fMP4 HLS segments, a poster) against
#      (a) one ffmpeg command with a split filter graph and four HLS outputs, and (b) one ffmpeg command
#      per rendition, one after another; the ffmpeg lines use the same codecs, rates, preset, keyframe
#      placement and segmenting;
#   4. each variant runs RUNS times (alternating), and the script prints every wall time, the median
#      of each, and the ratios (> 1: onda is faster). Targets: faster than one ffmpeg per rendition, not
#      slower than ffmpeg's single split command.
# Knobs: RUNS (3), SKIP_BUILD=1, ONDA_BUILD_DIR (build/bench), KEEP_TMP=1, ONLY=audio|video.
# Run it on a quiet machine: nothing else compiling.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
ONDA_BUILD_DIR=${ONDA_BUILD_DIR:-build/bench}
ONDA=$ONDA_BUILD_DIR/src/onda
ONLY=${ONLY:-}
WAV=build/bench/transcode_10min.wav
CLIP=build/bench/transcode_1080p_60s.mp4

log() { printf '[transcode-bench] %s\n' "$*" >&2; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    ./scripts/install-deps.sh >/dev/null
    cmake --preset bench >/dev/null
    cmake --build "$ONDA_BUILD_DIR" -j2 --target onda >/dev/null
fi
[[ -x "$ONDA" ]] || { log "no $ONDA (build it, or unset SKIP_BUILD)"; exit 1; }
mkdir -p build/bench
if [[ ! -s "$WAV" ]]; then
    log "making $WAV"
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i "sine=frequency=220:sample_rate=48000:duration=600" \
        -f lavfi -i "anoisesrc=color=pink:sample_rate=48000:amplitude=0.2:duration=600" \
        -filter_complex "[0][1]amix=inputs=2,pan=stereo|c0=c0|c1=c0" -c:a pcm_s16le "$WAV"
fi
if [[ ! -s "$CLIP" ]]; then
    log "making $CLIP"
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=60,noise=alls=6:allf=t" \
        -f lavfi -i "sine=frequency=300:sample_rate=48000:duration=60" -c:v libx264 -preset veryfast -crf 20 \
        -pix_fmt yuv420p -c:a aac -b:a 192k -shortest "$CLIP"
fi

TMP=$(mktemp -d)
[[ "${KEEP_TMP:-0}" == 1 ]] || trap 'rm -rf "$TMP"' EXIT
FF=(ffmpeg -hide_banner -loglevel error -nostdin -y)
HLS=(-f hls -hls_time 4 -hls_playlist_type vod -hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4)
KEYS=(-force_key_frames "expr:gte(t,n_forced*4)" -sc_threshold 0)

fresh() { rm -rf "$TMP/out"; mkdir -p "$TMP/out/$1"; echo "$TMP/out"; }

audio_onda() { "$ONDA" transcode "$WAV" "$(fresh files)/onda" >/dev/null; }
audio_per_rendition() {
    local out; out=$(fresh files)
    local rate bits name
    for spec in "aac-64 22050 64k" "aac-128 44100 128k" "aac-320 48000 320k"; do
        read -r name rate bits <<<"$spec"
        mkdir -p "$out/$name"
        "${FF[@]}" -i "$WAV" -c:a aac -b:a "$bits" -ar "$rate" "${HLS[@]}" \
            -hls_segment_filename "$out/$name/seg-%05d.m4s" "$out/$name/index.m3u8"
    done
    for bits in 128k 192k 320k; do "${FF[@]}" -i "$WAV" -c:a libmp3lame -b:a "$bits" "$out/files/mp3-$bits.mp3"; done
    "${FF[@]}" -i "$WAV" -c:a libopus -b:a 160k -ar 48000 "$out/files/opus-160.ogg"
    "${FF[@]}" -i "$WAV" -c:a flac "$out/files/flac.flac"
}

video_onda() { "$ONDA" transcode "$CLIP" "$(fresh x)/onda" >/dev/null; }
# One rendition's encoder options: height width bit rate.
video_options() {
    local kbps=$3
    echo "-c:v libx264 -preset veryfast -profile:v high -b:v ${kbps}k -maxrate $((kbps * 3 / 2))k -bufsize $((kbps * 2))k -c:a aac -b:a 128k"
}
RUNGS=("1080 1920 5000" "720 1280 2500" "480 854 1200" "360 640 800")
video_split() {
    local out; out=$(fresh x)
    local graph="[0:v]split=4[s0][s1][s2][s3]" args=() i=0 h w k
    for rung in "${RUNGS[@]}"; do
        read -r h w k <<<"$rung"
        graph+=";[s$i]scale=$w:$h,format=yuv420p[v$i]"
        mkdir -p "$out/${h}p"
        # shellcheck disable=SC2207
        args+=(-map "[v$i]" -map 0:a $(video_options "$h" "$w" "$k") "${KEYS[@]}" "${HLS[@]}"
            -hls_segment_filename "$out/${h}p/seg-%05d.m4s" "$out/${h}p/index.m3u8")
        i=$((i + 1))
    done
    "${FF[@]}" -i "$CLIP" -filter_complex "$graph" "${args[@]}"
}
video_per_rendition() {
    local out; out=$(fresh x)
    local h w k
    for rung in "${RUNGS[@]}"; do
        read -r h w k <<<"$rung"
        mkdir -p "$out/${h}p"
        # shellcheck disable=SC2046
        "${FF[@]}" -i "$CLIP" -vf "scale=$w:$h,format=yuv420p" $(video_options "$h" "$w" "$k") "${KEYS[@]}" "${HLS[@]}" \
            -hls_segment_filename "$out/${h}p/seg-%05d.m4s" "$out/${h}p/index.m3u8"
    done
}

declare -A TIMES
timed() {
    local name=$1; shift
    local start end
    start=$(date +%s.%N)
    "$@"
    end=$(date +%s.%N)
    local seconds; seconds=$(awk "BEGIN { print $end - $start }")
    TIMES[$name]+="$seconds "
    printf '  %-24s %7.2f s\n' "$name" "$seconds"
}
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

if [[ "$ONLY" != video ]]; then
    log "audio ladder of a 10-minute WAV, $RUNS runs"
    for _ in $(seq "$RUNS"); do
        timed audio.onda audio_onda
        timed audio.ffmpeg_per_rendition audio_per_rendition
    done
fi
if [[ "$ONLY" != audio ]]; then
    log "video ladder of a 60 s 1080p clip, $RUNS runs"
    for _ in $(seq "$RUNS"); do
        timed video.onda video_onda
        timed video.ffmpeg_split video_split
        timed video.ffmpeg_per_rendition video_per_rendition
    done
fi

echo
echo "median wall time (s), $RUNS runs, $(nproc) cores"
for name in $(printf '%s\n' "${!TIMES[@]}" | sort); do printf '  %-28s %7.2f\n' "$name" "$(median "${TIMES[$name]}")"; done
ratio() { awk "BEGIN { printf \"%.2f\", $(median "${TIMES[$2]}") / $(median "${TIMES[$1]}") }"; }
if [[ "$ONLY" != video ]]; then
    echo "  audio: ffmpeg per rendition / onda = $(ratio audio.onda audio.ffmpeg_per_rendition)x (target > 1)"
fi
if [[ "$ONLY" != audio ]]; then
    echo "  video: ffmpeg per rendition / onda = $(ratio video.onda video.ffmpeg_per_rendition)x (target > 1)"
    echo "  video: ffmpeg split / onda         = $(ratio video.onda video.ffmpeg_split)x (target >= 1)"
fi
