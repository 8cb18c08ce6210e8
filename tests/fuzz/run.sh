#!/usr/bin/env bash
# Runs fuzz targets that build.sh built, one after another, each for <seconds>, starting from its
# seeds in tests/fuzz/corpus/<target>/ (and dict/<target>.dict when there is one). New inputs the
# fuzzer finds go to a temporary directory that is removed afterwards, never into the repository.
#
# Usage: tests/fuzz/run.sh <build_dir> <seconds> [target...]      (default: every target built)
# Fails (non-zero) when any target reports a crash, a sanitizer error, a leak, an input slower than
# 10 s or a failed property. The input is kept as <build_dir>/artifacts/<target>/crash-<sha1> (or
# leak-, timeout-, oom-); replay it with <build_dir>/<target>_fuzz <that file>.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 <build_dir> <seconds> [target...]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for binary in "$build"/*_fuzz; do
    [ -x "$binary" ] && targets+=("$(basename "$binary" _fuzz)")
  done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz targets in $build: run tests/fuzz/build.sh $build first" >&2
  exit 2
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/onda-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

failed=()
for target in "${targets[@]}"; do
  binary="$build/${target}_fuzz"
  seeds="$here/corpus/$target"
  if [ ! -x "$binary" ] || [ ! -d "$seeds" ]; then
    echo "fuzz $target: missing $binary or $seeds" >&2
    failed+=("$target")
    continue
  fi
  artifacts="$build/artifacts/$target"
  mkdir -p "$artifacts" "$scratch/$target"
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    -artifact_prefix="$artifacts/")
  [ -f "$here/dict/$target.dict" ] && options+=(-dict="$here/dict/$target.dict")

  echo "fuzz $target: ${seconds}s from $(find "$seeds" -type f | wc -l) seeds"
  # The first corpus directory receives what the fuzzer finds; the seeds are only read.
  if "$binary" "${options[@]}" "$scratch/$target" "$seeds"; then
    echo "fuzz $target: ok"
  else
    echo "fuzz $target: FAILED; inputs kept in $artifacts/" >&2
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz targets failed: ${failed[*]}" >&2
  exit 1
fi
