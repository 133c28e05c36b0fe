/*
 * harness.c — one fuzz input through the whole pipeline: lex, parse, check,
 * lower and run, under the limits a stranger's script gets (tests/fuzz/README
 * and docs/reliability.md).
 *
 * Shared by the libFuzzer target (fuzz_moe.c) and by the regression test
 * (test_fuzz_regress.c), so every input that once failed is replayed by
 * `make check` exactly as the fuzzer ran it.  A failure is an abort: a
 * sanitizer report, a leak (blocks still live after the state is freed), or
 * an output line with "nan" or "inf" in a number position.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbgalloc.h"
#include "interp.h"
#include "source.h"

static void discard(void *ud, const char *s, size_t n)
{
  (void)ud;
  (void)s;
  (void)n;
}

static int word_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Output must never show a non-finite number: "nan" or "inf" as a word
 * aborts (unless the script itself spells them, e.g. in a string). */
static void check_output(void *ud, const char *s, size_t n)
{
  if (ud)
    return;
  for (size_t i = 0; i + 3 <= n; i++) {
    if (memcmp(s + i, "nan", 3) != 0 && memcmp(s + i, "inf", 3) != 0)
      continue;
    if ((i > 0 && word_char(s[i - 1])) || (i + 3 < n && word_char(s[i + 3])))
      continue;
    fprintf(stderr, "fuzz: a non-finite number was printed: %.*s\n", (int)n, s);
    abort();
  }
}

static int spells(const uint8_t *data, size_t size, const char *w)
{
  for (size_t i = 0; i + 3 <= size; i++)
    if (memcmp(data + i, w, 3) == 0)
      return 1;
  return 0;
}

int fuzz_one(const uint8_t *data, size_t size, const FuzzLimits *lim)
{
  DbgAlloc a;
  dbg_init(&a);
  a.ceiling = lim->memory;
  Interp I;
  /* out_ud non-NULL turns the check off: the script spells nan or inf. */
  void *lenient = spells(data, size, "nan") || spells(data, size, "inf") ? &a : NULL;
  int st = interp_init_alloc(&I, dbg_realloc, &a, check_output, lenient, discard, NULL);
  if (st == 0) {
    I.limits.max_samples = lim->samples;
    I.limits.max_steps = lim->steps;
    I.limits.no_files = 1;
    I.no_ffi = 1;
    I.set.threads = 1;
    I.set.samples = lim->samples;
    I.locked = LOCK_THREADS;
    I.format = (OutFormat)(size % 3);
    Source *src = source_new(&I.rt, "fuzz.moe", (const char *)data, size);
    if (src)
      st = interp_run(&I, src, 0, lim->dump_every && size % lim->dump_every == 0, NULL);
  }
  interp_free(&I);
  if (a.live_blocks != 0) {
    fprintf(stderr, "fuzz: %ld blocks (%zu bytes) leaked\n", a.live_blocks, a.live_bytes);
    abort();
  }
  return st;
}
