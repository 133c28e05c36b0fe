#!/usr/bin/env python3
"""The REPL driven as a person would drive it: `moe` on a pseudo-terminal,
keys written to the terminal's master side (Enter, Tab, Up, Ctrl-C,
Ctrl-D), the screen read back with the escape sequences taken out.  Speaks
TAP.

Every wait has a timeout, so a REPL that hangs (or never shows its prompt
again) fails its test instead of blocking `make check`.  HOME is a fresh
directory per session group, so the history file is the test's own.
"""
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
import taplib
from taplib import MOE, finish


def ok(cond, what, detail=""):
    """A check whose failure shows the end of the session (the pty's tail)."""
    return taplib.ok(cond, what, detail, last=True)




PROMPT = "moe> "
MORE = "..> "
UP = "\x1b[A"
TAB = "\t"
CTRL_C = "\x03"
CTRL_D = "\x04"

ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[()][0-9A-Za-z]|[=>78]|\][^\x07]*\x07)")


def clean(raw):
    """The screen text: escape sequences and carriage returns removed."""
    text = ANSI.sub("", raw.decode("utf-8", "replace"))
    return text.replace("\r", "").replace("\x07", "")


class Session:
    """One `moe` on a pty.  `mark()` remembers where the output is now;
    `wait(pattern)` waits for the pattern in the output after the mark."""

    def __init__(self, home, args=(), cwd=None):
        env = dict(os.environ, HOME=home, TERM="xterm", LC_ALL="C.UTF-8")
        env.pop("EDITRC", None)
        pid, fd = pty.fork()
        if pid == 0:
            try:
                if cwd:
                    os.chdir(cwd)
                os.execve(MOE, [MOE, *args], env)
            finally:
                os._exit(127)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        self.pid, self.fd = pid, fd
        self.raw = b""
        self.start = 0
        self.status = None

    def read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            return None
        self.raw += data
        return True

    def text(self):
        return clean(self.raw[self.start:])

    def mark(self):
        self.start = len(self.raw)

    def wait(self, pattern, timeout=15.0):
        """True once `pattern` (a regex) is in the output after the mark."""
        end = time.monotonic() + timeout
        rx = re.compile(pattern, re.S)
        while True:
            if rx.search(self.text()):
                return True
            left = end - time.monotonic()
            if left <= 0 or self.read(min(left, 0.5)) is None:
                return bool(rx.search(self.text()))

    def send(self, keys):
        os.write(self.fd, keys.encode())

    def prompt(self, timeout=15.0):
        """Waits for a fresh `moe> ` at the end of the output."""
        return self.wait(r"moe> $", timeout)

    def run(self, line, timeout=15.0):
        """Types a line and Enter; returns the output up to the next prompt."""
        self.mark()
        self.send(line + "\r")
        self.wait(r"(moe|\.\.)> $", timeout)
        return self.text()

    def exit_status(self, timeout=10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.read(0.1)
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
                return self.status
        return None

    def close(self):
        if self.status is None and self.exit_status(0.01) is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def output_of(text, line):
    """What came after the echo of `line`, before the next prompt."""
    i = text.find(line)
    body = text[i + len(line):] if i >= 0 else text
    return re.sub(r"(moe|\.\.)> $", "", body).strip("\n ")


def test_values(s):
    out = s.run("1 + 2")
    ok(output_of(out, "1 + 2") == "3", "a bare expression prints its value: 1 + 2", out)
    out = s.run("[1, 2]")
    ok(output_of(out, "[1, 2]") == "[1, 2]", "a bare vector prints: [1, 2]", out)
    s.run("law X = normal(dim = 2)")
    s.run("router r = linear(W = [[1, 0.5], [-1, 0.5]], b = [0.2, 0])")
    out = s.run("margin(r, at = [0.1, -0.4])")
    ok(re.search(r"x\s+margin\s+top\s+second", out) and re.search(r"0\.4\s+0\s+1", out),
       "a bare query prints its result table: margin(r, at = ...)", out)


def test_continuation(s):
    out = s.run("let v = [1,")
    ok(out.endswith(MORE), "an open bracket continues on ..>", out)
    out = s.run("  2,")
    ok(out.endswith(MORE), "still open after a second line: ..> again", out)
    out = s.run("  3]")
    ok(out.endswith(PROMPT) and "error" not in out, "the closing bracket finishes the statement", out)
    out = s.run("v")
    ok(output_of(out, "v") == "[1, 2, 3]", "the three-line statement defined v = [1, 2, 3]", out)

    out = s.run("let w = 10 +")
    ok(out.endswith(MORE), "a trailing binary operator continues on ..>", out)
    out = s.run("")
    ok(out.endswith(MORE), "a blank line on ..> keeps waiting for the statement", out)
    out = s.run("5")
    ok(out.endswith(PROMPT) and "error" not in out, "the operand finishes it", out)
    out = s.run("w * 2")
    ok(output_of(out, "w * 2") == "30", "w = 10 + 5 across lines", out)

    out = s.run('let str = "ab')
    ok(out.endswith(MORE), "an unterminated string continues on ..>", out)
    s.run('cd"')
    out = s.run("str")
    ok(output_of(out, "str") == "ab\ncd", "the string spans the lines, newline included", out)

    s.run("fn sq(x) =")
    s.run("x * x")
    out = s.run("sq(7)")
    ok(output_of(out, "sq(7)") == "49", "a fn body on the next line", out)

    s.run("let dropped = [1,")
    s.mark()
    s.send(CTRL_C)
    got = s.prompt(5)
    out = s.run("dropped")
    ok(got and "unknown name 'dropped'" in out,
       "Ctrl-C on ..> abandons the unfinished statement", s.text())

    out = s.run("let bad = (1 + ) * 2")
    ok(out.endswith(PROMPT) and "error" in out,
       "a wrong statement is an error at once, not a continuation", out)
    out = s.run("let bad = 3 $ [1,")
    ok(out.endswith(PROMPT) and "unexpected character '$'" in out,
       "an error before an open bracket is reported at once, not continued", out)


def test_errors(s):
    s.run("let keep = 41")
    out = s.run("let oops = keep + [1, 2] + nope")
    ok("<repl>:1:" in out and "error: unknown name 'nope'" in out and "^" in out,
       "an error shows <repl>, line, column, message and caret", out)
    out = s.run("keep + 1")
    ok(output_of(out, "keep + 1") == "42", "after the error the session goes on: keep is still 41", out)
    out = s.run("let z = [1, 2] + [1, 2, 3]")
    ok("error" in out and "shapes do not match" in out, "a runtime error is reported too", out)
    out = s.run("keep")
    ok(output_of(out, "keep") == "41", "and the state is intact after it", out)
    out = s.run("let keep = 7")
    out = s.run("keep")
    ok(output_of(out, "keep") == "7", "the REPL may redefine a name", out)


def test_commands(s, d):
    out = s.run(":help")
    ok(all(c in out for c in (":help", ":load", ":reset", ":type", ":set", ":quit")),
       ":help lists the commands", out)
    out = s.run(":help statements")
    ok("let NAME = EXPR" in out and "router NAME" in out and "train MODEL" in out,
       ":help statements shows the statement keywords", out)
    out = s.run(":help queries")
    ok("boundary_mass" in out and "margin" in out and "samples =" in out,
       ":help queries lists the queries", out)
    out = s.run(":help boundary_mass")
    ok("boundary_mass(" in out and "-> result" in out, ":help NAME on a query", out)
    out = s.run(":help keys")
    ok("Ctrl-C" in out and "Tab" in out, ":help keys", out)
    keywords = ("let fn law router expert target model schedule set report print train on "
                "under with for in if then else and or not import extern from noise true false").split()
    missing = [k for k in keywords if "no help on" in s.run(f":help {k}") ]
    ok(not missing, ":help has something on every keyword", " ".join(missing))
    out = s.run(":help nothing_like_this")
    ok("no help on 'nothing_like_this'" in out, ":help on an unknown topic says so", out)

    good = os.path.join(d, "good.moe")
    with open(good, "w") as f:
        f.write("let from_file = 6\nfn triple(x) = 3 * x\n")
    out = s.run(f":load {good}")
    ok("error" not in out, ":load of a good file is quiet", out)
    out = s.run("triple(from_file)")
    ok(output_of(out, "triple(from_file)") == "18", ":load put the file's names in the session", out)

    bad = os.path.join(d, "bad.moe")
    with open(bad, "w") as f:
        f.write("let fine = 1\nlet broken = [1,\n  2)\n")
    out = s.run(f":load {bad}")
    ok(f"{bad}:3:4: error:" in out and "'['" in out,
       ":load of a bad file: the error names the file, line and column", out)
    out = s.run(":load /nonexistent/x.moe")
    ok("cannot open '/nonexistent/x.moe'" in out, ":load of a missing file says so", out)
    out = s.run("from_file")
    ok(output_of(out, "from_file") == "6", "the session goes on after a bad :load", out)

    out = s.run(":type [1, 2, 3]")
    ok(output_of(out, ":type [1, 2, 3]") == "vector of 3", ":type [1, 2, 3] is a vector of 3", out)
    out = s.run(":type eye(2)")
    ok(output_of(out, ":type eye(2)") == "matrix 2×2", ":type eye(2) is a 2×2 matrix", out)
    out = s.run(":type r")
    ok(output_of(out, ":type r").startswith("router"), ":type r is a router", out)
    out = s.run(":type triple")
    ok(output_of(out, ":type triple") == "function triple(x)", ":type of a function", out)
    out = s.run(":type boundary_mass(r, X, w = [0.1], samples = 10^12)")
    ok(out.startswith(":type") and "result of boundary_mass" in out,
       ":type of an estimating query answers without running it", out)
    out = s.run(":type nope")
    ok("unknown name 'nope'" in out, ":type of an unknown name is an error", out)

    out = s.run(":set")
    ok(all(re.search(rf"^{k}\s+\S", out, re.M) for k in ("seed", "samples", "threads", "method", "format")),
       ":set shows seed, samples, threads, method, format", out)
    s.run("set samples = 12345")
    out = s.run(":set")
    ok(re.search(r"^samples\s+12345", out, re.M), ":set shows a value set in the session", out)

    out = s.run(":frobnicate")
    ok("unknown command ':frobnicate'" in out and ":help" in out and ":quit" in out,
       "an unknown command names the commands", out)

    out = s.run(":reset")
    out = s.run("from_file")
    ok("unknown name 'from_file'" in out, ":reset forgets the session's names", out)
    out = s.run(":set")
    ok(re.search(r"^samples\s+1000000\b", out, re.M), ":reset puts the settings back", out)
    out = s.run("sqrt(16)")
    ok(output_of(out, "sqrt(16)") == "4", "the fresh session works", out)


def test_reset_keeps_options(home):
    s = Session(home, ["--threads", "1", "--seed", "9", "--no-ffi", "--quiet"])
    s.prompt()
    s.run("set samples = 77")
    s.run(":reset")
    out = s.run(":set")
    ok(re.search(r"^threads\s+1\b", out, re.M) and re.search(r"^seed\s+9\b", out, re.M)
       and re.search(r"^samples\s+1000000\b", out, re.M) and "refused" in out and "yes" in out,
       ":reset keeps --threads, --seed, --no-ffi, --quiet", out)
    s.send(":quit\r")
    ok(s.exit_status() == 0, ":quit leaves with status 0", s.text())
    s.close()


def complete(s, typed, expect):
    """Types `typed`, presses Tab, waits (up to 5 s) for the regex `expect`
    in what the terminal shows after the Tab, and returns that text; then
    clears the line with Ctrl-U."""
    s.mark()
    s.send(typed)
    s.wait(re.escape(typed[-3:]), 5)
    s.mark()
    s.send(TAB)
    s.wait(expect, 5)
    shown = s.text()
    s.mark()
    s.send("\x15")            # Ctrl-U: clear the line
    s.wait(r"moe> $", 5)
    return shown


def test_completion(s, d):
    shown = complete(s, "bound", r"^ary_")
    ok(shown.startswith("ary_") and "boundary_mass" not in shown,
       "Tab on a builtin prefix extends it to the common part: bound -> boundary_", shown)
    listing = r"^boundary_density\s+boundary_mass\s*$"
    shown = complete(s, "boundary_", listing)
    ok(re.search(listing, shown, re.M),
       "Tab with several choices and nothing to add lists them", shown)
    shown = complete(s, "sched", r"ule")
    ok(shown.startswith("ule"), "Tab completes a keyword prefix: sched -> schedule", shown)
    shown = complete(s, "interface_i", r"ntegral")
    ok(shown.startswith("ntegral"), "Tab completes a builtin: interface_integral", shown)
    s.run("let my_long_variable = 5")
    s.mark()
    s.send("my_lo" + TAB + " + 1\r")
    s.wait(r"^6\s+moe> $")
    out = s.text()
    ok("my_long_variable + 1" in out and re.search(r"^6$", out, re.M),
       "Tab completes a user-defined name", out)
    shown = complete(s, ":lo", r"ad")
    ok(shown.startswith("ad"), "Tab completes a command: :lo -> :load", shown)
    os.mkdir(os.path.join(d, "tabdir"))
    with open(os.path.join(d, "tabdir", "weights_layer1.csv"), "w") as f:
        f.write("1,2\n")
    shown = complete(s, ":load tabd", r"ir/")
    ok(shown.startswith("ir/"), "Tab after :load completes a directory name", shown)
    shown = complete(s, 'let W = load("tabdir/wei', r"ghts_layer1\.csv")
    ok(shown.startswith("ghts_layer1.csv"), "Tab inside a string completes a file name", shown)


def test_history(home):
    s = Session(home)
    s.prompt()
    s.run("let remembered = 1234")
    s.run("remembered * 2")
    s.send(CTRL_D)
    st = s.exit_status()
    s.close()
    path = os.path.join(home, ".moe_history")
    text = ""
    if os.path.exists(path):
        with open(path, "rb") as f:
            # libedit writes the lines vis(3)-encoded: a space is \040.
            text = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), f.read()).decode()
    ok(st == 0 and "let remembered = 1234" in text and "remembered * 2" in text,
       "the history is written to $HOME/.moe_history", text)

    s = Session(home)
    s.prompt()
    s.mark()
    s.send(UP + UP)
    s.wait("let remembered = 1234", 5)
    s.send("\r")
    s.prompt()
    out = s.run("remembered + 1")
    ok(output_of(out, "remembered + 1") == "1235", "Up in a new session recalls the last session's lines", s.text())
    s.send(CTRL_D)
    s.exit_status()
    s.close()

    # A history file that cannot be written is not an error: one that is
    # a directory, one in a home that does not exist (both hold for root).
    odd = os.path.join(home, "odd")
    os.makedirs(os.path.join(odd, ".moe_history"))
    for h, what in ((odd, "a directory"), (os.path.join(home, "no", "such"), "in a missing home")):
        s = Session(h)
        s.prompt()
        out = s.run("40 + 2")
        s.send(UP)
        s.wait("40 [+] 2$", 5)
        s.mark()
        s.send("\r")
        s.prompt()
        again = s.text()
        s.send(CTRL_D)
        st = s.exit_status()
        s.close()
        ok(st == 0 and output_of(out, "40 + 2") == "42" and "error" not in out + again
           and re.search(r"^42$", again, re.M),
           f"a history file that cannot be written ({what}) is no error; Up still works", out + again)


def test_interrupt(s):
    s.run("law X4 = normal(zeros(4), eye(4))")
    s.run("router r4 = linear([[1, 0, 0, 0], [0, 1, 0, 0]], [0, 0])")
    s.mark()
    s.send('boundary_mass(r4, X4, w = [0.1], samples = 10^12, method = "mc")\r')
    time.sleep(1.5)
    still = not re.search(r"moe> $", s.text())
    t0 = time.monotonic()
    s.send(CTRL_C)
    back = s.prompt(10)
    dt = time.monotonic() - t0
    out = s.text()
    ok(still and back and dt < 5 and "[INTERRUPTED: partial result]" in out,
       f"Ctrl-C stops a long query and returns to the prompt ({dt:.1f} s), result marked partial", out)
    out = s.run("1 + 1")
    ok(output_of(out, "1 + 1") == "2", "the session goes on after the interrupt", out)
    out = s.run("keep")
    ok(output_of(out, "keep") == "7", "with its names", out)

    s.mark()
    s.send("some text" + CTRL_C)
    back = s.prompt(5)
    out = s.run("2 + 2")
    ok(back and output_of(out, "2 + 2") == "4", "Ctrl-C at the prompt drops the line, does not exit", s.text())


def test_eof(s):
    s.mark()
    s.send(CTRL_D)
    st = s.exit_status()
    ok(st == 0, f"Ctrl-D at the prompt exits with status 0 (got {st})", s.text())


def test_not_a_terminal():
    p = subprocess.run([MOE], input=b"let a = 2\nprint a * 21\n", capture_output=True, timeout=60)
    out = p.stdout.decode()
    ok(p.returncode == 0 and out == "42\n", "stdin not a terminal: a script, no prompt", out + p.stderr.decode())


def main():
    try:
        for fd in os.openpty():
            os.close(fd)
    except OSError as e:
        print(f"1..0 # SKIP no pseudo-terminal: {e}")
        return 0
    with tempfile.TemporaryDirectory(prefix="moe-repl-") as d:
        home = os.path.join(d, "home")
        os.mkdir(home)
        s = Session(home, cwd=d)
        ok(s.prompt(), "the REPL starts with a moe> prompt", s.text())
        test_values(s)
        test_continuation(s)
        test_errors(s)
        test_completion(s, d)
        test_interrupt(s)
        test_commands(s, d)
        test_eof(s)
        s.close()
        test_reset_keeps_options(home)
        histhome = os.path.join(d, "histhome")
        os.mkdir(histhome)
        test_history(histhome)
        test_not_a_terminal()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
