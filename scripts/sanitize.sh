#!/usr/bin/env bash
# Runs tests built with AddressSanitizer (leaks included) and
# UndefinedBehaviorSanitizer, in a Bazel output base of their own so the
# normal build's cache is untouched. The first run builds everything again
# (about 10 minutes on two cores).
#
#   scripts/sanitize.sh                      # the default targets below
#   scripts/sanitize.sh //server/records/...  # any targets
#
# Leaks inside system libraries that are not Ember's to fix are listed in
# tools/lsan.supp. ThreadSanitizer is not offered: Debian's Abseil and
# protobuf are not built with it, so it reports races inside them.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(//recorder/... //model/... //server/... //client/...
           //tests/model/... //tests/records/...)
fi

# --symlink_prefix=/ leaves the workspace's bazel-bin pointing at the
# normal build.
bazel --output_base="${TMPDIR:-/tmp}/ember-sanitize" test \
  --symlink_prefix=/ \
  --copt=-fsanitize=address,undefined \
  --copt=-fno-sanitize-recover=undefined \
  --copt=-fno-omit-frame-pointer --copt=-O1 \
  --linkopt=-fsanitize=address,undefined \
  --test_env=ASAN_OPTIONS=detect_leaks=1 \
  --test_env=LSAN_OPTIONS="suppressions=$PWD/tools/lsan.supp" \
  --test_env=UBSAN_OPTIONS=print_stacktrace=1 \
  "${targets[@]}"
