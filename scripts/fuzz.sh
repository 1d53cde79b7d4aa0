#!/usr/bin/env bash
# Fuzzes what an upload does with untrusted bytes (tests/fuzz/record_fuzz.h:
# decode, re-encode, convert, and the shape-only check against a real
# build for every fixture model) with clang's libFuzzer, AddressSanitizer
# and UndefinedBehaviorSanitizer, in a Bazel output base of its own.
#
#   scripts/fuzz.sh [SECONDS] [extra libFuzzer flags]   # default 300 s
#
# The corpus starts from the Burn fixtures and grows in
# ${TMPDIR:-/tmp}/ember-fuzz-corpus across runs; a crash leaves its input
# in the current directory (crash-*), with the invariant it broke on
# stderr. Installs clang and its sanitizer runtimes when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true

scripts/install-deps.sh clang libclang-rt-14-dev

# --symlink_prefix=/ leaves the workspace's bazel-bin pointing at the
# normal build.
flags=(--symlink_prefix=/
       --copt=-fsanitize=fuzzer-no-link,address,undefined --copt=-O1
       --copt=-gline-tables-only
       --linkopt=-fsanitize=fuzzer,address,undefined
       --linkopt=-fsanitize-link-c++-runtime)
base="${TMPDIR:-/tmp}/ember-fuzz"
CC=clang bazel --output_base="$base" build "${flags[@]}" \
  //tests/fuzz:record_fuzzer
bin="$(CC=clang bazel --output_base="$base" info "${flags[@]}" bazel-bin \
  2>/dev/null)/tests/fuzz/record_fuzzer"

corpus="${TMPDIR:-/tmp}/ember-fuzz-corpus"
mkdir -p "$corpus"
cp -n tests/fixtures/burn/*.mpk tests/fixtures/burn/*.mpk.gz "$corpus"/

"$bin" -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=1048576 \
  -print_final_stats=1 "$@" "$corpus"
