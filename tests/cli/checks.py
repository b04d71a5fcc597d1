"""The CLI tests' one way to report: "ok    NAME" / "FAIL  NAME: DETAIL" /
"skip  NAME: WHY" lines, counted, and a closing "N passed, N failed" line
whose exit status meson reads (0, 1, or 77 when skipped)."""

import sys

PASSED = 0
FAILED = 0


def check(name, ok, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print(f"ok    {name}")
    else:
        FAILED += 1
        print(f"FAIL  {name}{': ' + detail if detail else ''}")
    sys.stdout.flush()
    return ok


def skip(name, why):
    print(f"skip  {name}: {why}")


def finish(skipped=False):
    """Prints the totals; returns the exit status."""
    print(f"{PASSED} passed, {FAILED} failed")
    if FAILED:
        return 1
    return 77 if skipped else 0
