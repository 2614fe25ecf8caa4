"""Adds up the results of meson test runs: each C unit test prints "N passed, N failed" and each
pytest suite its own closing line. Prints one "N passed, N failed, N skipped" line and exits 1
when anything failed or no test ran."""

import json
import re
import sys

PATTERNS = {
    "passed": re.compile(r"(\d+) passed"),
    "failed": re.compile(r"(\d+) (?:failed|error)"),
    "skipped": re.compile(r"(\d+) skipped"),
}


def last_summary(text):
    """The counts of the last line of output that has any."""
    for line in reversed(text.splitlines()):
        found = {k: int(m.group(1)) for k, p in PATTERNS.items() if (m := p.search(line))}
        if found:
            return found
    return {}


def main(logs):
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for log in logs:
        with open(log) as f:
            for line in f:
                test = json.loads(line)
                counts = last_summary(test.get("stdout", ""))
                if test["result"] != "OK" and not counts.get("failed"):
                    counts["failed"] = counts.get("failed", 0) + 1
                for k in totals:
                    totals[k] += counts.get(k, 0)
    print(f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    return 1 if totals["failed"] or not totals["passed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
