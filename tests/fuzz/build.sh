#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ into <out_dir>, one executable per target, with clang
# (the main build uses GCC; only clang has libFuzzer). Each target links its *_fuzz.cpp with only the
# src/ files it needs, so no Asio or Beast is compiled. Objects are reused while their sources,
# headers and flags are unchanged.
#
# Usage: tests/fuzz/build.sh <out_dir> [target...]      (default: every target below)
# Environment: FUZZ_CXX (default clang++), FUZZ_JOBS parallel compiles (default 2).
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 <out_dir> [target...]" >&2
  exit 2
fi
out=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cxx=${FUZZ_CXX:-clang++}
jobs=${FUZZ_JOBS:-2}

# What each target links besides its own tests/fuzz/<name>_fuzz.cpp.
declare -A sources=(
  [range]="src/http/range.cpp src/http/percent.cpp"
  [conditional]="src/http/conditional.cpp src/http/percent.cpp src/core/clock.cpp"
  [multipart]="src/uploads/multipart.cpp src/core/error.cpp"
  [jwt]="src/auth/jwt.cpp src/auth/base64.cpp src/auth/detail/hmac.cpp src/core/error.cpp src/core/text.cpp"
  [signed_url]="src/auth/signed_url.cpp src/auth/base64.cpp src/auth/detail/hmac.cpp src/core/error.cpp"
  [query]="src/http/percent.cpp"
  [config]="src/core/config.cpp src/core/error.cpp"
  [tus]="src/uploads/tus_protocol.cpp src/uploads/digest.cpp src/auth/base64.cpp src/core/error.cpp"
  [playlist]="src/media/transcode/playlist.cpp"
  [engineio]="src/realtime/engineio_packet.cpp src/auth/base64.cpp src/core/error.cpp"
  [socketio]="src/realtime/socketio_packet.cpp src/core/error.cpp"
  [websocket]="src/http/detail/websocket_frame.cpp src/core/text.cpp src/core/error.cpp"
  [request_head]="src/http/detail/request_head.cpp src/http/percent.cpp"
  [conversion]="src/media/convert/plan.cpp src/media/convert/mp3_layout.cpp src/media/convert/wav_layout.cpp src/core/error.cpp"
)
declare -A libs=(
  [jwt]="-lboost_json -lcrypto"
  [signed_url]="-lcrypto"
  [query]=""
  [config]="-lfmt -ltomlplusplus"
  [tus]="-lcrypto -lfmt"
  [playlist]="-lfmt"
  [engineio]="-lfmt"
  [socketio]="-lboost_json -lfmt"
  [websocket]="-lcrypto"
  [request_head]=""
  [conversion]="-lfmt"
)
all_targets=(range conditional multipart jwt signed_url query config tus playlist engineio socketio conversion websocket request_head)

# Per source file: config.cpp uses the shared toml++ library, as the main build does.
declare -A extra_flags=(
  [src/core/config.cpp]="-DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1"
)

# The main build's definitions (top-level CMakeLists.txt), so headers see the same configuration.
# UBSan does not recover, so undefined behaviour stops the fuzzer like a crash; _GLIBCXX_ASSERTIONS
# turns out-of-bounds operator[] on strings and vectors into a failure too.
flags=(-std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=all -D_GLIBCXX_ASSERTIONS
  -DBOOST_ASIO_SEPARATE_COMPILATION -DBOOST_BEAST_SEPARATE_COMPILATION -DBOOST_ASIO_NO_DEPRECATED
  -DBOOST_ASIO_DISABLE_BOOST_COROUTINE -DSPDLOG_FMT_EXTERNAL
  -I"$root/src" -I"$here" -Wall -Wextra)

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
  if [ -z "${sources[$target]+set}" ]; then
    echo "unknown fuzz target '$target' (known: ${all_targets[*]})" >&2
    exit 2
  fi
done

mkdir -p "$out/obj"
# Objects built with other flags or another compiler are stale.
stamp="$("$cxx" --version | head -n 1) ${flags[*]}"
if [ ! -f "$out/obj/flags" ] || [ "$(cat "$out/obj/flags")" != "$stamp" ]; then
  find "$out/obj" -name '*.o' -delete
  printf '%s' "$stamp" > "$out/obj/flags"
fi

object_of() { echo "$out/obj/${1%.cpp}.o"; }

# True when the object is missing or older than its source, any header it included (-MMD list), or
# this script (which holds the flags).
is_stale() {
  local object=$1 source=$2
  [ -f "$object" ] && [ -f "$object.d" ] || return 0
  [ "$source" -nt "$object" ] || [ "$here/build.sh" -nt "$object" ] && return 0
  local dep
  for dep in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$object.d"); do
    [ -e "$dep" ] || return 0
    [ "$dep" -nt "$object" ] && return 0
  done
  return 1
}

compile() {
  local relative=$1 object
  object=$(object_of "$relative")
  mkdir -p "$(dirname "$object")"
  # shellcheck disable=SC2086  # extra_flags holds several words on purpose
  "$cxx" "${flags[@]}" ${extra_flags[$relative]:-} -MMD -MF "$object.d" -c "$root/$relative" -o "$object"
}

# Every source the chosen targets need, once.
declare -A needed=()
for target in "${targets[@]}"; do
  needed[tests/fuzz/${target}_fuzz.cpp]=1
  for source in ${sources[$target]}; do needed[$source]=1; done
done

failed=0
for relative in "${!needed[@]}"; do
  is_stale "$(object_of "$relative")" "$root/$relative" || continue
  echo "compile $relative"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || failed=1; done
  compile "$relative" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=1; done
if [ $failed -ne 0 ]; then
  echo "fuzz build failed" >&2
  exit 1
fi

for target in "${targets[@]}"; do
  objects=("$(object_of "tests/fuzz/${target}_fuzz.cpp")")
  for source in ${sources[$target]}; do objects+=("$(object_of "$source")"); done
  # shellcheck disable=SC2086  # libs holds several words on purpose
  "$cxx" "${flags[@]}" "${objects[@]}" ${libs[$target]:-} -o "$out/${target}_fuzz"
  echo "built $out/${target}_fuzz"
done
