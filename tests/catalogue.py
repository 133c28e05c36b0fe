#!/usr/bin/env python3
"""The error catalogue: every diagnostic moe can emit, and the test that
feeds it a bad input and checks the exact message.

Diagnostics are found in the sources as the format strings of the calls
that emit them (eval_error, call_error, diag_error, the checker's err and
ERR, lowering's lerr, the runtime's rt_error and the file readers' ferr).
Tests are the `# expect error:` lines of every .moe file under tests/ and
examples/, and the string literals of the C and Python tests.  A format is
covered when a test message matches it (each conversion such as %s or %zu
standing for any text; lowering's " (in expert f at L:C)" may follow).

  catalogue.py --print   prints docs/errors.md to stdout
  catalogue.py           TAP: docs/errors.md is what --print prints (so the
                         catalogue is never stale), and at least MIN_COVERED
                         diagnostics have a test

Run by `make check`; regenerate with `make errors-doc`.
"""
import glob
import os
import re
import sys

SRC = os.environ.get("MOE_SRCDIR", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIN_COVERED = 250

EMITTERS = ("eval_error", "eval_error_at", "call_error", "diag_error", "ERR", "err", "lerr",
            "rt_error", "ferr", "malformed")
CALL = re.compile(r"\b(" + "|".join(EMITTERS) + r")\s*\(")
LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
CONVERSION = re.compile(r"%[-+ #0]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?:hh|h|ll|l|z|j|t)?[diouxXeEfgGcsp%]")
EXPECT = re.compile(r"#\s*expect error(?: line \d+)?:\s?(.*)$")


def c_unescape(s):
    return (s.replace('\\"', '"').replace("\\'", "'").replace("\\n", "\n").replace("\\t", "\t")
            .replace("\\\\", "\\"))


def formats(path):
    """(line, emitter, format) for each diagnostic call in a C source."""
    text = open(path, encoding="utf-8", errors="replace").read()
    out = []
    for m in CALL.finditer(text):
        # The format is the first string literal among the arguments; it
        # may continue as adjacent literals on the following lines.
        depth, i = 1, m.end()
        pieces, j = [], None
        while i < len(text) and depth > 0:
            ch = text[i]
            if ch == '"':
                lit = LITERAL.match(text, i)
                if not lit:
                    break
                if j is None or text[j:i].strip() == "":
                    pieces.append(lit.group(1))
                    j = lit.end()
                    i = lit.end()
                    continue
                break
            if pieces and not ch.isspace():
                break
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            i += 1
        if pieces:
            line = text.count("\n", 0, m.start()) + 1
            out.append((line, m.group(1), c_unescape("".join(pieces))))
    return out


def pattern(fmt):
    parts, last = [], 0
    for m in CONVERSION.finditer(fmt):
        parts.append(re.escape(fmt[last:m.start()]))
        parts.append("%" if m.group(0) == "%%" else ".+?" if m.group(0)[-1] in "sc" else r"[-+.\w]+")
        last = m.end()
    parts.append(re.escape(fmt[last:]))
    return re.compile("".join(parts), re.S)


def test_messages():
    """(message, test file) from every test."""
    found = []
    for path in sorted(glob.glob(os.path.join(SRC, "tests", "**", "*.moe"), recursive=True) +
                       glob.glob(os.path.join(SRC, "examples", "**", "*.moe"), recursive=True)):
        for line in open(path, encoding="utf-8", errors="replace"):
            m = EXPECT.search(line)
            if m:
                found.append((m.group(1).rstrip(), os.path.relpath(path, SRC)))
    for path in sorted(glob.glob(os.path.join(SRC, "tests", "**", "*.c"), recursive=True) +
                       glob.glob(os.path.join(SRC, "tests", "*.py"))):
        if os.path.basename(path) == "catalogue.py":
            continue
        text = open(path, encoding="utf-8", errors="replace").read()
        # Adjacent literals are one string (in C, and in Python inside
        # brackets), as a long expected message is often written.
        joined, end = [], None
        for m in LITERAL.finditer(text):
            if joined and text[end:m.start()].strip() == "":
                joined[-1] += m.group(1)
            else:
                joined.append(m.group(1))
            end = m.end()
        for lit in joined:
            s = c_unescape(lit)
            if len(s) >= 8:
                found.append((s, os.path.relpath(path, SRC)))
    return found


def catalogue():
    sources = sorted(glob.glob(os.path.join(SRC, "lang", "*.c")) + glob.glob(os.path.join(SRC, "lang", "*.re")) +
                     glob.glob(os.path.join(SRC, "lang", "*.y")) + glob.glob(os.path.join(SRC, "runtime", "*.c")))
    generated = {"lexer.c", "parser.c"}
    entries, seen = [], set()
    for path in sources:
        if os.path.basename(path) in generated:
            continue
        for line, who, fmt in formats(path):
            if fmt in seen or len(fmt) < 6:
                continue
            seen.add(fmt)
            entries.append((os.path.relpath(path, SRC), line, fmt))
    tests = test_messages()
    rows = []
    for where, line, fmt in entries:
        pat = pattern(fmt)
        # Lowering wraps a message as "MESSAGE (in expert f at L:C)".
        wrapped = re.compile(pat.pattern + r" \(in .*\)", re.S)
        hit = next((t for t in tests if (pat.fullmatch(t[0]) or wrapped.fullmatch(t[0])
                                         if t[1].endswith(".moe") else pat.search(t[0]))),
                   None)
        rows.append((where, fmt, hit))
    return rows


def render(rows):
    covered = [r for r in rows if r[2]]
    out = ["# Error catalogue", "",
           "Every diagnostic moe can emit, found in the sources as the format of",
           "the call that emits it (`%s` and the like stand for the part that",
           "varies), and a test that feeds a bad input and checks the exact",
           "message.  Generated by `tests/catalogue.py` (`make errors-doc`);",
           "`make check` fails when this file is stale.", "",
           f"**{len(covered)} of {len(rows)} diagnostics are checked by a test.**  The",
           "rest are listed at the end: most are out-of-memory paths (covered as",
           "a class by the allocation-failure sweep, tests/unit/test_faults.c) and",
           "internal consistency checks a script cannot reach.", "",
           "| message | emitted in | checked by | example |", "|---|---|---|---|"]
    def cell(s):
        s = s.replace("|", "\\|").replace("\n", " ")
        return s if len(s) <= 110 else s[:107] + "..."
    for where, fmt, hit in sorted(covered, key=lambda r: (r[0], r[1])):
        out.append(f"| `{cell(fmt)}` | {where} | {hit[1]} | {cell(hit[0])} |")
    out += ["", "## Not yet checked by a test of its own", ""]
    for where, fmt, hit in sorted((r for r in rows if not r[2]), key=lambda r: (r[0], r[1])):
        out.append(f"- `{cell(fmt)}` ({where})")
    return "\n".join(out) + "\n"


def main():
    rows = catalogue()
    text = render(rows)
    if sys.argv[1:] != ["--print"]:
        doc = os.path.join(SRC, "docs", "errors.md")
        current = open(doc, encoding="utf-8").read() if os.path.exists(doc) else ""
        covered = sum(1 for r in rows if r[2])
        fresh = current == text
        print(f"{'ok' if fresh else 'not ok'} 1 - docs/errors.md is up to date "
              "(make errors-doc regenerates it)")
        print(f"{'ok' if covered >= MIN_COVERED else 'not ok'} 2 - {covered} of {len(rows)} "
              f"diagnostics are checked by a test (at least {MIN_COVERED})")
        print("1..2")
        return 0 if fresh and covered >= MIN_COVERED else 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
