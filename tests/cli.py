#!/usr/bin/env python3
"""Process-level tests of the moe program that a script cannot express:
--output written through a temporary file and a rename, Ctrl-C (SIGINT)
and SIGTERM stopping a long query at a block boundary with its partial
result marked, and a killed run leaving the old output file whole.  Speaks
TAP.

Signals are sent once the script has shown it reached the long query (its
`print` before the query is on stdout or in the file) and a further second
has passed, so the query has begun (a signal between statements stops the
run before the query, with no partial report to check).
"""
import glob
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from taplib import MOE, ok, finish




# A query that runs for hours unless stopped: plain Monte Carlo with 1e12
# samples (the exact path would answer at once).
LONG = """law X = normal(zeros(4), eye(4))
router r = linear([[1, 0, 0, 0], [0, 1, 0, 0]], [0, 0])
print "started"
report boundary_mass(r, X, w = [0.1], samples = 1000000000000, method = "mc")
print "not reached"
"""

SHORT = """law X = normal(zeros(2), eye(2))
router r = linear([[1, 0], [0, 1]], [0, 0])
report boundary_mass(r, X, w = [0.5])
"""


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def read(path):
    with open(path) as f:
        return f.read()


def wait_for(pred, timeout=120.0):
    """Polls pred until it holds; the timeout only guards against a hang."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def temp_files(d):
    return glob.glob(os.path.join(d, ".*.moe-*"))


def run_and_signal(args, sig, ready, cwd):
    p = subprocess.Popen([MOE] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reached = wait_for(ready)
    time.sleep(1.0)
    p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, out.decode(), err.decode() + "\n(did not stop within 120 s of the signal)"
    return (p.returncode if reached else "never started"), out.decode(), err.decode()


def test_output(d):
    script = os.path.join(d, "short.moe")
    write(script, SHORT)
    out = os.path.join(d, "report.json")
    r = subprocess.run([MOE, "--format", "json", "-o", out, script], capture_output=True, text=True)
    ok(r.returncode == 0 and r.stdout == "", "--output: exit 0, nothing on stdout",
       r.stdout + r.stderr)
    rows = [json.loads(line) for line in read(out).splitlines()] if os.path.exists(out) else []
    ok(len(rows) == 1 and rows[0].get("report") == "boundary_mass" and rows[0].get("method") == "exact",
       "--output: the file holds the report", rows)
    ok(oct(os.stat(out).st_mode & 0o777) == oct(0o666 & ~current_umask()),
       "--output: the file has the usual permissions (0666 less the umask), not mkstemp's 0600")
    ok(temp_files(d) == [], "--output: no temporary file left", temp_files(d))

    write(out, "old contents\n")
    bad = os.path.join(d, "bad.moe")
    write(bad, "print (\n")
    r = subprocess.run([MOE, "-o", out, bad], capture_output=True, text=True)
    ok(r.returncode == 1 and read(out) == "old contents\n" and temp_files(d) == [],
       "--output: a script that fails before writing anything leaves the file as it was",
       r.stderr)

    r = subprocess.run([MOE, "-o", os.path.join(d, "no", "such", "dir.txt"), script],
                       capture_output=True, text=True)
    ok(r.returncode == 3 and r.stderr.startswith("moe: cannot write '") and
       r.stderr.rstrip().endswith("dir.txt': No such file or directory"),
       "--output in a missing directory: exit 3, 'cannot write ...: No such file or directory'",
       r.stderr)
    r = subprocess.run([MOE, "-o", d, script], capture_output=True, text=True)
    ok(r.returncode == 3 and r.stderr == f"moe: cannot write '{d}': Is a directory\n",
       "--output naming a directory: exit 3, 'Is a directory'", r.stderr)


def test_huge_script(d):
    path = os.path.join(d, "huge.moe")
    with open(path, "w") as f:
        f.write("#\n" * (33 * 1024 * 1024))     # 66 MiB of comment lines
    r = subprocess.run([MOE, path], capture_output=True, text=True)
    os.unlink(path)
    ok(r.returncode == 3 and r.stderr == f"moe: '{path}' is larger than 64 MiB: scripts are read "
       "whole (keep data in .npy or CSV files and load() them)\n",
       "a script file over 64 MiB: exit 3 and a message naming it", r.stderr)


def current_umask():
    m = os.umask(0)
    os.umask(m)
    return m


def test_interrupt(d, sig, name):
    script = os.path.join(d, "long.moe")
    write(script, LONG)
    out = os.path.join(d, f"long-{name}.json")
    write(out, "previous run\n")
    status, stdout, stderr = run_and_signal(["--format", "json", "--threads", "2", "-o", out, script],
                                            sig, lambda: any("started" in read(t) for t in temp_files(d)), d)
    ok(status == 130, f"{name} during a long query: exit status 130", f"{status}\n{stderr}")
    lines = read(out).splitlines()
    rows = [json.loads(line) for line in lines]
    ok(len(rows) == 2 and rows[0] == {"print": "started"}, f"{name}: the file is whole, every line JSON",
       lines)
    rep = rows[1] if len(rows) == 2 else {}
    ok(rep.get("partial") is True and rep.get("method") == "mc" and
       0 < rep.get("samples", 0) < 10**12,
       f"{name}: the query's report is marked partial, with the samples done", rep)
    row = (rep.get("rows") or [{}])[0]
    # The exact mass for K = 2, standard normal: P(|X1 - X2| <= 0.1) with
    # X1 - X2 ~ N(0, 2), that is 2 Phi(0.1 / sqrt 2) - 1 = erf(0.05).
    exact = math.erf(0.05)
    se = row.get("stderr", 0)
    ok(se > 0 and abs(row.get("mass", 0) - exact) < 5 * se,
       f"{name}: the partial estimate agrees with the closed form within 5 standard errors", row)
    ok("not reached" not in read(out) and temp_files(d) == [],
       f"{name}: the run stopped there; no temporary file left", temp_files(d))
    ok("error: interrupted" in stderr, f"{name}: stderr says the run was interrupted", stderr)


def test_killed(d):
    script = os.path.join(d, "long.moe")
    write(script, LONG)
    out = os.path.join(d, "killed.json")
    write(out, "previous run\n")
    run_and_signal(["--format", "json", "-o", out, script], signal.SIGKILL,
                   lambda: any("started" in read(t) for t in temp_files(d)), d)
    ok(read(out) == "previous run\n", "SIGKILL: the output file keeps its previous contents whole")
    left = temp_files(d)
    ok(len(left) == 1 and os.path.basename(left[0]).startswith(".killed.json.moe-"),
       "SIGKILL: only the temporary file beside it is left, named after it", left)
    for t in left:
        os.unlink(t)


def test_stdout_interrupt(d):
    script = os.path.join(d, "long.moe")
    write(script, LONG)
    p = subprocess.Popen([MOE, script], cwd=d, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stdout.readline().decode()
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    rest, err = p.communicate(timeout=120)
    text = first + rest.decode()
    ok(p.returncode == 130 and first == "started\n" and "[INTERRUPTED: partial result]" in text,
       "Ctrl-C with text output: the report's heading says INTERRUPTED: partial result", text)


def main():
    with tempfile.TemporaryDirectory(prefix="moe-cli-") as d:
        test_output(d)
        test_huge_script(d)
        test_interrupt(d, signal.SIGINT, "SIGINT")
        test_interrupt(d, signal.SIGTERM, "SIGTERM")
        test_killed(d)
        test_stdout_interrupt(d)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
