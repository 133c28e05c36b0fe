/*
 * test_hostfn.c — moe_register_fn: host C functions as experts, targets,
 * routers and plain functions, through the public API only (plus
 * api_internal.h to set a host limit).
 *
 * The host functions compute what moe expressions compute, one rounding per
 * operation, so a state using them and a state using the same functions
 * written in moe print the same reports bit for bit.  Also: a failing host
 * function stops the script with a message naming it and the state stays
 * usable; NaN is refused; bad arguments give MOE_EUSAGE; the function is
 * called once per block; --no-ffi and no_files refuse extern.
 */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "moe.h"
#include "../tap.h"

typedef struct Buf {
  char *text;
  size_t len;
} Buf;

static void append(void *ud, const char *s, size_t n)
{
  Buf *b = ud;
  char *t = realloc(b->text, b->len + n + 1);
  if (!t)
    return;
  b->text = t;
  memcpy(b->text + b->len, s, n);
  b->len += n;
  b->text[b->len] = '\0';
}

static void clear(Buf *b)
{
  free(b->text);
  b->text = NULL;
  b->len = 0;
}

static Buf out, err;

static moe_State *open_state(int threads, int no_ffi)
{
  moe_Config c;
  moe_config_init(&c);
  c.write = append;
  c.write_ud = &out;
  c.error = append;
  c.error_ud = &err;
  c.threads = threads;
  c.no_ffi = no_ffi;
  return moe_open(&c);
}

/* Runs text; out and err hold what it wrote. */
static int run(moe_State *S, const char *text)
{
  clear(&out);
  clear(&err);
  return moe_run_string(S, text, "t.moe");
}

/* The output without the times in report headings (", 0.012 s"). */
static char *untimed(const char *s)
{
  char *r = malloc(strlen(s ? s : "") + 1), *w = r;
  for (const char *p = s ? s : ""; *p;) {
    if (p[0] == ',' && p[1] == ' ') {
      const char *q = p + 2;
      while ((*q >= '0' && *q <= '9') || *q == '.')
        q++;
      if (q > p + 2 && q[0] == ' ' && q[1] == 's' && (q[2] == '\n' || !q[2])) {
        p = q + 2;
        continue;
      }
    }
    *w++ = *p++;
  }
  *w = '\0';
  return r;
}

/* ------------------------------------------------------------ host functions */

static long calls;
static int ud_seen;

static int prod(void *ud, const double *x, size_t n, int dim, double *o)
{
  ud_seen |= ud == &calls;
  __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
  for (size_t i = 0; i < n; i++)
    o[i] = x[i * (size_t)dim] * x[i * (size_t)dim + 1];
  return 0;
}

static int diff(void *ud, const double *x, size_t n, int dim, double *o)
{
  (void)ud;
  for (size_t i = 0; i < n; i++)
    o[i] = x[i * (size_t)dim] - x[i * (size_t)dim + 1];
  return 0;
}

static int logits(void *ud, const double *x, size_t n, int dim, double *o)
{
  (void)ud;
  for (size_t i = 0; i < n; i++) {
    const double *r = x + i * (size_t)dim;
    o[3 * i] = r[0];
    o[3 * i + 1] = -r[0];
    o[3 * i + 2] = r[1];
  }
  return 0;
}

static int fails(void *ud, const double *x, size_t n, int dim, double *o)
{
  (void)ud, (void)x, (void)n, (void)dim, (void)o;
  return 3;
}

static int gives_nan(void *ud, const double *x, size_t n, int dim, double *o)
{
  (void)ud, (void)x, (void)dim;
  for (size_t i = 0; i < n; i++)
    o[i] = NAN;
  return 0;
}

/* ------------------------------------------------------------ tests */

static const char *QUERIES =
    "law X = normal(dim = 2)\n"
    "model m = moe(router = r, experts = [e1, e2, e1])\n"
    "report risk(m, y, X, [0.5, 0.1], samples = 30000, seed = 4)\n"
    "report kappa(m, y, X, samples = 20000, seed = 9, method = \"mc\")\n"
    "report gate(m, at = [[0.5, 0.2], [-1, 3]], tau = 0.5)\n";

static char *host_run(int threads)
{
  moe_State *S = open_state(threads, 0);
  ok(moe_register_fn(S, "e1", MOE_FN_EXPERT, 2, 1, prod, &calls) == MOE_OK &&
         moe_register_fn(S, "e2", MOE_FN_EXPERT, 2, 1, diff, NULL) == MOE_OK &&
         moe_register_fn(S, "y", MOE_FN_TARGET, 2, 1, diff, NULL) == MOE_OK &&
         moe_register_fn(S, "r", MOE_FN_ROUTER, 2, 3, logits, NULL) == MOE_OK,
     "host expert, target and router registered (%d threads)", threads);
  int st = run(S, QUERIES);
  ok(st == MOE_OK, "queries on host functions run (%d threads)%s%s", threads,
     err.text ? ": " : "", err.text ? err.text : "");
  char *r = untimed(out.text);
  moe_close(S);
  return r;
}

static void test_same_as_moe(void)
{
  char *host = host_run(1);
  moe_State *S = open_state(1, 0);
  run(S, "router r(x) = [x[0], -x[0], x[1]]\n"
         "expert e1(x) = x[0] * x[1]\n"
         "expert e2(x) = x[0] - x[1]\n"
         "target y(x) = x[0] - x[1]\n");
  int st = run(S, QUERIES);
  char *native = untimed(out.text);
  ok(st == MOE_OK && strlen(host) > 100 && strcmp(host, native) == 0,
     "host functions give the reports of the same functions in moe, bit for bit");
  if (strcmp(host, native) != 0)
    printf("# host:\n%s\n# moe:\n%s\n", host, native);
  ok(ud_seen, "the host function gets its user data");
  char *two = host_run(2);
  ok(strcmp(host, two) == 0, "the same reports with 2 threads");
  free(host);
  free(native);
  free(two);
  moe_close(S);
}

static void test_plain_and_blocks(void)
{
  moe_State *S = open_state(2, 0);
  ok(moe_register_fn(S, "pf", MOE_FN_PLAIN, 2, 1, prod, &calls) == MOE_OK &&
         moe_register_fn(S, "lg", MOE_FN_PLAIN, 2, 3, logits, NULL) == MOE_OK,
     "plain host functions registered");
  int st = run(S, "print pf([3, 4]), pf([[1, 2], [3, 4]]), lg([1, 2])\n"
                  "expert twice(x) = 2 * pf(x)\n"
                  "router q = lg\n"
                  "print gate(moe(router = q, experts = [twice, pf, pf]), at = [1, 2], tau = 1).hard\n");
  ok(st == MOE_OK && out.text && strcmp(out.text, "12 [2, 12] [1, -1, 2]\n[2]\n") == 0,
     "plain host functions: called on a row, on rows, in a body, as a router (%s%s)",
     out.text ? out.text : "", err.text ? err.text : "");
  long before = calls;
  st = run(S, "let v = interface_integral(linear(W = [[1, 0], [0, 1]]), normal(dim = 2), pf, "
              "samples = 20000, method = \"mc\")\n");
  ok(st == MOE_OK && calls - before == 20, "called once per block: %ld calls for 20 blocks",
     calls - before);
  moe_close(S);
}

static void test_failures(void)
{
  moe_State *S = open_state(2, 0);
  moe_register_fn(S, "bad", MOE_FN_EXPERT, 2, 1, fails, NULL);
  moe_register_fn(S, "badp", MOE_FN_PLAIN, 2, 1, fails, NULL);
  moe_register_fn(S, "nanf", MOE_FN_PLAIN, 2, 1, gives_nan, NULL);
  moe_register_fn(S, "three", MOE_FN_EXPERT, 3, 1, prod, NULL);
  int st = run(S, "report interface_integral(linear(W = [[1, 0], [0, 1]]), normal(dim = 2), "
                  "bad, samples = 5000)\n");
  ok(st == MOE_ERROR && err.text &&
         strstr(err.text, "t.moe:1:8: error: host function bad failed (it returned 3)\n"),
     "a failing host expert stops the query with an error naming it: %s",
     err.text ? err.text : "");
  st = run(S, "print badp([1, 2])\n");
  ok(st == MOE_ERROR && err.text &&
         strstr(err.text, "t.moe:1:7: error: host function badp failed (it returned 3)\n"),
     "a failing plain host function: %s", err.text ? err.text : "");
  st = run(S, "print nanf([1, 2])\n");
  ok(st == MOE_ERROR && err.text &&
         strstr(err.text, "error: host function nanf returned NaN for the input [1, 2]\n"),
     "NaN from a host function is an error: %s", err.text ? err.text : "");
  st = run(S, "print nanf([1, 2, 3])\n");
  ok(st == MOE_ERROR && err.text &&
         strstr(err.text, "error: argument 1 of nanf() must be a vector of 2 numbers "
                          "(declared 'X: block[2]'), not 3\n"),
     "a row of the wrong length: %s", err.text ? err.text : "");
  st = run(S, "model m = moe(router = linear(W = [[1, 0], [0, 1]]), experts = [three, three])\n");
  ok(st == MOE_ERROR && err.text &&
         strstr(err.text, "error: expert 0 of the model takes inputs of dimension 3 but the "
                          "router takes 2\n"),
     "a host expert's dimension is checked: %s", err.text ? err.text : "");
  st = run(S, "print 1 + 1\n");
  ok(st == MOE_OK && out.text && strcmp(out.text, "2\n") == 0, "the state is usable after");
  moe_close(S);
}

static void test_usage(void)
{
  moe_State *S = open_state(1, 0);
  ok(moe_register_fn(NULL, "f", MOE_FN_EXPERT, 2, 1, prod, NULL) == MOE_EUSAGE, "NULL state");
  ok(moe_register_fn(S, NULL, MOE_FN_EXPERT, 2, 1, prod, NULL) == MOE_EUSAGE, "NULL name");
  ok(moe_register_fn(S, "", MOE_FN_EXPERT, 2, 1, prod, NULL) == MOE_EUSAGE, "empty name");
  ok(moe_register_fn(S, "1f", MOE_FN_EXPERT, 2, 1, prod, NULL) == MOE_EUSAGE, "name 1f");
  ok(moe_register_fn(S, "a-b", MOE_FN_EXPERT, 2, 1, prod, NULL) == MOE_EUSAGE, "name a-b");
  ok(moe_register_fn(S, "router", MOE_FN_EXPERT, 2, 1, prod, NULL) == MOE_EUSAGE,
     "a keyword as name");
  ok(moe_register_fn(S, "f", MOE_FN_EXPERT, 2, 1, NULL, NULL) == MOE_EUSAGE, "NULL function");
  ok(moe_register_fn(S, "f", 0, 2, 1, prod, NULL) == MOE_EUSAGE, "kind 0");
  ok(moe_register_fn(S, "f", 99, 2, 1, prod, NULL) == MOE_EUSAGE, "kind 99");
  ok(moe_register_fn(S, "f", MOE_FN_EXPERT, 0, 1, prod, NULL) == MOE_EUSAGE, "in_dim 0");
  ok(moe_register_fn(S, "f", MOE_FN_EXPERT, 2, 2, prod, NULL) == MOE_EUSAGE,
     "an expert with 2 outputs");
  ok(moe_register_fn(S, "f", MOE_FN_TARGET, 2, 0, prod, NULL) == MOE_EUSAGE,
     "a target with 0 outputs");
  ok(moe_register_fn(S, "f", MOE_FN_ROUTER, 2, 1, prod, NULL) == MOE_EUSAGE,
     "a router with 1 logit");
  ok(moe_register_fn(S, "f", MOE_FN_PLAIN, 2, -1, prod, NULL) == MOE_EUSAGE,
     "a plain function with -1 outputs");
  /* Each refusal is described in moe_last_error, exactly. */
  static const struct { const char *name; int kind, in, outd; int nofn; const char *msg; } m[] = {
    {NULL, MOE_FN_EXPERT, 2, 1, 0, "moe_register_fn: name is NULL"},
    {"a-b", MOE_FN_EXPERT, 2, 1, 0, "moe_register_fn: 'a-b' is not a name a script could use"},
    {"router", MOE_FN_EXPERT, 2, 1, 0, "moe_register_fn: 'router' is not a name a script can "
     "use (letters, digits and _, not a keyword)"},
    {"f", MOE_FN_EXPERT, 2, 1, 1, "moe_register_fn: fn is NULL"},
    {"f", 99, 2, 1, 0, "moe_register_fn: kind 99 is not one of MOE_FN_EXPERT, MOE_FN_TARGET, "
     "MOE_FN_ROUTER, MOE_FN_PLAIN"},
    {"f", MOE_FN_ROUTER, 2, 1, 0, "moe_register_fn: router 'f' cannot have in_dim 2 and "
     "out_dim 1 (1 to 1000000 inputs; experts and targets give 1 value, routers at least 2)"},
  };
  for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
    int st = moe_register_fn(S, m[i].name, m[i].kind, m[i].in, m[i].outd,
                             m[i].nofn ? NULL : prod, NULL);
    const moe_Error *e = moe_last_error(S);
    ok(st == MOE_EUSAGE && e && strcmp(e->message, m[i].msg) == 0 && e->line == 0,
       "message: %s", m[i].msg);
    if (e && strcmp(e->message, m[i].msg) != 0)
      printf("# got: %s\n", e->message);
  }
  ok(run(S, "print f") == MOE_ERROR, "nothing was bound by the refused calls");
  ok(moe_register_fn(S, "f", MOE_FN_PLAIN, 2, 1, prod, NULL) == MOE_OK &&
         moe_register_fn(S, "f", MOE_FN_PLAIN, 2, 1, diff, NULL) == MOE_OK &&
         run(S, "print f([5, 2])") == MOE_OK && out.text && strcmp(out.text, "3\n") == 0,
     "registering a name again replaces it");
  ok(moe_register_fn(S, "f", MOE_FN_EXPERT, 2, 1, prod, NULL) == MOE_ERROR &&
         strcmp(moe_last_error(S)->message, "moe_register_fn: 'f' is a function; only an "
                "expert can replace it") == 0,
     "a name keeps its kind");
  ok(moe_register_fn(S, "g", MOE_FN_EXPERT, 2, 1, prod, NULL) == MOE_OK &&
         strcmp(moe_last_error(S)->message, "") == 0,
     "success clears the last error");
  moe_close(S);
}

static void test_refusals(void)
{
  const char *ext = "extern fn f(x: vec) -> num from \"./libnothere.so\"\n";
  moe_State *S = open_state(1, 1);
  int st = run(S, ext);
  ok(st == MOE_ERROR && err.text &&
         strstr(err.text, "t.moe:1:1: error: extern is disabled (--no-ffi): extern fn f from "
                          "'./libnothere.so' is not loaded\n"),
     "moe_Config.no_ffi refuses extern: %s", err.text ? err.text : "");
  moe_close(S);
  S = open_state(1, 0);
  S->I.limits.no_files = 1;
  st = run(S, ext);
  ok(st == MOE_ERROR && err.text &&
         strstr(err.text, "t.moe:1:1: error: extern is disabled: this session may not read "
                          "files, so extern fn f from './libnothere.so' is not loaded\n"),
     "Limits.no_files refuses extern: %s", err.text ? err.text : "");
  moe_close(S);
}

int main(void)
{
  test_same_as_moe();
  test_plain_and_blocks();
  test_failures();
  test_usage();
  test_refusals();
  clear(&out);
  clear(&err);
  return tap_done();
}
