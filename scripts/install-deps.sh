#!/usr/bin/env bash
# Installs what onda needs to build and test on Debian 12, and nothing that is
# already there. Safe to run again: it only calls apt-get for missing packages.
#
# Usage: scripts/install-deps.sh [--with-tests] [package...]
#   --with-tests  also the peers the tests drive onda with (and Node.js/npm when missing)
#   package...    further Debian packages a caller needs (the benchmarks: nginx, ffmpeg, curl)
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build pkg-config git clang-format
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libavformat-dev libavcodec-dev libavfilter-dev libavutil-dev libswresample-dev libswscale-dev
  libsqlite3-dev libssl-dev libcurl4-openssl-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
# Real peers the tests drive the server with; clang with its libFuzzer runtime for tests/fuzz;
# chromium for hls.js (driven by playwright-core from npm); sqlite3 for the tests that look into
# (or set up) the data directory's database while onda is stopped or reading it.
test_packages=(ffmpeg curl espeak-ng clang libclang-rt-14-dev chromium sqlite3)

wanted=("${build_packages[@]}")
if [ "${1:-}" = "--with-tests" ]; then
  shift
  wanted+=("${test_packages[@]}")
  # An image may ship its own Node.js with npm inside; Debian's npm conflicts with it.
  command -v npm >/dev/null 2>&1 || wanted+=(nodejs npm)
fi
wanted+=("$@")

missing=()
for package in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q '^install ok installed'; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
