"""Counts passed and failed test cases in Bazel's JUnit XML results.

Usage: count_tests.py TESTLOGS_DIR < labels

Reads the test target labels of this run (one per line, e.g. from
`bazel query 'tests(//...)'`) and prints "PASSED FAILED" from each target's
results: `<dir>/test.xml`, or every `shard_*/test.xml` of a sharded target.
Only those files count, so results left under the test logs by earlier
runs with other flags (`--runs_per_test`, removed targets) are ignored. A
target whose XML has no test case (a shell test, or one that crashed before
writing results) counts as one case, passed or failed by its recorded
status; a target with no result at all counts as one failure.
"""

import glob
import os
import sys
import xml.etree.ElementTree as ET


def result_files(root_dir, label):
    package, _, name = label.lstrip("/").partition(":")
    target_dir = os.path.join(root_dir, package, name)
    single = os.path.join(target_dir, "test.xml")
    if os.path.exists(single):
        return [single]
    return sorted(glob.glob(os.path.join(target_dir, "shard_*", "test.xml")))


def count_file(path):
    try:
        tree = ET.parse(path)
    except ET.ParseError:
        return 0, 1
    cases = list(tree.iter("testcase"))
    if not cases:
        bad = any(int(s.get("failures", 0)) + int(s.get("errors", 0))
                  for s in tree.iter("testsuite"))
        return (0, 1) if bad else (1, 0)
    passed = failed = 0
    for case in cases:
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.get("result") == "suppressed" or \
                case.find("skipped") is not None:
            continue
        else:
            passed += 1
    return passed, failed


def count(root_dir, labels):
    passed = failed = 0
    for label in labels:
        files = result_files(root_dir, label)
        if not files:
            failed += 1
            continue
        for path in files:
            p, f = count_file(path)
            passed += p
            failed += f
    return passed, failed


if __name__ == "__main__":
    labels = [line.strip() for line in sys.stdin if line.strip()]
    p, f = count(sys.argv[1] if len(sys.argv) > 1 else "bazel-testlogs",
                 labels)
    print(p, f)
