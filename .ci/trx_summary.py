#!/usr/bin/env python3
"""Sums the VSTest .trx files under a directory and prints the skipped tests and one summary line.

Usage: trx_summary.py RESULTS_DIR
Prints, for each skipped test, "skipped: NAME -- REASON", then as the last line
"tests: N passed, N failed, N skipped". Exits 0 if at least one test passed or failed, 3 if none ran.

Counters come from each file's <ResultSummary><Counters>. xUnit's skipped tests are results with
outcome="NotExecuted" that the Counters do not count as notExecuted (only total - executed), so skips are
counted from the results themselves, or from notExecuted when that is larger.
"""

import glob
import os
import sys
import xml.etree.ElementTree as ET

FAILED_COUNTERS = ("failed", "error", "timeout", "aborted")


def local(tag):
    return tag.rsplit("}", 1)[-1]


def child(element, name):
    for c in element:
        if local(c.tag) == name:
            return c
    return None


def text_of(element, *path):
    for name in path:
        if element is None:
            return None
        element = child(element, name)
    return element.text if element is not None and element.text else None


def skip_reason(result):
    output = child(result, "Output")
    reason = text_of(output, "ErrorInfo", "Message") or text_of(output, "StdOut") or "(no reason given)"
    return " ".join(reason.split())


def summarise(files):
    passed = failed = skipped = 0
    skips = []
    for path in files:
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            print(f"warning: cannot parse {path}: {e}", file=sys.stderr)
            continue
        counters = None
        summary = child(root, "ResultSummary")
        if summary is not None:
            counters = child(summary, "Counters")
        attrs = counters.attrib if counters is not None else {}
        num = lambda k: int(attrs.get(k, "0") or 0)

        results = child(root, "Results")
        not_executed = [r for r in (results if results is not None else []) if r.get("outcome") == "NotExecuted"]
        for r in not_executed:
            skips.append((r.get("testName", "?"), skip_reason(r)))

        passed += num("passed")
        failed += sum(num(k) for k in FAILED_COUNTERS)
        skipped += max(len(not_executed), num("notExecuted"))
    return passed, failed, skipped, skips


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    files = sorted(glob.glob(os.path.join(argv[1], "**", "*.trx"), recursive=True))
    passed, failed, skipped, skips = summarise(files)
    if not files:
        print(f"no .trx files under {argv[1]}")
    for name, reason in sorted(skips):
        print(f"skipped: {name} -- {reason}")
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if passed + failed > 0 else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
