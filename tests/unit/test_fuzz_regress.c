/*
 * test_fuzz_regress.c — replays, under `make check`, every input the fuzzer
 * ever failed on (tests/fuzz/regress/) and a set of hostile inputs built
 * here (deep nesting, huge literals, runaway loops and recursion, giant
 * allocations), through the same harness and limits as the fuzzer.  A
 * failure is an abort (sanitizer report, leak, non-finite output), which
 * the TAP driver reports as an error.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tap.h"

static const FuzzLimits lim = {256u << 20, 2000, 20000, 0};   /* FUZZ_LIMITS, always run */
static const FuzzLimits lim_dump = {256u << 20, 2000, 20000, 1};   /* always --dump-ast */

static int run_text(const char *text, size_t n) { return fuzz_one((const uint8_t *)text, n, &lim); }

static char *repeat(const char *head, const char *unit, size_t times, const char *tail, size_t *n)
{
  size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
  *n = hl + ul * times + tl;
  char *s = malloc(*n + 1);
  memcpy(s, head, hl);
  for (size_t i = 0; i < times; i++)
    memcpy(s + hl + i * ul, unit, ul);
  memcpy(s + hl + ul * times, tail, tl + 1);
  return s;
}

static void hostile(const char *name, const char *head, const char *unit, size_t times,
                    const char *tail, int want)
{
  size_t n;
  char *s = repeat(head, unit, times, tail, &n);
  int st = run_text(s, n);
  ok(st == want, "%s: status %d (want %d)", name, st, want);
  free(s);
}

static void replay_dir(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d) {
    ok(0, "cannot open %s", dir);
    return;
  }
  struct dirent *e;
  int count = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "rb");
    if (!f)
      continue;
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    int st = run_text(buf, n);
    ok(st == 0 || st == 1, "regression input %s: ran (status %d)", e->d_name, st);
    /* The fuzzer dumps the tree of some inputs instead of running them
     * (FUZZ_LIMITS' dump_every); replay that mode too. */
    st = fuzz_one((const uint8_t *)buf, n, &lim_dump);
    ok(st == 0 || st == 1, "regression input %s: dumped (status %d)", e->d_name, st);
    free(buf);
    count++;
  }
  closedir(d);
  printf("# %d regression inputs\n", count);
}

int main(void)
{
  const char *src = getenv("MOE_SRCDIR");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/tests/fuzz/regress", src ? src : ".");
  replay_dir(dir);

  hostile("parentheses nested 100000 deep", "print ", "(", 100000, "1", 1);
  hostile("brackets nested 100000 deep", "print ", "[", 100000, "1", 1);
  hostile("balanced parentheses 5000 deep", "let a = ", "(", 5000, "", 1);
  hostile("unary minus 100000 times", "print ", "-", 100000, "1", 1);
  hostile("not 100000 times", "print ", "not ", 100000, "true", 1);
  hostile("a sum of 100000 terms", "print 0", " + 1", 100000, "\n", 1);
  hostile("a sum of 999 terms", "print 0", " + 1", 999, "\n", 0);
  hostile("a 4 MiB line", "let s = \"", "x", 4u << 20, "\"\n", 1);
  hostile("an unterminated 1 MiB string", "print \"", "y", 1u << 20, "", 1);
  hostile("100000 statements (over the step limit)", "", "print 1\n", 100000, "", 1);
  hostile("10000 statements", "", "print 1\n", 10000, "", 0);
  hostile("a runaway loop", "for i in range(1000000000) {", "", 0, "}\n", 1);
  hostile("runaway recursion", "fn f(n) = f(n + 1)\nprint f(0)\n", "", 0, "", 1);
  hostile("a 1e12-element vector", "print zeros(1e12)[0]\n", "", 0, "", 1);
  hostile("a 1e5 x 1e5 matrix", "print sum(zeros(100000, 100000)[0])\n", "", 0, "", 1);
  hostile("a huge sample request", "law X = normal(dim = 2)\nrouter r = linear(W = [[1, 0], [0, 1]])\n"
          "print boundary_density(r, X, samples = 4e18, method = \"mc\").value > 0\n", "", 0, "", 0);
  hostile("files are off limits", "let W = load(\"/etc/passwd\")\n", "", 0, "", 1);
  hostile("imports are off limits", "import \"/etc/passwd\"\n", "", 0, "", 1);
  static const char nul[] = "print 1\n\0\0print 2\n";
  ok(run_text(nul, sizeof nul - 1) == 1, "NUL bytes in the source: an error");
  return tap_done();
}
