#!/usr/bin/env python3
"""Script tests: every .moe file under tests/scripts, tests/diag and examples,
and every ```moe block of docs/*.md, run through ./moe and checked against
the expectations written inside it.  Speaks TAP (one test per script).

Expectations are comments in the script (Wren's style):

  # args: --format json         extra command-line arguments
  # expect: TEXT                the next matching stdout line is exactly TEXT
  # expect-re: REGEX            ... a line matching REGEX (re.fullmatch)
  # expect error: MESSAGE       stderr has "FILE:L:C: error: MESSAGE" with L the
                                line of this comment
  # expect error line N: MSG    ... on line N
  # expect hint: TEXT           stderr has the line "hint: TEXT"
  # expect stderr: TEXT         stderr has a line containing TEXT
  # expect exit: N              the exit status (default 0, or 1 with errors)
  # threads-invariant           stdout must be byte-identical for --threads 1, 2, 3
  # stdin: TEXT                 a line fed on stdin

stdout expectations must appear in order (other lines may come between).  A
file NAME.moe.out beside the script holds the exact expected stdout.  Any
sanitizer report on stderr fails the test.
"""
import atexit
import os
import shutil
import tempfile
import re
import shlex
import subprocess
import sys

SRC = os.environ.get("MOE_SRCDIR", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOE = os.environ.get("MOE", os.path.join(SRC, "moe"))
SANITIZER = re.compile(r"ERROR: (Address|Leak|Thread)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer")
DIRECTIVE = re.compile(r"#\s*(args|stdin|expect(?:-re)?|expect error(?: line (\d+))?|expect hint|"
                       r"expect stderr|expect exit):\s?(.*)$")
INVARIANT = re.compile(r"#\s*threads-invariant\b")


class Spec:
    def __init__(self):
        self.args, self.stdin, self.out, self.errors = [], [], [], []
        self.hints, self.stderr, self.exit = [], [], None
        self.invariant = False


def parse(text):
    spec = Spec()
    for lineno, line in enumerate(text.splitlines(), 1):
        if INVARIANT.search(line):
            spec.invariant = True
        m = DIRECTIVE.search(line)
        if not m:
            continue
        kind, at, value = m.group(1), m.group(2), m.group(3).rstrip()
        if kind == "args":
            spec.args += shlex.split(value)
        elif kind == "stdin":
            spec.stdin.append(value)
        elif kind == "expect":
            spec.out.append(("eq", value))
        elif kind == "expect-re":
            spec.out.append(("re", value))
        elif kind.startswith("expect error"):
            spec.errors.append((int(at) if at else lineno, value))
        elif kind == "expect hint":
            spec.hints.append(value)
        elif kind == "expect stderr":
            spec.stderr.append(value)
        elif kind == "expect exit":
            spec.exit = int(value)
    return spec


def check_stdout(spec, out, golden):
    problems = []
    if golden is not None and out != golden:
        problems.append("stdout differs from the .out file")
    lines, k = out.splitlines(), 0
    for how, want in spec.out:
        while k < len(lines):
            got = lines[k].rstrip()
            k += 1
            if (got == want) if how == "eq" else re.fullmatch(want, got):
                break
        else:
            problems.append(f"missing stdout line ({how}): {want!r}")
            break
    return problems


def check_stderr(spec, name, err):
    problems = []
    for line, msg in spec.errors:
        pat = re.compile(re.escape(name) + f":{line}:\\d+: error: " + re.escape(msg) + "$", re.M)
        if not pat.search(err):
            problems.append(f"missing error on line {line}: {msg!r}")
    lines = err.splitlines()
    for hint in spec.hints:
        if f"hint: {hint}" not in lines:
            problems.append(f"missing hint: {hint!r}")
    for text in spec.stderr:
        if not any(text in l for l in lines):
            problems.append(f"missing stderr text: {text!r}")
    if SANITIZER.search(err):
        problems.append("sanitizer report on stderr")
    return problems


def run_one(path, text, display):
    spec = parse(text)
    golden = None
    if os.path.exists(path + ".out"):
        with open(path + ".out") as f:
            golden = f.read()
    cwd = os.path.dirname(path)
    cmd = [MOE] + spec.args + [os.path.basename(path)]
    stdin = "".join(s + "\n" for s in spec.stdin)
    env = dict(os.environ, MOE_PATH=os.path.join(SRC, "tests", "scripts", "lib"))
    try:
        p = subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True,
                           timeout=600, env=env)
    except subprocess.TimeoutExpired:
        return ["timed out after 600 s"], "", ""
    want_exit = spec.exit if spec.exit is not None else (1 if spec.errors else 0)
    problems = []
    if p.returncode != want_exit:
        problems.append(f"exit status {p.returncode}, expected {want_exit}")
    problems += check_stdout(spec, p.stdout, golden)
    problems += check_stderr(spec, os.path.basename(path), p.stderr)
    if spec.invariant:
        for t in ("1", "2", "3"):
            q = subprocess.run([MOE, "--threads", t] + spec.args + [os.path.basename(path)],
                               cwd=cwd, input=stdin, capture_output=True, text=True,
                               timeout=600, env=env)
            if q.stdout != p.stdout:
                problems.append(f"stdout with --threads {t} differs from the default run")
    return problems, p.stdout, p.stderr


def doc_blocks(md_path):
    """The ```moe blocks of a Markdown file, written to files beside it in a
    scratch directory so that they run from the docs folder."""
    with open(md_path) as f:
        text = f.read()
    for i, m in enumerate(re.finditer(r"```moe\n(.*?)```", text, re.S)):
        line = text.count("\n", 0, m.start()) + 2
        yield f"{md_path}:{line}", m.group(1), i


def collect():
    tests = []
    for sub in ("tests/scripts", "tests/diag", "examples"):
        root = os.path.join(SRC, sub)
        for dirpath, _, files in sorted(os.walk(root)):
            if os.path.basename(dirpath) == "lib":
                continue
            for f in sorted(files):
                if f.endswith(".moe"):
                    p = os.path.join(dirpath, f)
                    with open(p, encoding="utf-8", errors="replace") as fh:
                        tests.append((p, fh.read(), os.path.relpath(p, SRC)))
    docs = os.path.join(SRC, "docs")
    if os.path.isdir(docs):
        # The blocks are written to a private directory, removed at exit, so
        # a build tree stays clean (make distcheck checks that).
        scratch = tempfile.mkdtemp(prefix="moe-doc-blocks-")
        atexit.register(shutil.rmtree, scratch, True)
        for f in sorted(os.listdir(docs)):
            if f.endswith(".md"):
                for where, code, i in doc_blocks(os.path.join(docs, f)):
                    if "# notest" in code:
                        continue
                    p = os.path.join(scratch, f"{f[:-3]}-{i}.moe")
                    with open(p, "w") as fh:
                        fh.write(code)
                    tests.append((p, code, where))
    return tests


def main():
    tests = collect()
    only = sys.argv[1:]
    if only:
        tests = [t for t in tests if any(o in t[2] for o in only)]
    print(f"1..{len(tests)}")
    failed = 0
    for n, (path, text, display) in enumerate(tests, 1):
        problems, out, err = run_one(path, text, display)
        print(f"{'not ok' if problems else 'ok'} {n} - {display}")
        if problems:
            failed += 1
            for pr in problems:
                print(f"#   {pr}")
            for label, stream in (("stdout", out), ("stderr", err)):
                for l in stream.splitlines()[:40]:
                    print(f"#   {label}| {l}")
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
