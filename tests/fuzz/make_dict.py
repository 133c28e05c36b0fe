#!/usr/bin/env python3
"""Writes the fuzzer's dictionary: every keyword and operator of the lexer,
every builtin and parameter name of the builtin table, every name the prelude
defines, and a few literals.  Generated from the sources at `make fuzz` time,
so it follows the language as it grows.

usage: make_dict.py SRCDIR > moe.dict
"""
import re
import sys

src = sys.argv[1]
words = set()
with open(f"{src}/lang/lexer.re") as f:
    for m in re.finditer(r'^\s*"([^"\\]+)"\s*\{', f.read(), re.M):
        words.add(m.group(1))
for path in (f"{src}/lang/builtins.c",):
    with open(path) as f:
        text = f.read()
    for m in re.finditer(r'\{"([a-z_][a-z_0-9]*)",', text):
        words.add(m.group(1))
with open(f"{src}/stdlib/prelude.moe") as f:
    for m in re.finditer(r'^\s*(?:let|fn|schedule)\s+([A-Za-z_]\w*)', f.read(), re.M):
        words.add(m.group(1))
words |= {"1e-300", "1e300", "-1e300", "4_000_000", "0.5", "[[1, 0], [0, 1]]", "(x)", "x[0]",
          "= ", "\n", "# ", "\"a.csv\"", "method = \"mc\"", "method = \"exact\"", "tau = ",
          "samples = ", "w = [0.1]", "noise 0.1", "with steps = 3"}
for w in sorted(words):
    print('"' + w.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\x0A") + '"')
