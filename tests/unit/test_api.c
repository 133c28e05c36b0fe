/*
 * test_api.c — the libmoe embedding API (moe.h), linked against libmoe.so
 * as a host would be: every function with its successes and each of its
 * errors (exact messages), the state staying usable after any error, the
 * host's allocator seeing every byte (counted, tagged, and failed at each
 * allocation of opening a state and of a few calls), output and
 * diagnostics reaching only the callbacks (never file descriptors 1 and
 * 2), scripts in the C locale whatever the host's, and two states on two
 * threads at once giving the same numbers as each alone.
 */
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "moe.h"
#include "../tap.h"

/* ------------------------------------------------------------ the host's allocator */

/* Counts live blocks and tags each with a header, so a block the library
 * did not get from this allocator (a foreign free) is noticed, and can
 * fail the n-th allocation or growth from now. */
typedef struct Heap {
  long live, allocs, foreign;
  long fail_after;       /* -1: never */
} Heap;

#define TAG 0x6d6f6521u
#define HEAD 16

static void *heap_realloc(void *ptr, size_t size, void *ud)
{
  Heap *h = ud;
  unsigned char *base = ptr ? (unsigned char *)ptr - HEAD : NULL;
  if (base && *(uint32_t *)base != TAG) {
    h->foreign++;
    return NULL;
  }
  if (size == 0) {
    if (base) {
      h->live--;
      *(uint32_t *)base = 0;
      free(base);
    }
    return NULL;
  }
  if (h->fail_after >= 0 && h->fail_after-- == 0)
    return NULL;
  unsigned char *nb = realloc(base, size + HEAD);
  if (!nb)
    return NULL;
  *(uint32_t *)nb = TAG;
  if (!base) {
    h->live++;
    h->allocs++;
  }
  return nb + HEAD;
}

/* ------------------------------------------------------------ captured output */

typedef struct Text {
  char *s;
  size_t len;
  int calls;
} Text;

static void append(void *ud, const char *s, size_t n)
{
  Text *t = ud;
  t->s = realloc(t->s, t->len + n + 1);
  memcpy(t->s + t->len, s, n);
  t->len += n;
  t->s[t->len] = '\0';
  t->calls++;
}

static void reset(Text *t)
{
  free(t->s);
  memset(t, 0, sizeof *t);
}

static int has(const Text *t, const char *needle)
{
  return t->s && strstr(t->s, needle) != NULL;
}

/* A state with the counting allocator and both callbacks captured. */
typedef struct Host {
  Heap heap;
  Text out, err;
  moe_State *S;
} Host;

static void host_open(Host *h)
{
  memset(h, 0, sizeof *h);
  h->heap.fail_after = -1;
  moe_Config c;
  moe_config_init(&c);
  c.realloc_fn = heap_realloc;
  c.alloc_ud = &h->heap;
  c.write = append;
  c.write_ud = &h->out;
  c.error = append;
  c.error_ud = &h->err;
  c.threads = 2;
  h->S = moe_open(&c);
  if (!h->S) {
    printf("Bail out! moe_open failed\n");
    exit(1);
  }
}

static void host_close(Host *h, const char *what)
{
  moe_close(h->S);
  ok(h->heap.live == 0 && h->heap.foreign == 0,
     "%s: moe_close frees every block (%ld live, %ld foreign frees, %ld allocations)", what,
     h->heap.live, h->heap.foreign, h->heap.allocs);
  reset(&h->out);
  reset(&h->err);
}

static int run(Host *h, const char *text)
{
  reset(&h->out);
  reset(&h->err);
  return moe_run_string(h->S, text, "t.moe");
}

static const char *msg(moe_State *S) { return moe_last_error(S)->message; }

/* Text for a TAP line: newlines shown as \n, at most 200 bytes. */
static const char *oneline(const char *s)
{
  static char buf[2][256];
  static int k;
  char *b = buf[k++ & 1];
  size_t n = 0;
  for (; s && *s && n < 200; s++) {
    if (*s == '\n') {
      b[n++] = '\\';
      b[n++] = 'n';
    } else {
      b[n++] = *s;
    }
  }
  b[n] = '\0';
  return s ? b : "(null)";
}

/* The state still runs scripts and kept the variable `keep` (a number). */
static void still_usable(Host *h, const char *keep, double want, const char *what)
{
  double x = 0;
  int st = moe_get_number(h->S, keep, &x);
  ok(st == MOE_OK && x == want, "%s: '%s' is still %g", what, keep, want);
  ok(run(h, "print 6 * 7\n") == MOE_OK && has(&h->out, "42"), "%s: the state still runs scripts",
     what);
}

/* ------------------------------------------------------------ scripts */

/* W and b come from the host. */
static const char SETUP[] =
    "law X = normal(mean = [0, 0], cov = [[1, 0.3], [0.3, 1]])\n"
    "router r = linear(W = W, b = b)\n"
    "expert f1 = affine(beta = [1, 0], c = 0.5)\n"
    "expert f2 = affine(beta = [0, 1], c = -0.5)\n"
    "model m = moe(router = r, experts = [f1, f2])\n"
    "target y(x) = 0.5 * x[0] + 0.2 * x[1] noise 0.1\n"
    "schedule T = geometric(from = 1, to = 1e-4, steps = 5)\n"
    "let d = boundary_density(r, X)\n"
    "let dmc = boundary_density(r, X, method = \"mc\", samples = 100_000)\n"
    "let bm = boundary_mass(r, X, w = [0.001, 0.01, 0.1])\n"
    "let mg = margin(r, at = [[0.1, -0.4], [1, 2], [0, 0]])\n"
    "let g = gate(m, at = [0.2, 0.1], tau = 0.5)\n"
    "let rk = risk(m, y, X, T)\n"
    "let n = 3\n"
    "let flag = n > 2\n"
    "let s = \"hello\"\n"
    "let v = [1.5, 2.5, 3.5]\n"
    "let M = [[1, 2, 3], [4, 5, 6]]\n"
    "let empty = zeros(0)\n"
    "let items = [\"a\", \"b\"]\n"
    "fn sq(x) = x * x\n"
    "print rk.hard, rk.kappa, rk.soft[4], rk.gap[0], d.value\n";

static const double W2[] = {1, 0.5, -1, 0.5}, B2[] = {0.2, 0};

static void setup(Host *h)
{
  host_open(h);
  if (moe_set_matrix(h->S, "W", W2, 2, 2) || moe_set_vector(h->S, "b", B2, 2) ||
      run(h, SETUP) != MOE_OK) {
    printf("Bail out! the setup script failed: %s\n%s", msg(h->S), h->err.s ? h->err.s : "");
    exit(1);
  }
}

/* ------------------------------------------------------------ tests */

static void test_open_close(void)
{
  moe_Config c;
  memset(&c, 0xff, sizeof c);
  moe_config_init(&c);
  ok(c.realloc_fn == NULL && c.write == NULL && c.error == NULL && c.threads == 0 &&
         c.no_ffi == 0 && c.alloc_ud == NULL,
     "moe_config_init zeroes every field");
  moe_config_init(NULL);
  ok(1, "moe_config_init accepts NULL");

  moe_State *S = moe_open(NULL);
  ok(S != NULL, "moe_open(NULL) opens a state with the defaults");
  ok(moe_run_string(S, "let x = 2 ^ 10\nprint x\n", NULL) == MOE_OK,
     "a state with no writer runs a script that prints (the output is discarded)");
  double x = 0;
  ok(moe_get_number(S, "x", &x) == MOE_OK && x == 1024, "and keeps its variables");
  ok(moe_get_number(S, "pi", &x) == MOE_OK && fabs(x - M_PI) < 1e-15,
     "the prelude is loaded (pi)");
  moe_close(S);
  moe_close(NULL);
  ok(1, "moe_close accepts NULL");
  ok_str(moe_version(), PACKAGE_VERSION, "moe_version is the package version");
  ok(moe_last_error(NULL) == NULL, "moe_last_error(NULL) is NULL");
}

static void test_allocator(void)
{
  Host h;
  setup(&h);
  ok(h.heap.allocs > 100, "the host allocator serves the state (%ld allocations)", h.heap.allocs);
  ok(h.heap.foreign == 0, "and never sees a block it did not allocate");
  host_close(&h, "after queries");
}

/* Every allocation of moe_open failing in turn: NULL and nothing leaked,
 * or a working state. */
static void test_open_faults(void)
{
  long n = 0, nulls = 0, leaks = 0, broken = 0;
  for (;; n++) {
    Heap heap = {0, 0, 0, n};
    moe_Config c;
    moe_config_init(&c);
    c.realloc_fn = heap_realloc;
    c.alloc_ud = &heap;
    moe_State *S = moe_open(&c);
    int reached = heap.fail_after < 0;
    heap.fail_after = -1;
    if (!S) {
      nulls++;
    } else {
      double x;
      if (moe_run_string(S, "let x = 6 * 7\n", NULL) != MOE_OK || moe_get_number(S, "x", &x) ||
          x != 42)
        broken++;
      moe_close(S);
    }
    leaks += heap.live != 0 || heap.foreign != 0;
    if (!reached)
      break;
    if (n > 100000)
      break;
  }
  ok(nulls == n && leaks == 0 && broken == 0,
     "moe_open with each of its %ld allocations failing: NULL each time, nothing leaked "
     "(%ld NULL, %ld leaked, %ld broken)", n, nulls, leaks, broken);
}

/* Each allocation of a few calls failing in turn: the call reports out of
 * memory, and the state is whole afterwards. */
static void test_call_faults(void)
{
  static const char *const what[] = {"moe_set_vector", "moe_set_string", "moe_run_string",
                                     "moe_complete", "moe_run_file (missing)"};
  for (int k = 0; k < 5; k++) {
    long n = 0, bad = 0, unusable = 0;
    Host h;
    setup(&h);
    for (;; n++) {
      h.heap.fail_after = n;
      double v[] = {1, 2, 3};
      int st;
      switch (k) {
      case 0: st = moe_set_vector(h.S, "hv", v, 3); break;
      case 1: st = moe_set_string(h.S, "hs", "text"); break;
      case 2: st = run(&h, "let w2 = v * 2 + sum(v)\n"); break;
      case 3: st = moe_complete(h.S, "let z = [1,\n 2"); break;
      default: st = moe_run_file(h.S, "/nonexistent/dir/x.moe"); break;
      }
      int reached = h.heap.fail_after < 0;
      h.heap.fail_after = -1;
      if (!reached)
        break;
      const char *m = msg(h.S);
      int expected = k == 4 ? MOE_EIO : k == 3 ? MOE_INCOMPLETE : MOE_OK;
      if (st != expected && !(st == MOE_ERROR && strstr(m, "out of memory")))
        bad++;
      double x;
      if (moe_get_number(h.S, "n", &x) || x != 3 || run(&h, "print 1 + 1\n") != MOE_OK)
        unusable++;
      if (k == 2 && st == MOE_OK)
        break;   /* defined: the script cannot run twice */
    }
    ok(bad == 0 && unusable == 0,
       "%s with each of its %ld allocations failing: out of memory or success, the state whole "
       "(%ld other results, %ld unusable)", what[k], n, bad, unusable);
    host_close(&h, what[k]);
  }
}

static void test_run_string(void)
{
  Host h;
  setup(&h);
  ok(has(&h.out, "0.3969525474770118"), "the writer receives print output: %s", oneline(h.out.s));
  ok(h.err.s == NULL, "a clean run sends nothing to the error sink");
  ok_str(msg(h.S), "", "after a success the last error is empty");
  ok(moe_last_error(h.S)->file == NULL && moe_last_error(h.S)->line == 0 &&
         moe_last_error(h.S)->hint == NULL,
     "with no position and no hint");

  ok(run(&h, "report boundary_density(r, X)\n") == MOE_OK &&
         has(&h.out, "boundary_density(r, X): exact") && has(&h.out, "value   0.3969525475"),
     "a report goes to the writer as text");

  ok(moe_run_string(NULL, "print 1", NULL) == MOE_EUSAGE, "moe_run_string(NULL, ...) is MOE_EUSAGE");
  ok(moe_run_string(h.S, NULL, NULL) == MOE_EUSAGE, "NULL text is MOE_EUSAGE");
  ok_str(msg(h.S), "moe_run_string: text is NULL", "with a message");

  /* A syntax error: position, hint, every diagnostic to the sink. */
  int st = run(&h, "let a = 1\nlet q = nrmal(1)\nlet z = )\n");
  const moe_Error *e = moe_last_error(h.S);
  ok(st == MOE_ERROR, "a script with errors is MOE_ERROR");
  ok_str(e->message, "unmatched ')'", "the last error is the first diagnostic");
  ok(e->file && strcmp(e->file, "t.moe") == 0 && e->line == 3 && e->column == 9,
     "with its file, line and column (%s:%d:%d)", e->file ? e->file : "(null)", e->line, e->column);
  ok(has(&h.err, "t.moe:3:9: error: unmatched ')'\n    3 | let z = )\n      |         ^"),
     "the error sink receives the rendered diagnostic: %s", oneline(h.err.s));
  ok(h.err.calls == 1, "once per run (%d calls)", h.err.calls);
  still_usable(&h, "n", 3, "after a syntax error");

  st = run(&h, "let q = nrmal(1)\n");
  e = moe_last_error(h.S);
  ok(st == MOE_ERROR && strcmp(e->message, "unknown name 'nrmal'") == 0 && e->line == 1 &&
         e->column == 9 && e->hint && strcmp(e->hint, "did you mean 'normal'?") == 0,
     "an unknown name: message, position and hint (%s; %s)", e->message, e->hint ? e->hint : "-");
  still_usable(&h, "n", 3, "after an unknown name");

  st = run(&h, "let ok1 = 5\nlet bad = 1 / 0\nlet after = 1\n");
  ok(st == MOE_ERROR && strcmp(msg(h.S), "division by zero (1 / 0)") == 0 &&
         moe_last_error(h.S)->line == 2,
     "a runtime error: %s at line %d", msg(h.S), moe_last_error(h.S)->line);
  double x = 0;
  ok(moe_get_number(h.S, "ok1", &x) == MOE_OK && x == 5,
     "what ran before a runtime error stays defined");
  int kind = -1;
  ok(moe_get_kind(h.S, "after", &kind) == MOE_ERROR && kind == MOE_NONE,
     "what comes after it is not");
  still_usable(&h, "n", 3, "after a runtime error");

  st = run(&h, "let n = 4\n");
  ok(st == MOE_ERROR && strcmp(msg(h.S), "'n' is already defined") == 0,
     "a later script cannot redefine a name: %s", msg(h.S));
  ok(moe_get_number(h.S, "n", &x) == MOE_OK && x == 3, "and the old value stays");

  reset(&h.err);
  ok(moe_run_string(h.S, "let q = )", NULL) == MOE_ERROR &&
         strcmp(moe_last_error(h.S)->file, "<string>") == 0 && has(&h.err, "<string>:1:9: error"),
     "a NULL name labels the text \"<string>\"");
  host_close(&h, "moe_run_string");
}

static char tmpdir[64];

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
}

static void test_run_file(void)
{
  Host h;
  setup(&h);
  char main_path[128], lib_path[128], bad_path[128];
  snprintf(main_path, sizeof main_path, "%s/main.moe", tmpdir);
  snprintf(lib_path, sizeof lib_path, "%s/helpers.moe", tmpdir);
  snprintf(bad_path, sizeof bad_path, "%s/bad.moe", tmpdir);
  write_file(lib_path, "fn triple(x) = 3 * x\n");
  write_file(main_path, "import \"helpers.moe\"\nlet t9 = triple(n)\nprint t9\n");
  write_file(bad_path, "let ok2 = 1\nlet oops = nosuch + 1\n");
  reset(&h.out);
  double x = 0;
  ok(moe_run_file(h.S, main_path) == MOE_OK && moe_get_number(h.S, "t9", &x) == MOE_OK && x == 9,
     "moe_run_file runs a file, its import found beside it (t9 = %g)", x);

  int st = moe_run_file(h.S, bad_path);
  const moe_Error *e = moe_last_error(h.S);
  ok(st == MOE_ERROR && e->file && strcmp(e->file, bad_path) == 0 && e->line == 2 &&
         e->column == 12 && strcmp(e->message, "unknown name 'nosuch'") == 0,
     "an error in a file names the file (%s:%d:%d: %s)", e->file ? e->file : "-", e->line,
     e->column, e->message);

  char missing[160];
  snprintf(missing, sizeof missing, "%s/missing.moe", tmpdir);
  reset(&h.err);
  st = moe_run_file(h.S, missing);
  char want[256];
  snprintf(want, sizeof want, "cannot open '%s': No such file or directory", missing);
  ok(st == MOE_EIO, "a missing file is MOE_EIO");
  ok_str(msg(h.S), want, "with the path in the message");
  ok(moe_last_error(h.S)->file == NULL && moe_last_error(h.S)->line == 0,
     "and no source position");
  snprintf(want, sizeof want, "error: cannot open '%s': No such file or directory\n", missing);
  ok_str(h.err.s, want, "the error sink receives it too");
  st = moe_run_file(h.S, tmpdir);
  ok(st == MOE_EIO && strstr(msg(h.S), "Is a directory"), "a directory is MOE_EIO: %s", msg(h.S));
  still_usable(&h, "n", 3, "after a missing file");

  ok(moe_run_file(NULL, main_path) == MOE_EUSAGE, "moe_run_file(NULL, ...) is MOE_EUSAGE");
  ok(moe_run_file(h.S, NULL) == MOE_EUSAGE, "a NULL path is MOE_EUSAGE");
  ok_str(msg(h.S), "moe_run_file: path is NULL", "with a message");
  unlink(main_path);
  unlink(lib_path);
  unlink(bad_path);
  host_close(&h, "moe_run_file");
}

static void test_complete(void)
{
  static const struct {
    const char *text;
    int want;
    const char *message;
  } cases[] = {
      {"let x = 1", MOE_OK, NULL},
      {"let x = 1\n", MOE_OK, NULL},
      {"", MOE_OK, NULL},
      {"# only a comment\n", MOE_OK, NULL},
      {"law X = normal(dim = 2)\nrouter r = linear(W = [[1, 0], [0, 1]])\n", MOE_OK, NULL},
      {"let x = (1 +", MOE_INCOMPLETE, NULL},
      {"let x = [1, 2,\n", MOE_INCOMPLETE, NULL},
      {"print 1 +", MOE_INCOMPLETE, NULL},
      {"print 1 +\n", MOE_INCOMPLETE, NULL},
      {"let s = \"abc", MOE_INCOMPLETE, NULL},
      {"fn f(x) =", MOE_INCOMPLETE, NULL},
      {"for t in [1, 2] {\n  print t\n", MOE_INCOMPLETE, NULL},
      {"let ok = 1\nlet y = sin(", MOE_INCOMPLETE, NULL},
      {"let x = )", MOE_ERROR, "unmatched ')'"},
      {"let = 3", MOE_ERROR, "unexpected '='"},
      {"x +* 2\n", MOE_ERROR, "unexpected '*'"},
      {"let x = )\nlet y = (", MOE_ERROR, "unmatched ')'"},
  };
  Host h;
  host_open(&h);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int st = moe_complete(h.S, cases[i].text);
    const char *m = msg(h.S);
    ok(st == cases[i].want && (cases[i].message ? strcmp(m, cases[i].message) == 0 : !*m),
       "moe_complete(\"%s\") is %d (got %d, \"%s\")", oneline(cases[i].text), cases[i].want, st, m);
  }
  moe_complete(h.S, "let a = 1\nlet x = )");
  const moe_Error *e = moe_last_error(h.S);
  ok(e->file && strcmp(e->file, "<input>") == 0 && e->line == 2 && e->column == 9,
     "a definite error has its line and column in the text (%d:%d)", e->line, e->column);
  int kind;
  ok(moe_get_kind(h.S, "a", &kind) == MOE_ERROR,
     "moe_complete defines nothing (it only parses)");
  ok(h.err.s == NULL && h.out.s == NULL, "and sends nothing to the writer or the error sink");
  ok(moe_complete(NULL, "x") == MOE_EUSAGE, "moe_complete(NULL, ...) is MOE_EUSAGE");
  ok(moe_complete(h.S, NULL) == MOE_EUSAGE && strcmp(msg(h.S), "moe_complete: text is NULL") == 0,
     "NULL text is MOE_EUSAGE with a message");
  host_close(&h, "moe_complete");
}

static void test_get(void)
{
  Host h;
  setup(&h);
  static const struct {
    const char *name;
    int kind;
    const char *kind_name;
  } kinds[] = {
      {"n", MOE_NUMBER, "number"},     {"flag", MOE_BOOL, "bool"},
      {"s", MOE_STRING, "string"},     {"v", MOE_VECTOR, "vector"},
      {"M", MOE_MATRIX, "matrix"},     {"items", MOE_LIST, "list"},
      {"sq", MOE_FUNCTION, "function"}, {"X", MOE_LAW, "law"},
      {"r", MOE_ROUTER, "router"},     {"f1", MOE_EXPERT, "expert"},
      {"y", MOE_TARGET, "target"},     {"m", MOE_MODEL, "model"},
      {"T", MOE_SCHEDULE, "schedule"}, {"rk", MOE_RESULT, "result"},
      {"phi", MOE_FUNCTION, "function"},
  };
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    int k = -1;
    int st = moe_get_kind(h.S, kinds[i].name, &k);
    ok(st == MOE_OK && k == kinds[i].kind && strcmp(moe_kind_name(k), kinds[i].kind_name) == 0,
       "moe_get_kind('%s') is %s (got %s)", kinds[i].name, kinds[i].kind_name, moe_kind_name(k));
  }
  ok_str(moe_kind_name(MOE_GATE), "gate", "moe_kind_name(MOE_GATE)");
  ok_str(moe_kind_name(MOE_NONE), "nothing", "moe_kind_name(MOE_NONE)");
  ok_str(moe_kind_name(MOE_COLUMN), "column", "moe_kind_name(MOE_COLUMN)");
  ok_str(moe_kind_name(999), "?", "moe_kind_name of an unknown kind");
  int k = 7;
  ok(moe_get_kind(h.S, "nope", &k) == MOE_ERROR && k == MOE_NONE, "an unknown name: MOE_ERROR, MOE_NONE");
  ok_str(msg(h.S), "no variable 'nope'", "moe_get_kind: unknown name message");

  double x = 0;
  ok(moe_get_number(h.S, "n", &x) == MOE_OK && x == 3, "moe_get_number");
  ok(moe_get_number(h.S, "v", &x) == MOE_ERROR, "moe_get_number on a vector is MOE_ERROR");
  ok_str(msg(h.S), "'v' is a vector, not a number", "moe_get_number: kind message");
  ok(moe_get_number(h.S, "nope", &x) == MOE_ERROR, "moe_get_number on an unknown name is MOE_ERROR");
  ok_str(msg(h.S), "no variable 'nope'", "moe_get_number: unknown name message");

  int b = -1;
  ok(moe_get_bool(h.S, "flag", &b) == MOE_OK && b == 1, "moe_get_bool");
  ok(moe_get_bool(h.S, "n", &b) == MOE_ERROR, "moe_get_bool on a number is MOE_ERROR");
  ok_str(msg(h.S), "'n' is a number, not a bool", "moe_get_bool: kind message");

  const char *s = NULL;
  size_t len = 0;
  ok(moe_get_string(h.S, "s", &s, &len) == MOE_OK && strcmp(s, "hello") == 0 && len == 5,
     "moe_get_string");
  ok(moe_get_string(h.S, "s", &s, NULL) == MOE_OK, "moe_get_string with len NULL");
  ok(moe_get_string(h.S, "M", &s, &len) == MOE_ERROR, "moe_get_string on a matrix is MOE_ERROR");
  ok_str(msg(h.S), "'M' is a matrix, not a string", "moe_get_string: kind message");

  const double *d = NULL;
  size_t n = 0, rows = 0, cols = 0;
  ok(moe_get_vector(h.S, "v", &d, &n) == MOE_OK && n == 3 && d[0] == 1.5 && d[2] == 3.5,
     "moe_get_vector");
  ok(moe_get_vector(h.S, "empty", &d, &n) == MOE_OK && n == 0 && d != NULL,
     "moe_get_vector of an empty vector: n 0, a valid pointer");
  ok(moe_get_vector(h.S, "n", &d, &n) == MOE_ERROR, "moe_get_vector on a number is MOE_ERROR");
  ok_str(msg(h.S), "'n' is a number, not a vector", "moe_get_vector: kind message");
  ok(moe_get_matrix(h.S, "M", &d, &rows, &cols) == MOE_OK && rows == 2 && cols == 3 &&
         d[0] == 1 && d[2] == 3 && d[3] == 4 && d[5] == 6,
     "moe_get_matrix: rows, cols, row-major");
  ok(moe_get_matrix(h.S, "r", &d, &rows, &cols) == MOE_ERROR, "moe_get_matrix on a router is MOE_ERROR");
  ok_str(msg(h.S), "'r' is a router, not a matrix", "moe_get_matrix: kind message");
  ok(moe_get_matrix(h.S, "v", &d, &rows, &cols) == MOE_ERROR, "moe_get_matrix on a vector is MOE_ERROR");

  /* Usage errors, each with a message. */
  ok(moe_get_number(NULL, "n", &x) == MOE_EUSAGE, "moe_get_number(NULL, ...) is MOE_EUSAGE");
  ok(moe_get_number(h.S, NULL, &x) == MOE_EUSAGE, "a NULL name is MOE_EUSAGE");
  ok_str(msg(h.S), "moe_get_number: name is NULL", "with a message");
  ok(moe_get_number(h.S, "n", NULL) == MOE_EUSAGE, "a NULL output is MOE_EUSAGE");
  ok_str(msg(h.S), "moe_get_number: the output pointer is NULL", "with a message");
  ok(moe_get_number(h.S, "2x", &x) == MOE_EUSAGE, "a malformed name is MOE_EUSAGE");
  ok_str(msg(h.S), "moe_get_number: '2x' is not a name a script could use", "with a message");
  ok(moe_get_kind(NULL, "n", &k) == MOE_EUSAGE && moe_get_kind(h.S, "n", NULL) == MOE_EUSAGE,
     "moe_get_kind: NULL state or output is MOE_EUSAGE");
  ok(moe_get_bool(NULL, "flag", &b) == MOE_EUSAGE && moe_get_bool(h.S, NULL, &b) == MOE_EUSAGE,
     "moe_get_bool: NULL state or name is MOE_EUSAGE");
  ok(moe_get_string(NULL, "s", &s, &len) == MOE_EUSAGE &&
         moe_get_string(h.S, "s", NULL, &len) == MOE_EUSAGE,
     "moe_get_string: NULL state or output is MOE_EUSAGE");
  ok(moe_get_vector(NULL, "v", &d, &n) == MOE_EUSAGE && moe_get_vector(h.S, "v", NULL, &n) == MOE_EUSAGE &&
         moe_get_vector(h.S, "v", &d, NULL) == MOE_EUSAGE,
     "moe_get_vector: NULL state or outputs are MOE_EUSAGE");
  ok(moe_get_matrix(NULL, "M", &d, &rows, &cols) == MOE_EUSAGE &&
         moe_get_matrix(h.S, "M", &d, NULL, &cols) == MOE_EUSAGE &&
         moe_get_matrix(h.S, "M", &d, &rows, NULL) == MOE_EUSAGE &&
         moe_get_matrix(h.S, "M", NULL, &rows, &cols) == MOE_EUSAGE,
     "moe_get_matrix: NULL state or outputs are MOE_EUSAGE");
  ok(moe_get_number(h.S, "n", &x) == MOE_OK && *msg(h.S) == '\0',
     "a successful call clears the last error");
  still_usable(&h, "n", 3, "after lookup errors");
  host_close(&h, "getters");
}

static void test_set(void)
{
  Host h;
  setup(&h);
  ok(1, "a script using host-defined W and b checked and ran (the setup)");
  ok(moe_set_number(h.S, "tau", 0.25) == MOE_OK, "moe_set_number");
  double cov[] = {2, 0.5, 0.5, 1};
  ok(moe_set_matrix(h.S, "C", cov, 2, 2) == MOE_OK, "moe_set_matrix");
  double mean[] = {0.5, -0.25};
  ok(moe_set_vector(h.S, "mu", mean, 2) == MOE_OK, "moe_set_vector");
  ok(moe_set_string(h.S, "label", "from the host") == MOE_OK, "moe_set_string");
  int st = run(&h, "law Z = normal(mean = mu, cov = C)\n"
                   "print tau * 4, len(mu), Z.cov[0][1], label\n"
                   "let g2 = gate(m, at = mu, tau = tau)\n");
  ok(st == MOE_OK && has(&h.out, "1 2 0.5 from the host"),
     "a later script reads them, checked and run (%s)", oneline(h.out.s ? h.out.s : msg(h.S)));
  double x = 0;
  ok(moe_get_number(h.S, "tau", &x) == MOE_OK && x == 0.25, "moe_get_number reads a host number back");

  ok(moe_set_number(h.S, "tau", 0.5) == MOE_OK && run(&h, "print tau\n") == MOE_OK &&
         has(&h.out, "0.5"),
     "the host may replace its variable with one of the same kind");
  double v4[] = {1, 2, 3, 4};
  ok(moe_set_vector(h.S, "mu", v4, 4) == MOE_OK && run(&h, "print len(mu)\n") == MOE_OK &&
         has(&h.out, "4"),
     "a vector may change length");
  ok(moe_set_vector(h.S, "ev", NULL, 0) == MOE_OK && run(&h, "print len(ev)\n") == MOE_OK &&
         has(&h.out, "0"),
     "an empty vector (NULL data)");

  st = run(&h, "let tau = 3\n");
  ok(st == MOE_ERROR && strcmp(msg(h.S), "'tau' is already defined") == 0 &&
         moe_last_error(h.S)->hint &&
         strcmp(moe_last_error(h.S)->hint,
                "the host program defined it (moe_set_*); choose another name") == 0,
     "a script redefining a host variable is told the host defined it");

  ok(moe_set_number(h.S, "X", 1) == MOE_ERROR, "a law cannot be replaced by a number");
  ok_str(msg(h.S), "moe_set_number: 'X' is a law; only a number can replace it", "with a message");
  ok(moe_set_vector(h.S, "n", v4, 2) == MOE_ERROR, "a number cannot be replaced by a vector");
  ok_str(msg(h.S), "moe_set_vector: 'n' is a number; only a vector can replace it", "with a message");
  ok(moe_set_matrix(h.S, "v", v4, 2, 2) == MOE_ERROR, "a vector cannot be replaced by a matrix");
  ok(moe_set_string(h.S, "n", "x") == MOE_ERROR, "a number cannot be replaced by a string");
  ok(moe_get_kind(h.S, "X", &st) == MOE_OK && st == MOE_LAW, "the law is still there");

  ok(moe_set_number(h.S, "pi", 3) == MOE_OK, "a prelude number may be replaced");
  ok(moe_set_number(h.S, "law", 1) == MOE_OK && run(&h, "print law + 1\n") == MOE_OK &&
         has(&h.out, "2"),
     "soft keywords are names (law)");
  ok(moe_set_number(h.S, "let", 1) == MOE_EUSAGE, "a reserved word is MOE_EUSAGE");
  ok_str(msg(h.S), "moe_set_number: 'let' is not a name a script could use", "with a message");
  ok(moe_set_number(h.S, "a-b", 1) == MOE_EUSAGE && moe_set_number(h.S, "", 1) == MOE_EUSAGE &&
         moe_set_number(h.S, "_ok9", 1) == MOE_OK,
     "names are identifiers");
  ok(moe_set_number(h.S, "q", NAN) == MOE_EUSAGE, "a NaN is MOE_EUSAGE");
  ok_str(msg(h.S), "moe_set_number: 'q' would be nan, not a finite number", "with a message");
  double bad[] = {1, INFINITY};
  ok(moe_set_vector(h.S, "q", bad, 2) == MOE_EUSAGE, "an infinite element is MOE_EUSAGE");
  ok_str(msg(h.S), "moe_set_vector: element 1 of 'q' is inf, not a finite number", "with a message");
  ok(moe_set_matrix(h.S, "q", bad, 1, 2) == MOE_EUSAGE, "moe_set_matrix refuses it too");
  ok(moe_set_vector(h.S, "q", NULL, 2) == MOE_EUSAGE, "NULL data with numbers is MOE_EUSAGE");
  ok_str(msg(h.S), "moe_set_vector: data is NULL", "with a message");
  ok(moe_set_matrix(h.S, "q", NULL, 2, 2) == MOE_EUSAGE, "moe_set_matrix: NULL data is MOE_EUSAGE");
  ok(moe_set_matrix(h.S, "q", v4, SIZE_MAX / 2, 4) == MOE_EUSAGE,
     "moe_set_matrix: a size that overflows is MOE_EUSAGE");
  ok(moe_set_string(h.S, "q", NULL) == MOE_EUSAGE, "moe_set_string: NULL string is MOE_EUSAGE");
  ok(moe_set_number(NULL, "q", 1) == MOE_EUSAGE && moe_set_vector(NULL, "q", v4, 1) == MOE_EUSAGE &&
         moe_set_matrix(NULL, "q", v4, 1, 1) == MOE_EUSAGE &&
         moe_set_string(NULL, "q", "x") == MOE_EUSAGE,
     "moe_set_*(NULL, ...) is MOE_EUSAGE");
  ok(moe_set_number(h.S, NULL, 1) == MOE_EUSAGE && moe_set_vector(h.S, NULL, v4, 1) == MOE_EUSAGE &&
         moe_set_matrix(h.S, NULL, v4, 1, 1) == MOE_EUSAGE &&
         moe_set_string(h.S, NULL, "x") == MOE_EUSAGE,
     "moe_set_* with a NULL name is MOE_EUSAGE");
  int kind;
  ok(moe_get_kind(h.S, "q", &kind) == MOE_ERROR, "nothing was defined by the refused calls");

  /* Data is copied: changing the host's array later changes nothing. */
  double mine[] = {7, 8};
  moe_set_vector(h.S, "copied", mine, 2);
  mine[0] = -1;
  const double *d;
  size_t n;
  ok(moe_get_vector(h.S, "copied", &d, &n) == MOE_OK && d[0] == 7, "moe_set_vector copies the data");
  still_usable(&h, "n", 3, "after setter errors");
  host_close(&h, "setters");
}

/* A number the script printed (the line after `marker`), read back. */
static double printed(const Text *t, int index)
{
  const char *p = t->s;
  for (int i = 0; p && i < index; i++) {
    p = strchr(p, ' ');
    if (p)
      p++;
  }
  return p ? strtod(p, NULL) : NAN;
}

static void test_results(void)
{
  Host h;
  setup(&h);
  /* SETUP's last line printed rk.hard, rk.kappa, rk.soft[4], rk.gap[0], d.value. */
  double x = 0;
  ok(moe_result_value(h.S, "d", "value", &x) == MOE_OK && x == printed(&h.out, 4),
     "moe_result_value(d, value) is what the script printed (%.17g)", x);
  ok_near(x, 0.3969525474770118, 1e-15, "the exact boundary density");
  ok(moe_result_value(h.S, "d", "stderr", &x) == MOE_OK && x == 0, "an exact result: stderr 0");
  ok(moe_result_value(h.S, "rk", "hard", &x) == MOE_OK && x == printed(&h.out, 0),
     "moe_result_value(rk, hard) as printed (%.17g)", x);
  ok(moe_result_value(h.S, "rk", "kappa", &x) == MOE_OK && x == printed(&h.out, 1),
     "moe_result_value(rk, kappa) as printed (%.17g)", x);

  const char *s = NULL;
  ok(moe_result_string(h.S, "d", "method", &s) == MOE_OK && strcmp(s, "exact") == 0,
     "moe_result_string(d, method) is exact");
  ok(moe_result_string(h.S, "dmc", "method", &s) == MOE_OK && strcmp(s, "mc") == 0,
     "moe_result_string(dmc, method) is mc");
  ok(moe_result_string(h.S, "rk", "query", &s) == MOE_OK && strcmp(s, "risk") == 0,
     "query is risk");
  ok(moe_result_string(h.S, "d", "objects", &s) == MOE_OK && strcmp(s, "r, X") == 0,
     "objects is the arguments as written (%s)", s);
  ok(moe_result_string(h.S, "d", "path", &s) == MOE_OK && strstr(s, "closed form"),
     "path says how (%s)", s);
  ok(moe_result_string(h.S, "dmc", "bias_control", &s) == MOE_OK && *s,
     "a string field (bias_control)");
  ok(moe_result_value(h.S, "dmc", "samples", &x) == MOE_OK && x == 100000,
     "samples (%g)", x);
  ok(moe_result_value(h.S, "dmc", "seed", &x) == MOE_OK && x == 1, "seed");
  ok(moe_result_value(h.S, "dmc", "seconds", &x) == MOE_OK && x >= 0, "seconds");
  ok(moe_result_value(h.S, "dmc", "partial", &x) == MOE_OK && x == 0, "partial");
  double value = 0, se = 0;
  moe_result_value(h.S, "dmc", "value", &value);
  moe_result_value(h.S, "dmc", "stderr", &se);
  ok(se > 0 && fabs(value - 0.3969525474770118) < 5 * se, "mc: value %g ± %g", value, se);

  const double *d = NULL;
  size_t n = 0, w = 0, rows = 0;
  ok(moe_result_vector(h.S, "dmc", "widths", &d, &n) == MOE_OK && n == 3 && d[0] > 0,
     "moe_result_vector (widths)");

  ok(moe_result_rows(h.S, "rk", &rows) == MOE_OK && rows == 5, "moe_result_rows: a row per tau");
  ok(moe_result_column(h.S, "rk", "tau", &d, &n, NULL) == MOE_OK && n == 5 && d[0] == 1 &&
         fabs(d[4] - 1e-4) < 1e-18,
     "moe_result_column(rk, tau)");
  ok(moe_result_column(h.S, "rk", "soft", &d, &n, &w) == MOE_OK && n == 5 && w == 1 &&
         d[4] == printed(&h.out, 2),
     "moe_result_column(rk, soft) as printed");
  ok(moe_result_column(h.S, "rk", "gap", &d, &n, NULL) == MOE_OK && d[0] == printed(&h.out, 3),
     "moe_result_column(rk, gap) as printed");
  ok(moe_result_column(h.S, "bm", "ratio", &d, &n, NULL) == MOE_OK && n == 3 &&
         fabs(d[0] - 0.396953) < 1e-6,
     "moe_result_column(bm, ratio)");
  ok(moe_result_column(h.S, "mg", "x", &d, &n, &w) == MOE_OK && n == 3 && w == 2 && d[0] == 0.1 &&
         d[1] == -0.4 && d[2] == 1 && d[3] == 2,
     "a column of points: width 2, row-major");
  ok(moe_result_column(h.S, "mg", "top", &d, &n, &w) == MOE_OK && w == 1 && d[0] == 0,
     "an index column holds whole numbers");
  ok(moe_result_column(h.S, "g", "soft", &d, &n, &w) == MOE_OK && n == 1 && w == 2 &&
         fabs(d[0] + d[1] - 1) < 1e-12,
     "gate soft: a vector per row summing to 1");
  ok(moe_result_column(h.S, "mg", "x", &d, &n, NULL) == MOE_EUSAGE,
     "a vector column without a width pointer is MOE_EUSAGE");
  ok_str(msg(h.S), "moe_result_column: column 'x' of 'mg' has 2 numbers per row; pass a width pointer",
         "with a message");
  ok(moe_result_rows(h.S, "d", &rows) == MOE_OK && rows == 0, "a result with no table: 0 rows");

  /* Listing the keys. */
  char keys[512] = "";
  for (size_t i = 0;; i++) {
    const char *k;
    int kind;
    if (moe_result_key(h.S, "rk", i, &k, &kind) != MOE_OK || !k)
      break;
    snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s:%s", i ? " " : "", k,
             moe_kind_name(kind));
  }
  ok_str(keys,
         "hard:number hard_stderr:number kappa:number kappa_stderr:number noise:number "
         "tau:column soft:column soft_stderr:column gap:column "
         "gap_stderr:column gap_over_tau:column",
         "moe_result_key lists the fields, then the columns");
  const char *k = "x";
  int kind = 5;
  ok(moe_result_key(h.S, "d", 99, &k, &kind) == MOE_OK && k == NULL && kind == MOE_NONE,
     "past the last key: MOE_OK, NULL, MOE_NONE");
  ok(moe_result_key(h.S, "d", 0, &k, NULL) == MOE_OK && strcmp(k, "value") == 0,
     "kind may be NULL");

  /* Errors. */
  ok(moe_result_value(h.S, "rk", "nope", &x) == MOE_ERROR, "an unknown key is MOE_ERROR");
  ok_str(msg(h.S), "result 'rk' (risk) has no key 'nope'", "with a message");
  ok_str(moe_last_error(h.S)->hint,
         "it has hard, hard_stderr, kappa, kappa_stderr, noise, tau, soft, "
         "soft_stderr, gap, gap_stderr, gap_over_tau, query, method, path, objects, samples, "
         "seed, seconds, partial",
         "and a hint listing the keys");
  ok(moe_result_value(h.S, "rk", "soft", &x) == MOE_ERROR, "a column read as a number is MOE_ERROR");
  ok_str(msg(h.S), "'soft' of result 'rk' is a column; read it with moe_result_column", "with a message");
  ok(moe_result_value(h.S, "d", "method", &x) == MOE_ERROR, "a string read as a number is MOE_ERROR");
  ok_str(msg(h.S), "'method' of result 'd' is a string; read it with moe_result_string", "with a message");
  ok(moe_result_string(h.S, "d", "value", &s) == MOE_ERROR, "a number read as a string is MOE_ERROR");
  ok_str(msg(h.S), "'value' of result 'd' is a number; read it with moe_result_value", "with a message");
  ok(moe_result_column(h.S, "rk", "hard", &d, &n, NULL) == MOE_ERROR, "a field read as a column is MOE_ERROR");
  ok(moe_result_vector(h.S, "d", "value", &d, &n) == MOE_ERROR, "a number read as a vector is MOE_ERROR");
  ok(moe_result_strings(h.S, "d", "value", NULL, &n) == MOE_EUSAGE, "moe_result_strings: NULL output");
  ok(moe_result_value(h.S, "n", "value", &x) == MOE_ERROR, "a number is not a result");
  ok_str(msg(h.S), "'n' is a number, not a result", "with a message");
  ok(moe_result_value(h.S, "nope", "value", &x) == MOE_ERROR, "an unknown result is MOE_ERROR");
  ok_str(msg(h.S), "no variable 'nope'", "with a message");
  ok(moe_result_rows(h.S, "v", &rows) == MOE_ERROR, "moe_result_rows on a vector is MOE_ERROR");
  ok(moe_result_key(h.S, "v", 0, &k, &kind) == MOE_ERROR, "moe_result_key on a vector is MOE_ERROR");
  ok(moe_result_value(h.S, "d", NULL, &x) == MOE_EUSAGE, "a NULL key is MOE_EUSAGE");
  ok_str(msg(h.S), "moe_result_value: key is NULL", "with a message");
  ok(moe_result_value(NULL, "d", "value", &x) == MOE_EUSAGE &&
         moe_result_string(NULL, "d", "method", &s) == MOE_EUSAGE &&
         moe_result_vector(NULL, "dmc", "widths", &d, &n) == MOE_EUSAGE &&
         moe_result_strings(NULL, "h", "params", NULL, &n) == MOE_EUSAGE &&
         moe_result_rows(NULL, "rk", &rows) == MOE_EUSAGE &&
         moe_result_column(NULL, "rk", "tau", &d, &n, NULL) == MOE_EUSAGE &&
         moe_result_key(NULL, "rk", 0, &k, &kind) == MOE_EUSAGE,
     "every result getter: a NULL state is MOE_EUSAGE");
  ok(moe_result_value(h.S, "d", "value", NULL) == MOE_EUSAGE &&
         moe_result_string(h.S, "d", "method", NULL) == MOE_EUSAGE &&
         moe_result_vector(h.S, "dmc", "widths", &d, NULL) == MOE_EUSAGE &&
         moe_result_rows(h.S, "rk", NULL) == MOE_EUSAGE &&
         moe_result_column(h.S, "rk", "tau", NULL, &n, NULL) == MOE_EUSAGE &&
         moe_result_key(h.S, "rk", 0, NULL, &kind) == MOE_EUSAGE,
     "every result getter: a NULL output is MOE_EUSAGE");
  ok(moe_result_column(h.S, "rk", NULL, &d, &n, NULL) == MOE_EUSAGE &&
         moe_result_string(h.S, "d", NULL, &s) == MOE_EUSAGE,
     "a NULL column or key is MOE_EUSAGE");

  /* A list-of-strings field: the parameters of a Hessian. */
  int st = run(&h, "set seed = 5\n"
                   "law X3 = normal(dim = 3)\n"
                   "expert s3 = affine(beta = [0, 0, 0.2], c = 0.1)\n"
                   "router q(x) = [x[0], x[1] - x[0]]\n"
                   "target t3(x) = x[0] noise 0\n"
                   "model mq = moe(router = q, experts = [s3, s3])\n"
                   "let hq = hessian(mq, t3, X3, tau = 1, samples = 20_000)\n");
  ok(st == MOE_OK, "a hessian query runs (%s)", msg(h.S));
  const char *const *strs = NULL;
  n = 0;
  st = moe_result_strings(h.S, "hq", "params", &strs, &n);
  ok(st == MOE_OK && n == 8 && strcmp(strs[0], "experts[0].beta[0]") == 0 &&
         strcmp(strs[7], "experts[1].c") == 0,
     "moe_result_strings (hessian params: %zu, %s)", n, st ? msg(h.S) : strs[0]);
  ok(moe_result_vector(h.S, "hq", "eigenvalues", &d, &n) == MOE_OK && n == 8 && d[0] <= d[7],
     "moe_result_vector (eigenvalues, ascending)");
  ok(moe_result_value(h.S, "hq", "params", &x) == MOE_ERROR, "a list read as a number is MOE_ERROR");
  ok_str(msg(h.S), "'params' of result 'hq' is a list of strings; read it with moe_result_strings",
         "with a message");
  still_usable(&h, "n", 3, "after result errors");
  host_close(&h, "results");
}

/* Neither the library nor the scripts it runs write to file descriptors 1
 * and 2: everything goes to the callbacks. */
static void test_no_stdio(void)
{
  char path1[128], path2[128];
  snprintf(path1, sizeof path1, "%s/fd1", tmpdir);
  snprintf(path2, sizeof path2, "%s/fd2", tmpdir);
  fflush(stdout);
  fflush(stderr);
  int saved1 = dup(1), saved2 = dup(2);
  int f1 = open(path1, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int f2 = open(path2, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(f1, 1);
  dup2(f2, 2);

  Host h;
  setup(&h);
  int s1 = run(&h, "report boundary_mass(r, X, w = [0.1])\nprint \"hello\"\n");
  size_t out_len = h.out.len;
  int s2 = run(&h, "let q = nrmal(1)\n");
  size_t err_len = h.err.len;
  int s3 = moe_run_file(h.S, "/nonexistent.moe");
  int s4 = moe_complete(h.S, "let x = )");
  double x;
  int s5 = moe_get_number(h.S, "nope", &x);
  moe_close(h.S);
  reset(&h.out);
  reset(&h.err);

  fflush(stdout);
  fflush(stderr);
  dup2(saved1, 1);
  dup2(saved2, 2);
  close(saved1);
  close(saved2);
  struct stat st1, st2;
  fstat(f1, &st1);
  fstat(f2, &st2);
  close(f1);
  close(f2);
  ok(s1 == MOE_OK && out_len > 0 && s2 == MOE_ERROR && err_len > 0 && s3 == MOE_EIO &&
         s4 == MOE_ERROR && s5 == MOE_ERROR,
     "a run with a report, print, errors, a missing file (output to the callbacks)");
  ok(st1.st_size == 0, "nothing was written to stdout (%lld bytes)", (long long)st1.st_size);
  ok(st2.st_size == 0, "nothing was written to stderr (%lld bytes)", (long long)st2.st_size);
  unlink(path1);
  unlink(path2);
}

/* Number literals and printed numbers use a decimal point in any locale. */
static void test_locale(void)
{
  const char *was = setlocale(LC_NUMERIC, NULL);
  char saved[64];
  snprintf(saved, sizeof saved, "%s", was ? was : "C");
  if (!setlocale(LC_NUMERIC, "de_DE.UTF-8") && !setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
    printf("ok %d # SKIP no locale with a decimal comma is installed\n", ++tap_n);
    return;
  }
  Host h;
  host_open(&h);
  int st = run(&h, "let x = 1.5\nprint x * 2, [0.25]\n");
  double x = 0;
  moe_get_number(h.S, "x", &x);
  ok(st == MOE_OK && x == 1.5 && has(&h.out, "3 [0.25]"),
     "in a decimal-comma locale 1.5 is still 1.5 and prints with a point (%s)", oneline(h.out.s));
  host_close(&h, "locale");
  setlocale(LC_NUMERIC, saved);
}

/* ------------------------------------------------------------ two threads */

typedef struct Job {
  const char *script;
  const char *result;
  double value, se;
  int status;
  long leaked;
} Job;

static void *job_main(void *arg)
{
  Job *j = arg;
  Heap heap = {0, 0, 0, -1};
  moe_Config c;
  moe_config_init(&c);
  c.realloc_fn = heap_realloc;
  c.alloc_ud = &heap;
  c.threads = 2;
  moe_State *S = moe_open(&c);
  j->status = S ? moe_run_string(S, j->script, "job.moe") : -1;
  if (!j->status)
    j->status = moe_result_value(S, j->result, "value", &j->value) ||
                moe_result_value(S, j->result, "stderr", &j->se);
  moe_close(S);
  j->leaked = heap.live + heap.foreign;
  return NULL;
}

static void test_threads(void)
{
  static const char *const scripts[2] = {
      "law X = normal(dim = 3)\n"
      "router r = linear(W = [[1, 0, 0], [0, 1, 0], [0, 0, 1]], b = [0, 0.2, 0.1])\n"
      "let a = boundary_density(r, X, method = \"mc\", samples = 100_000, seed = 3)\n",
      "law U = uniform(lo = [-1, -1], hi = [1, 1])\n"
      "router q(x) = [x[0] ^ 2 - x[1], x[1], 0.3]\n"
      "expert f(x) = 2 * x[0] + 1\n"
      "expert g(x) = x[1]\n"
      "target y(x) = sin(x[0]) noise 0\n"
      "model m = moe(router = q, experts = [f, g, f])\n"
      "let b = kappa(m, y, U, samples = 100_000, seed = 7)\n"};
  Job alone[2] = {{scripts[0], "a", 0, 0, 0, 0}, {scripts[1], "b", 0, 0, 0, 0}};
  job_main(&alone[0]);
  job_main(&alone[1]);
  ok(alone[0].status == 0 && alone[1].status == 0, "two scripts run alone (%.17g, %.17g)",
     alone[0].value, alone[1].value);
  int same = 1, status = 0;
  long leaked = 0;
  for (int round = 0; round < 3; round++) {
    Job both[2] = {alone[0], alone[1]};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
      pthread_create(&t[i], NULL, job_main, &both[i]);
    for (int i = 0; i < 2; i++)
      pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
      same &= both[i].value == alone[i].value && both[i].se == alone[i].se;
      status |= both[i].status;
      leaked += both[i].leaked;
    }
  }
  ok(status == 0 && same,
     "two states on two threads at once give the same bits as each alone (3 rounds)");
  ok(leaked == 0 && alone[0].leaked == 0, "each thread's allocator got everything back");
}

int main(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/moe-test-api-XXXXXX");
  if (!mkdtemp(tmpdir)) {
    printf("Bail out! mkdtemp failed\n");
    return 1;
  }
  test_open_close();
  test_allocator();
  test_open_faults();
  test_call_faults();
  test_run_string();
  test_run_file();
  test_complete();
  test_get();
  test_set();
  test_results();
  test_no_stdio();
  test_locale();
  test_threads();
  rmdir(tmpdir);
  return tap_done();
}
