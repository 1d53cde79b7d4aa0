"""Counts passed and failed test cases in Bazel's JUnit XML results.

Prints "PASSED FAILED". A target whose XML has no test case (a shell test,
or one that crashed before writing results) counts as one case, passed or
failed by its recorded status.
"""

import os
import sys
import xml.etree.ElementTree as ET


def count(root_dir):
    passed = failed = 0
    for dirpath, _, files in os.walk(root_dir, followlinks=True):
        if "test.xml" not in files:
            continue
        try:
            tree = ET.parse(os.path.join(dirpath, "test.xml"))
        except ET.ParseError:
            failed += 1
            continue
        cases = list(tree.iter("testcase"))
        if not cases:
            bad = any(int(s.get("failures", 0)) + int(s.get("errors", 0))
                      for s in tree.iter("testsuite"))
            failed += bad
            passed += not bad
            continue
        for case in cases:
            if case.find("failure") is not None or \
                    case.find("error") is not None:
                failed += 1
            elif case.get("result") == "suppressed" or \
                    case.find("skipped") is not None:
                continue
            else:
                passed += 1
    return passed, failed


if __name__ == "__main__":
    p, f = count(sys.argv[1] if len(sys.argv) > 1 else "bazel-testlogs")
    print(p, f)
