#!/usr/bin/env bash
# Installs what is missing, checks formatting, builds everything and runs
# every test. Ends with one line: "N passed, N failed" (test cases, counted
# from the gtest results of every test target, plus the format check).
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0

echo "== clang-format check"
if scripts/check-format.sh; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo "== bazel test //..."
bazel test //... --test_output=errors 2>&1 | tail -n 200
rc=${PIPESTATUS[0]}

# Count test cases from the JUnit XML of every test target of this run.
read -r p f < <(bazel query 'tests(//...)' 2>/dev/null |
  /usr/bin/python3 scripts/count_tests.py bazel-testlogs)
passed=$((passed + p))
failed=$((failed + f))
# A build failure or a crashed target may leave no XML: count it as failed.
if [[ $rc -ne 0 && $f -eq 0 ]]; then
  failed=$((failed + 1))
fi

echo "${passed} passed, ${failed} failed"
[[ $failed -eq 0 ]]
