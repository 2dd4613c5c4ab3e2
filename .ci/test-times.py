#!/usr/bin/env python3
"""Prints how long each test binary of a `cargo test` log took, slowest first.

Usage: test-times.py LOG [N]: the N slowest (all by default), then the total.
"""

import re
import sys

RUNNING = re.compile(r"^\s+Running (\S+(?: \S+)?) \(([^)]*)\)")
DOC_TESTS = re.compile(r"^\s+Doc-tests (\S+)")
RESULT = re.compile(r"^test result: \w+\. (\d+) passed; (\d+) failed.*finished in ([\d.]+)s")


def main(path, limit=None):
    name, rows = None, []
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            if match := RUNNING.match(line):
                source, binary = match.groups()
                # target/debug/deps/<crate>-<hash>: name the crate beside the source file.
                crate = re.sub(r"-[0-9a-f]+$", "", binary.rsplit("/", 1)[-1])
                name = f"{crate}: {source.removeprefix('unittests ')}"
            elif match := DOC_TESTS.match(line):
                name = f"doc-tests of {match.group(1)}"
            elif (match := RESULT.match(line)) and name:
                passed, failed, seconds = match.groups()
                rows.append((float(seconds), name, int(passed), int(failed)))
                name = None
    for seconds, name, passed, failed in sorted(rows, reverse=True)[:limit]:
        print(f"{seconds:8.1f} s  {name}  ({passed} passed, {failed} failed)")
    print(f"{sum(r[0] for r in rows):8.1f} s  in {len(rows)} test binaries")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None)
