/*
 * test_margin.c — unit tests for the margin kernels (runtime/margin.c) and
 * for router logits (runtime/router.c).
 *
 * The kernels are compared with a naive reference: sort each sample's K
 * logits downwards and subtract ranks.  Both compute the same single
 * subtraction of two of the input doubles, so the comparison is exact (or
 * both NaN, when the two top logits are both -inf).  Data are drawn to make
 * ties, -inf and huge values (+-1e300) frequent; n is not a multiple of the
 * kernels' chunk of 256 and lda > n.
 */
#include "margin.h"
#include "router.h"
#include "rng.h"
#include "../tap.h"

#include <stdlib.h>
#include <string.h>

static Rt rt;

static double *dalloc(size_t n)
{
  double *p = calloc(n ? n : 1, sizeof *p);
  if (!p) {
    printf("Bail out! out of memory\n");
    exit(1);
  }
  return p;
}

static int desc(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x < y) - (x > y);
}

/* The logits of sample i, sorted downwards, into s[0..K). */
static void sorted(int K, const double *a, size_t lda, size_t i, double *s)
{
  for (int k = 0; k < K; k++)
    s[k] = a[(size_t)k * lda + i];
  qsort(s, (size_t)K, sizeof *s, desc);
}

static int same(double x, double y) { return x == y || (isnan(x) && isnan(y)); }

/* Fills a (K × n, lda) with values that tie often and include -inf and
 * +-1e300; padding beyond n is NaN so that reading it shows. */
static void fill(RngStream *s, int K, size_t n, size_t lda, double *a)
{
  static const double pool[] = {-INFINITY, -1e300, -1.0, 0.0, 0.5, 0.5, 1.0, 2.0, 1e300};
  const int npool = (int)(sizeof pool / sizeof pool[0]);
  for (int k = 0; k < K; k++)
    for (size_t i = 0; i < lda; i++) {
      double *v = &a[(size_t)k * lda + i];
      if (i >= n) {
        *v = NAN;
        continue;
      }
      double u;
      rng_uniform(s, &u, 1);
      if (u < 0.5) {
        double r;
        rng_uniform(s, &r, 1);
        *v = 4.0 * r - 2.0;                /* mostly distinct values */
      } else {
        *v = pool[(int)((u - 0.5) * 2 * npool) % npool];
      }
    }
}

static void test_kernels(void)
{
  static const int Ks[] = {2, 3, 4, 16, 256};
  const size_t n = 1000, lda = 1037;
  RngStream s;
  rng_init(&s, 2024, 0, 0);
  double *srt = dalloc(256);
  for (size_t t = 0; t < sizeof Ks / sizeof Ks[0]; t++) {
    int K = Ks[t];
    double *a = dalloc((size_t)K * lda);
    fill(&s, K, n, lda, a);
    /* A few samples set by hand: all equal, all -inf, one finite. */
    for (int k = 0; k < K; k++) {
      a[(size_t)k * lda + 0] = 3.0;
      a[(size_t)k * lda + 1] = -INFINITY;
      a[(size_t)k * lda + 2] = k == K - 1 ? 7.0 : -INFINITY;
      a[(size_t)k * lda + 3] = k == 0 ? 1e300 : -1e300;
    }
    double *delta = dalloc(n + 1);
    delta[n] = 12345.0;                      /* must stay untouched */
    margin_top2(K, n, a, lda, delta);
    size_t bad = 0, first_bad = 0;
    for (size_t i = 0; i < n; i++) {
      sorted(K, a, lda, i, srt);
      if (!same(delta[i], srt[0] - srt[1]) && bad++ == 0)
        first_bad = i;
    }
    if (!ok(bad == 0 && delta[n] == 12345.0, "margin_top2, K = %d, n = %zu, lda = %zu", K, n,
            lda))
      printf("#   %zu samples differ (first %zu: got %g)\n", bad, first_bad, delta[first_bad]);
    ok(delta[0] == 0 && isnan(delta[1]) && delta[2] == INFINITY && delta[3] == 2e300,
       "margin_top2, K = %d: hand samples (tie 0, all -inf NaN, one finite inf, 2e300)", K);

    /* margin_gap for several rank pairs. */
    int pairs[][2] = {{1, 2}, {1, 3}, {2, 3}, {1, K}, {K - 1, K}, {2, 4}};
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
      int hi = pairs[p][0], lo = pairs[p][1];
      if (lo > K || hi >= lo)
        continue;
      double *scratch = dalloc((size_t)lo * n);
      delta[n] = 12345.0;
      margin_gap(K, hi, lo, n, a, lda, delta, scratch);
      bad = 0;
      for (size_t i = 0; i < n; i++) {
        sorted(K, a, lda, i, srt);
        if (!same(delta[i], srt[hi - 1] - srt[lo - 1]) && bad++ == 0)
          first_bad = i;
      }
      if (!ok(bad == 0 && delta[n] == 12345.0, "margin_gap(%d, %d), K = %d", hi, lo, K))
        printf("#   %zu samples differ (first %zu: got %g)\n", bad, first_bad,
               delta[first_bad]);
      free(scratch);
    }
    free(delta);
    free(a);
  }
  free(srt);

  /* Sizes around the chunk boundary: n = 255, 256, 257, 1. */
  static const size_t ns[] = {1, 255, 256, 257, 513};
  for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
    size_t nn = ns[t], ld = nn + 5;
    int K = 5;
    double *a = dalloc((size_t)K * ld), *delta = dalloc(nn), s5[5];
    fill(&s, K, nn, ld, a);
    margin_top2(K, nn, a, ld, delta);
    size_t bad = 0;
    for (size_t i = 0; i < nn; i++) {
      sorted(K, a, ld, i, s5);
      bad += !same(delta[i], s5[0] - s5[1]);
    }
    ok(bad == 0, "margin_top2, K = 5, n = %zu", nn);
    free(a);
    free(delta);
  }
}

/* margin_count_below against a plain count, with ties at the widths,
 * infinities and NaN (which is below nothing). */
static void test_count_below(void)
{
  const size_t n = 1000;
  double *d = dalloc(n);
  RngStream s;
  rng_init(&s, 31, 0, 0);
  rng_uniform(&s, d, n);
  for (size_t i = 0; i < n; i++)
    d[i] = floor(d[i] * 8) / 4;       /* 0, 0.25, ..., 1.75: many ties */
  d[0] = INFINITY;
  d[1] = -INFINITY;
  d[2] = NAN;
  d[3] = 0.5;
  const double w[] = {-1.0, 0.0, 0.5, 0.6, 1.75, INFINITY, -INFINITY};
  enum { NW = sizeof w / sizeof w[0] };
  double counts[NW + 1];
  counts[NW] = -5;
  margin_count_below(d, n, w, NW, counts);
  int good = counts[NW] == -5;
  for (int j = 0; j < NW; j++) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
      c += d[i] <= w[j];
    good &= counts[j] == (double)c;
    if (counts[j] != (double)c)
      printf("#   width %g: got %g, want %zu\n", w[j], counts[j], c);
  }
  ok(good, "margin_count_below matches a plain count (ties, infinities, NaN)");
  /* Spot values by hand: only -inf is <= -inf and <= -1; all but NaN are <= inf. */
  ok(counts[0] == 1 && counts[6] == 1 && counts[5] == (double)(n - 1),
     "margin_count_below: -inf counts below -1 and -inf; all but NaN below inf");
  margin_count_below(d, 0, w, NW, counts);
  ok(counts[0] == 0 && counts[5] == 0, "margin_count_below of no samples is 0");
  free(d);
}

/* The naive index of the r-th largest logit: stable order by value down,
 * ties to the lower index. */
static int naive_rank(int K, const double *a, size_t stride, int r)
{
  int idx[256];
  for (int k = 0; k < K; k++)
    idx[k] = k;
  /* insertion sort: stable */
  for (int i = 1; i < K; i++) {
    int v = idx[i], j = i;
    while (j > 0 && a[(size_t)idx[j - 1] * stride] < a[(size_t)v * stride]) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = v;
  }
  return idx[r - 1];
}

static void test_indices(void)
{
  int t, s;
  const double a1[] = {1, 3, 3};
  margin_top_two_index(3, a1, 1, &t, &s);
  ok(t == 1 && s == 2, "top two of (1, 3, 3) are 1, 2 (got %d, %d)", t, s);
  const double a2[] = {5, 5};
  margin_top_two_index(2, a2, 1, &t, &s);
  ok(t == 0 && s == 1, "top two of (5, 5) are 0, 1 (got %d, %d)", t, s);
  const double a3[] = {2, 2, 2, 2};
  margin_top_two_index(4, a3, 1, &t, &s);
  ok(t == 0 && s == 1, "top two of (2, 2, 2, 2) are 0, 1 (got %d, %d)", t, s);
  const double a4[] = {3, 1, 3};
  margin_top_two_index(3, a4, 1, &t, &s);
  ok(t == 0 && s == 2, "top two of (3, 1, 3) are 0, 2 (got %d, %d)", t, s);
  const double a5[] = {-INFINITY, -INFINITY, 5};
  margin_top_two_index(3, a5, 1, &t, &s);
  ok(t == 2 && s == 0, "top two of (-inf, -inf, 5) are 2, 0 (got %d, %d)", t, s);
  const double a6[] = {0, 1, 2, 9, 9};
  margin_top_two_index(5, a6, 1, &t, &s);
  ok(t == 3 && s == 4, "top two of (0, 1, 2, 9, 9) are 3, 4 (got %d, %d)", t, s);
  const double a7[] = {1, 0};
  margin_top_two_index(2, a7, 1, &t, &s);
  ok(t == 0 && s == 1, "top two of (1, 0) are 0, 1 (got %d, %d)", t, s);
  const double a8[] = {0, 1};
  margin_top_two_index(2, a8, 1, &t, &s);
  ok(t == 1 && s == 0, "top two of (0, 1) are 1, 0 (got %d, %d)", t, s);

  /* Strided: logits of one sample in column layout (stride = lda). */
  const double col[] = {1, 99, 99, 4, 99, 99, 4, 99, 99, 2, 99, 99};
  margin_top_two_index(4, col, 3, &t, &s);
  ok(t == 1 && s == 2, "strided top two of (1, 4, 4, 2) are 1, 2 (got %d, %d)", t, s);
  ok(margin_rank_index(4, col, 3, 1) == 1 && margin_rank_index(4, col, 3, 2) == 2 &&
         margin_rank_index(4, col, 3, 3) == 3 && margin_rank_index(4, col, 3, 4) == 0,
     "strided ranks of (1, 4, 4, 2) are 1, 2, 3, 0");
  const double a9[] = {7, 7, 7};
  ok(margin_rank_index(3, a9, 1, 1) == 0 && margin_rank_index(3, a9, 1, 2) == 1 &&
         margin_rank_index(3, a9, 1, 3) == 2,
     "ranks of (7, 7, 7) are 0, 1, 2");
  const double a10[] = {0, -INFINITY, -INFINITY, 1e300};
  ok(margin_rank_index(4, a10, 1, 1) == 3 && margin_rank_index(4, a10, 1, 2) == 0 &&
         margin_rank_index(4, a10, 1, 3) == 1 && margin_rank_index(4, a10, 1, 4) == 2,
     "ranks of (0, -inf, -inf, 1e300) are 3, 0, 1, 2");

  /* Random samples with many ties against the stable sort. */
  RngStream rs;
  rng_init(&rs, 77, 1, 0);
  static const int Ks[] = {2, 3, 4, 16, 256};
  for (size_t q = 0; q < sizeof Ks / sizeof Ks[0]; q++) {
    int K = Ks[q];
    size_t n = 200, lda = 203;
    double *a = dalloc((size_t)K * lda);
    fill(&rs, K, n, lda, a);
    size_t bad_top = 0, bad_rank = 0;
    for (size_t i = 0; i < n; i++) {
      margin_top_two_index(K, a + i, lda, &t, &s);
      bad_top += t != naive_rank(K, a + i, lda, 1) || s != naive_rank(K, a + i, lda, 2);
      int rr[] = {1, 2, 3, K};
      for (int j = 0; j < 4; j++)
        if (rr[j] <= K)
          bad_rank += margin_rank_index(K, a + i, lda, rr[j]) != naive_rank(K, a + i, lda, rr[j]);
    }
    ok(bad_top == 0, "margin_top_two_index vs stable sort, K = %d (%zu differ)", K, bad_top);
    ok(bad_rank == 0, "margin_rank_index vs stable sort, K = %d (%zu differ)", K, bad_rank);
    free(a);
  }
}

/* ------------------------------------------------------------ routers */

static void test_linear_router(void)
{
  enum { K = 3, D = 4, NS = 5, LDX = 7, LDA = 6 };
  const double W[K * D] = {1, -2, 0.5, 3, 0, 1, -1, 2.5, -0.25, 0, 4, -1};
  const double b[K] = {0.1, -0.2, 0.3};
  double x[D * LDX], a[K * LDA];
  for (int j = 0; j < D; j++)
    for (int i = 0; i < LDX; i++)
      x[j * LDX + i] = i < NS ? (double)(j + 1) * (i - 2) + 0.125 * j : NAN;
  for (int i = 0; i < K * LDA; i++)
    a[i] = -777;
  Router *r;
  RtStatus st = router_linear(&rt, K, D, W, b, &r);
  if (!ok(st == RT_OK && r, "router_linear K = 3, dim = 4"))
    return;
  ok(r->K == K && r->dim == D && strcmp(router_kind_name(r), "linear") == 0,
     "a linear router of K = 3, dim = 4");
  BlockErr err = {0};
  st = router_logits(r, NS, x, LDX, a, LDA, NULL, &err);
  ok(st == RT_OK, "router_logits of a linear router");
  double worst = 0;
  int pad_ok = 1;
  for (int k = 0; k < K; k++)
    for (int i = 0; i < LDA; i++) {
      if (i >= NS) {
        pad_ok &= a[k * LDA + i] == -777;
        continue;
      }
      double want = b[k];
      for (int j = 0; j < D; j++)
        want += W[k * D + j] * x[j * LDX + i];
      worst = fmax(worst, fabs(a[k * LDA + i] - want) / fmax(1, fabs(want)));
    }
  ok_near(worst, 0, 1e-14, "linear logits equal W x + b computed by hand");
  ok(pad_ok, "router_logits does not write beyond n in each row");
  router_unref(&rt, r);

  /* b NULL means zero bias. */
  st = router_linear(&rt, K, D, W, NULL, &r);
  if (ok(st == RT_OK, "router_linear without a bias")) {
    router_logits(r, NS, x, LDX, a, LDA, NULL, &err);
    double want = 0;
    for (int j = 0; j < D; j++)
      want += W[2 * D + j] * x[j * LDX + 4];
    ok_near(a[2 * LDA + 4], want, 1e-13, "no bias: logit 2 of sample 4 is (W x)_2");
    router_unref(&rt, r);
  }

  /* Errors. */
  r = (Router *)&r;
  rt_clear(&rt);
  st = router_linear(&rt, 1, D, W, b, &r);
  ok(st == RT_EINVAL && r == NULL, "router_linear with K = 1 is RT_EINVAL");
  ok_str(rt.msg, "a router needs K >= 2 experts (got K = 1)", "the K = 1 message");
  const double Wnan[2 * 2] = {1, 2, NAN, 4};
  st = router_linear(&rt, 2, 2, Wnan, NULL, &r);
  ok(st == RT_EINVAL && strstr(rt.msg, "W[1][0]"), "a NaN weight is RT_EINVAL naming W[1][0]");
  rt_clear(&rt);
  st = router_identity(&rt, 1, &r);
  ok(st == RT_EINVAL && strstr(rt.msg, "K >= 2"), "router_identity with K = 1 is RT_EINVAL");
  rt_clear(&rt);

  /* The identity router copies the coordinates. */
  st = router_identity(&rt, 3, &r);
  if (ok(st == RT_OK && r, "router_identity K = 3")) {
    router_logits(r, NS, x, LDX, a, LDA, NULL, &err);
    int eq = 1;
    for (int k = 0; k < 3; k++)
      for (int i = 0; i < NS; i++)
        eq &= a[k * LDA + i] == x[k * LDX + i];
    ok(eq, "identity logits are the first K coordinates");
    router_unref(&rt, r);
  }
}

/* A block function router: y_k = (k + 1) x_0 - x_1, except that the sample
 * numbered ctx->bad gets ctx->bad_value in logit ctx->bad_k. */
typedef struct FnCtx {
  long bad;
  int bad_k;
  double bad_value;
  int calls;
} FnCtx;

static RtStatus fn_eval(const BlockFn *f, size_t n, const double *x, size_t ldx, double *y,
                        size_t ldy, double *scratch, BlockErr *err)
{
  FnCtx *c = f->ctx;
  c->calls++;
  for (int k = 0; k < f->out_dim; k++)
    for (size_t i = 0; i < n; i++)
      y[(size_t)k * ldy + i] = (k + 1) * x[i] - x[ldx + i];
  if (c->bad >= 0 && (size_t)c->bad < n)
    y[(size_t)c->bad_k * ldy + (size_t)c->bad] = c->bad_value;
  return RT_OK;
}

static int freed;
static void fn_free(Rt *r, void *ctx)
{
  freed++;
  rt_free(r, ctx);
}

static void test_fn_router(void)
{
  FnCtx *c = rt_calloc(&rt, 1, sizeof *c);
  c->bad = -1;
  BlockFn *f = blockfn_new(&rt, "router q", 2, 3, c, fn_free);
  if (!ok(f != NULL, "blockfn_new"))
    return;
  f->eval = fn_eval;
  Router *r;
  RtStatus st = router_fn(&rt, f, &r);
  ok(st == RT_OK && r && r->K == 3 && r->dim == 2 && f->refs == 2,
     "router_fn takes a reference; K = out_dim, dim = in_dim");
  ok(strcmp(router_kind_name(r), "expression") == 0, "a function router is an 'expression' router");

  enum { NS = 9, LD = 11 };
  double x[2 * LD], a[3 * LD];
  for (int i = 0; i < LD; i++) {
    x[i] = 0.5 * i;
    x[LD + i] = 1.0 - i;
  }
  BlockErr err = {0};
  st = router_logits(r, NS, x, LD, a, LD, NULL, &err);
  int eq = st == RT_OK && err.status == RT_OK;
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < NS; i++)
      eq &= a[k * LD + i] == (k + 1) * x[i] - x[LD + i];
  ok(eq, "function router logits are the function's values");

  c->bad = 4;
  c->bad_k = 1;
  c->bad_value = NAN;
  memset(&err, 0, sizeof err);
  st = router_logits(r, NS, x, LD, a, LD, NULL, &err);
  ok(st == RT_EINVAL && err.status == RT_EINVAL, "a NaN logit is RT_EINVAL");
  if (!ok(strstr(err.msg, "nan") && strstr(err.msg, "logit 1") && strstr(err.msg, "router"),
          "the NaN message names the router and logit 1"))
    printf("#   message: %s\n", err.msg);

  c->bad = 8;
  c->bad_k = 2;
  c->bad_value = -INFINITY;
  memset(&err, 0, sizeof err);
  st = router_logits(r, NS, x, LD, a, LD, NULL, &err);
  ok(st == RT_EINVAL && strstr(err.msg, "-inf") && strstr(err.msg, "logit 2"),
     "a -inf logit in the last sample is RT_EINVAL naming logit 2");

  c->bad = 0;
  c->bad_k = 0;
  c->bad_value = INFINITY;
  memset(&err, 0, sizeof err);
  st = router_logits(r, NS, x, LD, a, LD, NULL, &err);
  ok(st == RT_EINVAL && strstr(err.msg, "inf"), "an inf logit in the first sample is RT_EINVAL");

  router_unref(&rt, r);
  ok(f->refs == 1 && freed == 0, "releasing the router drops its reference only");
  blockfn_unref(&rt, f);
  ok(freed == 1, "the last reference frees the context");

  /* A function of one output is not a router. */
  BlockFn *g = blockfn_new(&rt, "router one", 2, 1, NULL, NULL);
  r = (Router *)&r;
  rt_clear(&rt);
  st = router_fn(&rt, g, &r);
  ok(st == RT_EINVAL && r == NULL, "router_fn with out_dim = 1 is RT_EINVAL");
  ok_str(rt.msg, "a router needs K >= 2 experts (got K = 1)", "the out_dim = 1 message");
  ok(g->refs == 1, "a failed router_fn takes no reference");
  blockfn_unref(&rt, g);
  rt_clear(&rt);
}

int main(void)
{
  rt_init(&rt);
  test_kernels();
  test_count_below();
  test_indices();
  test_linear_router();
  test_fn_router();
  return tap_done();
}
