#!/usr/bin/env bash
# Fails (listing the files) when a C++ source is not clang-formatted.
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r f; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (run: clang-format -i $f)"
    bad=1
  fi
done < <(git ls-files -co --exclude-standard -- '*.h' '*.cc')
exit $bad
