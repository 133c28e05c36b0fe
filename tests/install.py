#!/usr/bin/env python3
"""libmoe as a host program gets it: `make install` into a temporary
DESTDIR, then what is installed — the header (compiled alone as C89, C99
and C++ with -Wall -Wextra -pedantic), the shared library (only moe_*
symbols exported, and every function moe.h declares among them), the
pkg-config file (flags that build and link examples/embed/host.c, and
Libs.private enough to link the static library) — and the example itself,
run against the installed library.  Speaks TAP.

Run by `make check` from the build directory (MOE_BUILDDIR; the Makefile
exports MAKE, CC and the sanitizer flags the library was built with, which
a host must use too).  Works from a read-only source tree: everything it
writes goes under a temporary directory.
"""
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from taplib import SRC, ok, skip, finish

BUILD = os.environ.get("MOE_BUILDDIR") or os.path.dirname(os.environ.get("MOE", os.path.join(SRC, "moe")))
MAKE = shlex.split(os.environ.get("MAKE", "make"))
CC = shlex.split(os.environ.get("CC", "cc"))
SANITIZE = shlex.split(os.environ.get("SANITIZE_CFLAGS", ""))




def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)




def main():
    tmp = tempfile.mkdtemp(prefix="moe-install-")
    try:
        check(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(finish())


def check(tmp):
    dest = os.path.join(tmp, "root")
    # The sub-make must not inherit the parent's jobserver (its descriptors
    # are not passed on) nor its targets.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = run(MAKE + ["install", f"DESTDIR={dest}"], cwd=BUILD, env=env)
    if not ok(r.returncode == 0, "make install DESTDIR=<temporary directory>", r.stdout + r.stderr):
        return
    pcs = glob.glob(os.path.join(dest, "**", "pkgconfig", "moe.pc"), recursive=True)
    headers = glob.glob(os.path.join(dest, "**", "include", "moe.h"), recursive=True)
    libs = glob.glob(os.path.join(dest, "**", "libmoe.so"), recursive=True)
    statics = glob.glob(os.path.join(dest, "**", "libmoe.a"), recursive=True)
    progs = glob.glob(os.path.join(dest, "**", "bin", "moe"), recursive=True)
    ok(len(pcs) == 1 and len(headers) == 1 and len(libs) == 1 and len(progs) == 1,
       "installed: moe.h, libmoe.so, moe.pc and the moe program",
       f"pc {pcs}\nheaders {headers}\nlibs {libs}\nprograms {progs}")
    if not (pcs and headers and libs):
        return
    libdir = os.path.dirname(libs[0])
    incdir = os.path.dirname(headers[0])
    check_header(tmp, incdir)
    check_exports(libs[0], headers[0])
    check_host(tmp, dest, pcs[0], libdir, statics)


def check_header(tmp, incdir):
    """moe.h alone, first in a translation unit, warning-free."""
    unit = os.path.join(tmp, "unit.c")
    with open(unit, "w") as f:
        f.write("#include <moe.h>\n"
                "int main(void) { moe_State *S = moe_open(0); moe_close(S); return MOE_OK; }\n")
    for std in ("c89", "c99", "c11"):
        r = run(CC + SANITIZE + [f"-std={std}", "-Wall", "-Wextra", "-pedantic", "-Werror",
                                 f"-I{incdir}", "-fsyntax-only", unit])
        ok(r.returncode == 0, f"moe.h compiles alone as {std} with -Wall -Wextra -pedantic",
           r.stderr)
    cxx = shutil.which("g++") or shutil.which("c++")
    if not cxx:
        skip("moe.h compiles as C++", "no C++ compiler")
        return
    unit_cc = os.path.join(tmp, "unit.cc")
    shutil.copy(unit, unit_cc)
    r = run([cxx, "-std=c++11", "-Wall", "-Wextra", "-pedantic", "-Werror", f"-I{incdir}",
             "-fsyntax-only", unit_cc])
    ok(r.returncode == 0, "moe.h compiles alone as C++11 with -Wall -Wextra -pedantic", r.stderr)


def check_exports(lib, header):
    """Only moe_* leaves the shared library, and all of moe.h does."""
    nm = shutil.which("nm")
    if not nm:
        skip("libmoe.so exports only moe_*", "no nm")
        return
    r = run([nm, "-D", "--defined-only", lib])
    syms = sorted({line.split()[-1] for line in r.stdout.splitlines() if line.strip()})
    others = [s for s in syms if not s.startswith("moe_")]
    ok(r.returncode == 0 and syms and not others,
       f"nm -D libmoe.so: only moe_* symbols ({len(syms)})", "not moe_*: " + " ".join(others))
    with open(header) as f:
        text = f.read()
    declared = set(re.findall(r"MOE_API\s[^;]*?\b(moe_\w+)\s*\(", text))
    missing = sorted(declared - set(syms))
    extra = sorted(set(syms) - declared)
    ok(declared and not missing, f"every function moe.h declares is exported ({len(declared)})",
       "missing: " + " ".join(missing))
    ok(not extra, "and nothing else named moe_* is", "extra: " + " ".join(extra))


EXPECT = [
    "boundary density C = 0.3969525475 (exact)",
    "4 rows:",
    "  tau = 0.001  soft risk = ",
    "error: <host>:1:9: unknown name 'nrmal' (hint: did you mean 'normal'?); 1 diagnostic(s) reported",
    "error: 'taus' is a vector, not a number",
    "still working: 4 temperatures",
]


def check_host(tmp, dest, pc, libdir, statics):
    """examples/embed/host.c built with pkg-config's flags, and run."""
    pkgconfig = shutil.which("pkg-config")
    if not pkgconfig:
        skip("examples/embed/host.c builds with pkg-config", "no pkg-config")
        return
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pc), PKG_CONFIG_SYSROOT_DIR=dest)
    flags = run([pkgconfig, "--cflags", "--libs", "moe"], env=env)
    ok(flags.returncode == 0 and "-lmoe" in flags.stdout,
       f"pkg-config --cflags --libs moe: {flags.stdout.strip()}", flags.stderr)
    version = run([pkgconfig, "--modversion", "moe"], env=env).stdout.strip()
    host = os.path.join(SRC, "examples", "embed", "host.c")
    exe = os.path.join(tmp, "host")
    r = run(CC + SANITIZE + ["-Wall", "-Wextra", "-pedantic", "-Werror", host, "-o", exe] +
            shlex.split(flags.stdout))
    if not ok(r.returncode == 0, "cc host.c $(pkg-config --cflags --libs moe), warning-free",
              r.stderr):
        return
    run_env = dict(os.environ, LD_LIBRARY_PATH=libdir)
    r = run([exe], env=run_env, timeout=300)
    out = r.stdout
    ok(r.returncode == 0, "host runs against the installed library", r.stderr)
    ok(out.startswith(f"libmoe {version}\n"), f"it reports the version pkg-config knows ({version})",
       out)
    missing = [e for e in EXPECT if e not in out]
    ok(not missing, "its output: the density, a row per temperature, the errors, the state alive",
       "missing: " + repr(missing) + "\noutput:\n" + out)
    ok(r.stderr == "", "nothing on its stderr (the library writes only to its callbacks)",
       r.stderr)
    ldd = shutil.which("ldd")
    if ldd:
        r = run([ldd, exe], env=run_env)
        ok(os.path.realpath(libdir) in r.stdout or libdir in r.stdout,
           "it loaded the installed libmoe.so", r.stdout)

    check_doc_programs(tmp, flags.stdout, run_env)

    # Static: libmoe.a and Libs.private must be enough.
    if not statics:
        skip("host.c links with libmoe.a and Libs.private", "no static library installed")
        return
    sflags = run([pkgconfig, "--static", "--libs", "moe"], env=env).stdout
    libs = [("-Wl,-Bstatic -lmoe -Wl,-Bdynamic" if a == "-lmoe" else a)
            for a in shlex.split(sflags)]
    libs = [x for a in libs for x in a.split()]
    cflags = shlex.split(run([pkgconfig, "--cflags", "moe"], env=env).stdout)
    exe_static = os.path.join(tmp, "host_static")
    r = run(CC + SANITIZE + [host, "-o", exe_static] + cflags + libs)
    if not ok(r.returncode == 0, "host.c links with libmoe.a and pkg-config --static --libs",
              r.stderr):
        return
    r = run([exe_static], timeout=300)
    ok(r.returncode == 0 and all(e in r.stdout for e in EXPECT),
       "and the static program gives the same output", r.stdout + r.stderr)


def check_doc_programs(tmp, flags, run_env):
    """Every whole program (a ```c block with main) of docs/embedding.md
    builds and runs; a `/* NAME = VALUE */` comment in it is output it must
    print."""
    doc = os.path.join(SRC, "docs", "embedding.md")
    with open(doc) as f:
        text = f.read()
    blocks = [m.group(1) for m in re.finditer(r"```c\n(.*?)```", text, re.S)
              if "int main" in m.group(1)]
    ok(blocks, f"docs/embedding.md has a whole program ({len(blocks)})")
    for i, code in enumerate(blocks):
        src = os.path.join(tmp, f"doc{i}.c")
        exe = os.path.join(tmp, f"doc{i}")
        with open(src, "w") as f:
            f.write(code)
        r = run(CC + SANITIZE + ["-Wall", "-Wextra", "-Werror", src, "-o", exe] +
                shlex.split(flags))
        if not ok(r.returncode == 0, f"docs/embedding.md program {i + 1} builds", r.stderr):
            continue
        r = run([exe], env=run_env, timeout=300)
        want = re.findall(r"/\* (\w+ = [-\d.]+) \*/", code)
        missing = [w for w in want if w not in r.stdout]
        ok(r.returncode == 0 and not missing and r.stderr == "",
           f"and runs, printing {', '.join(want) or 'nothing in particular'}",
           r.stdout + r.stderr)


if __name__ == "__main__":
    main()
