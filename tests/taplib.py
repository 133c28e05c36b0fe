"""taplib.py — the TAP plumbing the Python process tests share (cli.py,
ffi.py, repl.py, install.py): where the sources and the moe program are,
one numbered `ok` line per check with the failure's detail as comments,
skips, and the closing plan line.

Kept in one place so that every test script reports the same way and a
change to the format (how much detail a failure shows) is made once.
"""
import os
import sys

SRC = os.environ.get("MOE_SRCDIR", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOE = os.environ.get("MOE", os.path.join(SRC, "moe"))

_count = 0
_failed = 0


def ok(cond, what, detail="", lines=40, last=False):
    """One check; on failure `detail` is shown as comments (its first
    `lines` lines, or its last ones with last=True).  Returns cond."""
    global _count, _failed
    _count += 1
    if not cond:
        _failed += 1
    print(f"{'ok' if cond else 'not ok'} {_count} - {what}")
    if not cond and detail:
        shown = str(detail).splitlines()
        shown = shown[-lines:] if last else shown[:lines]
        for line in shown:
            print(f"#   {line}")
    sys.stdout.flush()
    return cond


def skip(what, why):
    """A check that cannot run here, counted as passed with its reason."""
    global _count
    _count += 1
    print(f"ok {_count} - {what} # SKIP {why}")
    sys.stdout.flush()


def finish():
    """Prints the plan line; returns the exit status (1 if any failed)."""
    print(f"1..{_count}")
    return 1 if _failed else 0
