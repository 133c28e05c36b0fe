/*
 * test_limits.c — the bounds on what a script may ask for, end to end
 * through the interpreter, with the exact messages (docs/reliability.md):
 * sizes the front end refuses (a script, a line, a string, an expression's
 * depth), the limits a host sets (steps, samples, files), the memory ceiling
 * of the checking allocator, and that the state stays usable after each.
 */
#include <stdlib.h>
#include <string.h>

#include "dbgalloc.h"
#include "interp.h"
#include "source.h"
#include "../tap.h"

typedef struct Capture {
  char *text;
  size_t len;
} Capture;

static void capture(void *ud, const char *s, size_t n)
{
  Capture *c = ud;
  c->text = realloc(c->text, c->len + n + 1);
  memcpy(c->text + c->len, s, n);
  c->len += n;
  c->text[c->len] = '\0';
}

typedef struct Session {
  DbgAlloc a;
  Interp I;
  Capture out, err;
} Session;

static void open_session(Session *s, size_t ceiling)
{
  memset(s, 0, sizeof *s);
  dbg_init(&s->a);
  s->a.ceiling = ceiling;
  if (interp_init_alloc(&s->I, dbg_realloc, &s->a, capture, &s->out, capture, &s->err)) {
    printf("Bail out! the state did not open\n");
    exit(1);
  }
  s->I.set.threads = 1;
}

/* Runs text; returns the status and leaves what was written in out/err. */
static int run(Session *s, const char *text, size_t len)
{
  free(s->out.text);
  free(s->err.text);
  memset(&s->out, 0, sizeof s->out);
  memset(&s->err, 0, sizeof s->err);
  Source *src = source_new(&s->I.rt, "t.moe", text, len);
  if (!src)
    return -1;
  return interp_run(&s->I, src, 0, 0, NULL);
}

static int runs(Session *s, const char *text) { return run(s, text, strlen(text)); }

static int has(const Capture *c, const char *needle)
{
  return c->text && strstr(c->text, needle) != NULL;
}

static void close_session(Session *s, const char *what)
{
  interp_free(&s->I);
  ok(s->a.live_blocks == 0, "%s: nothing leaked (%ld blocks live)", what, s->a.live_blocks);
  free(s->out.text);
  free(s->err.text);
}

/* The state answers after an error. */
static void still_usable(Session *s, const char *what)
{
  int st = runs(s, "print 6 * 7\n");
  ok(st == 0 && has(&s->out, "42"), "%s: the state still runs scripts", what);
}

static char *filled(const char *head, char fill, size_t n, const char *tail, size_t *len)
{
  size_t h = strlen(head), t = strlen(tail);
  char *s = malloc(h + n + t + 1);
  memcpy(s, head, h);
  memset(s + h, fill, n);
  memcpy(s + h + n, tail, t + 1);
  *len = h + n + t;
  return s;
}

static void test_front_end_sizes(void)
{
  Session s;
  size_t n;
  open_session(&s, 0);

  char *text = filled("let a = 1\nlet s = \"", 'x', SOURCE_MAX_LINE, "\"\n", &n);
  int r = run(&s, text, n) == 1 && has(&s.err, "t.moe:2:1: error: line longer than 1024 KiB") &&
          has(&s.err, "hint: keep data in .npy or CSV files and load() them");
  ok(r, "a line over 1 MiB: %.60s", s.err.text);
  free(text);
  still_usable(&s, "long line");

  /* A script over 64 MiB is refused whole, before any of it is lexed. */
  text = filled("", '\n', SOURCE_MAX_BYTES + 1, "", &n);
  r = run(&s, text, n) == 1 && has(&s.err, "t.moe:1:1: error: script larger than 64 MiB");
  ok(r, "a script over 64 MiB: %.60s", s.err.text);
  free(text);
  still_usable(&s, "large script");

  text = filled("let s = \"", 'y', SOURCE_MAX_STRING + 1, "\"\n", &n);
  r = run(&s, text, n) == 1 && has(&s.err, "t.moe:1:9: error: string longer than 4096 bytes");
  ok(r, "a string over 4096 bytes: %.60s", s.err.text);
  free(text);
  text = filled("let s = \"", 'y', SOURCE_MAX_STRING, "\"\nprint 1\n", &n);
  ok(run(&s, text, n) == 0, "a string of exactly 4096 bytes is fine");
  free(text);

  /* 1000 nested operations are fine, 1001 are not. */
  char *deep = malloc(8 * 1001 + 32);
  strcpy(deep, "print 0");
  for (int i = 0; i < 999; i++)
    strcat(deep, " + 1");
  ok(runs(&s, deep) == 0 && has(&s.out, "999"), "a sum of 1000 terms (depth 1000) runs");
  strcat(deep, " + 1");
  r = runs(&s, deep) == 1 &&
      has(&s.err, "t.moe:1:7: error: expression too deep: more than 1000 nested operations") &&
      has(&s.err, "hint: split it into parts with let");
  ok(r, "depth 1001: %.80s", s.err.text);
  free(deep);
  /* Deep through calls and indexing too, not only operators. */
  text = malloc(6 * 1200 + 16);
  strcpy(text, "print ");
  for (int i = 0; i < 1200; i++)
    strcat(text, "abs(");
  strcat(text, "1");
  for (int i = 0; i < 1200; i++)
    strcat(text, ")");
  /* Lemon's stack (400 entries) runs out first: its own message. */
  r = runs(&s, text) == 1 && has(&s.err, "error: expression nested too deeply\n") &&
      has(&s.err, "hint: split it into parts with let");
  ok(r, "1200 nested calls: %.80s", s.err.text);
  free(text);
  still_usable(&s, "deep expressions");
  close_session(&s, "front-end sizes");
}

static void test_host_limits(void)
{
  Session s;
  open_session(&s, 0);
  s.I.limits.max_steps = 50;
  int r = runs(&s, "for i in range(1000) { }\n") == 1 &&
          has(&s.err, "t.moe:1:1: error: this session's limit of 50 steps is reached");
  ok(r, "steps, empty loop body: %.70s", s.err.text);
  ok(runs(&s, "fn f(n) = if n <= 0 then 0 else f(n - 1)\nprint f(100)\n") == 1 &&
     has(&s.err, "this session's limit of 50 steps is reached"), "steps, recursion");
  ok(runs(&s, "fn g(n) = if n <= 0 then 0 else g(n - 1)\nprint g(10)\n") == 0 &&
     has(&s.out, "0"), "a run within the step limit");
  s.I.limits.max_steps = 0;
  s.I.limits.no_files = 1;
  r = runs(&s, "let W = load(\"w.npy\")\n") == 1 &&
      has(&s.err, "t.moe:1:14: error: cannot read 'w.npy': this session may not read files");
  ok(r, "no files, load: %.80s", s.err.text);
  ok(runs(&s, "law E = empirical(\"d.csv\")\n") == 1 &&
     has(&s.err, "cannot read 'd.csv': this session may not read files"), "no files, empirical");
  r = runs(&s, "import \"lib.moe\"\n") == 1 &&
      has(&s.err, "t.moe:1:8: error: cannot import 'lib.moe': this session may not read files");
  ok(r, "no files, import: %.80s", s.err.text);
  s.I.limits.no_files = 0;
  s.I.limits.max_samples = 500;
  r = runs(&s, "law X = normal(dim = 2)\nrouter r = linear(W = [[1, 0], [0, 1]])\n"
              "print boundary_mass(r, X, w = [0.1], method = \"mc\", samples = 1e9).samples\n") == 0 &&
      has(&s.out, "500");
  ok(r, "samples clamped to the host's limit: %s", s.out.text);
  /* Training: every step counts against the budget, checked before any runs. */
  s.I.limits.max_steps = 200;
  static const char *model =
      "law X%d = normal(dim = 2)\nrouter r%d = linear(W = [[1, 0], [0, 1]])\n"
      "model m%d = moe(r%d, [affine([1, 0], 0), affine([0, 1], 0)])\n"
      "target t%d = teacher(r%d, [affine([2, 0], 0), affine([0, 2], 0)])\n";
  char text[1024], defs[512];
  snprintf(defs, sizeof defs, model, 1, 1, 1, 1, 1, 1);
  snprintf(text, sizeof text, "%strain m1 on t1 under X1 with schedule = 0.5, steps = 1e15\n", defs);
  r = runs(&s, text) == 1 &&
      has(&s.err, "t.moe:5:1: error: train asks for 1000000000000000 steps; "
                  "this session has 195 of its limit of 200 steps left");
  ok(r, "training steps beyond the budget refused at once: %.140s", s.err.text);
  snprintf(defs, sizeof defs, model, 2, 2, 2, 2, 2, 2);
  snprintf(text, sizeof text, "%strain m2 on t2 under X2 with schedule = 0.5, steps = 20, "
           "batch = 1e9\nprint m2.router.W\n", defs);
  r = runs(&s, text) == 0;   /* before reading s.err: runs() replaces it */
  ok(r, "20 steps of a clamped batch of 1e9 run within the limits: %.140s", s.err.text);
  s.I.limits.max_steps = 0;
  still_usable(&s, "host limits");
  close_session(&s, "host limits");
}

static void test_ceiling(void)
{
  Session s;
  open_session(&s, 64u << 20);
  int r = runs(&s, "let v = zeros(1e8)\n") == 1 && has(&s.err, "t.moe:1:9: error: out of memory");
  ok(r, "a vector over the ceiling: %.80s", s.err.text);
  ok(s.a.failures > 0, "the ceiling refused %ld requests", s.a.failures);
  ok(runs(&s, "let v = zeros(1e6)\nprint sum(v)\n") == 0 && has(&s.out, "0"),
     "below the ceiling: fine");
  /* Monte Carlo streams blocks: a billion samples need no more memory than
   * a thousand (only time), so the ceiling does not stop them; the step
   * is small here so the test stays fast. */
  size_t before = s.a.peak_bytes;
  ok(runs(&s, "law X = normal(dim = 2)\nrouter r = linear(W = [[1, 0], [0, 1]])\n"
              "print boundary_mass(r, X, w = [0.1], method = \"mc\", samples = 4e5).samples\n") == 0,
     "400000 samples under a 64 MiB ceiling");
  printf("# peak %zu bytes before, %zu after\n", before, s.a.peak_bytes);
  still_usable(&s, "ceiling");
  close_session(&s, "ceiling");
}

int main(void)
{
  test_front_end_sizes();
  test_host_limits();
  test_ceiling();
  return tap_done();
}
