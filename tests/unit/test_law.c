/*
 * test_law.c — unit tests for input laws (runtime/law.c).
 *
 * Sampling is checked statistically against closed forms: every tolerance is
 * 5 standard errors of the estimate, with the standard error computed from
 * the law's known moments (for the sample covariance of a Gaussian,
 * Var(x_i x_j) = S_ii S_jj + S_ij^2 for centred coordinates).  Closed forms
 * (mixture moments, affine images W S W^T) are recomputed here with plain
 * loops, never taken from the code under test.  Blocks are sampled with a
 * leading dimension larger than n so that a mix-up of n and ld shows.
 */
#include "law.h"
#include "rng.h"
#include "../tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define Z5 5.0
#define BLOCK 4096
#define PAD 3            /* ld = n + PAD */

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

/* Samples `total` samples of l under seed in blocks of BLOCK and hands each
 * block (dim × n, ld) to fn. */
typedef void (*BlockVisit)(void *ctx, const double *x, size_t n, size_t ld);

static void sample_all(const Law *l, uint64_t seed, size_t total, BlockVisit fn, void *ctx)
{
  size_t ld = BLOCK + PAD;
  double *x = dalloc((size_t)l->dim * ld);
  double *scratch = dalloc(law_scratch(l, BLOCK));
  for (uint64_t b = 0; b * BLOCK < total; b++) {
    size_t n = total - b * BLOCK < BLOCK ? total - b * BLOCK : BLOCK;
    SampleBlock sb = {.seed = seed, .block = b, .first = b * BLOCK, .sub = 0, .n = n};
    law_sample(l, &sb, x, ld, scratch);
    fn(ctx, x, n, ld);
  }
  free(x);
  free(scratch);
}

/* Sums of x_i and of (x_i - c_i)(x_j - c_j) around a fixed centre c. */
typedef struct Acc {
  int d;
  const double *centre;
  double n, s[8], p[64];
} Acc;

static void acc_visit(void *ctx, const double *x, size_t n, size_t ld)
{
  Acc *a = ctx;
  int d = a->d;
  for (size_t i = 0; i < n; i++) {
    for (int j = 0; j < d; j++) {
      double xj = x[(size_t)j * ld + i];
      a->s[j] += xj;
      for (int k = 0; k < d; k++)
        a->p[j * d + k] += (xj - a->centre[j]) * (x[(size_t)k * ld + i] - a->centre[k]);
    }
  }
  a->n += (double)n;
}

/* ------------------------------------------------------------ normal */

static void test_normal_moments(void)
{
  enum { D = 3 };
  const double mu[D] = {1.0, -2.0, 0.5};
  const double S[D * D] = {2.0, 0.8, -0.5,
                           0.8, 1.5, 0.3,
                           -0.5, 0.3, 1.0};
  Law *l = NULL;
  RtStatus st = law_normal(&rt, D, mu, S, "the covariance of law X", &l);
  if (!ok(st == RT_OK && l, "law_normal of a correlated 3-d normal")) {
    printf("#   %s\n", rt.msg);
    return;
  }
  ok(l->dim == D && l->kind == LAW_NORMAL && strcmp(law_kind_name(l), "normal") == 0,
     "the law is a 3-d normal");

  /* The factor reproduces the covariance: F F^T = S. */
  double worst = 0;
  for (int i = 0; i < D; i++)
    for (int j = 0; j < D; j++) {
      double c = 0;
      for (int r = 0; r < l->rank; r++)
        c += l->factor[i * l->rank + r] * l->factor[j * l->rank + r];
      worst = fmax(worst, fabs(c - S[i * D + j]));
    }
  ok_near(worst, 0, 1e-12, "F F^T equals the covariance");

  const size_t N = 200000;
  Acc a = {.d = D, .centre = mu};
  sample_all(l, 0x5EED, N, acc_visit, &a);
  ok(a.n == (double)N, "all %zu samples were visited", N);
  for (int j = 0; j < D; j++) {
    double se = sqrt(S[j * D + j] / (double)N);
    ok_near(a.s[j] / (double)N, mu[j], Z5 * se, "normal: mean of coordinate %d", j);
  }
  for (int i = 0; i < D; i++)
    for (int j = i; j < D; j++) {
      double v = S[i * D + i] * S[j * D + j] + S[i * D + j] * S[i * D + j];
      double se = sqrt(v / (double)N);
      ok_near(a.p[i * D + j] / (double)N, S[i * D + j], Z5 * se,
              "normal: covariance [%d][%d]", i, j);
    }

  /* law_moments of a normal law are its parameters. */
  double m[D], c[D * D];
  ok(law_moments(l, m, c) == 1 && memcmp(m, mu, sizeof m) == 0 && memcmp(c, S, sizeof c) == 0,
     "law_moments of a normal gives its mean and covariance");
  law_unref(&rt, l);

  /* mean NULL is 0 and cov NULL the identity. */
  st = law_normal(&rt, 2, NULL, NULL, "the covariance of law I", &l);
  if (ok(st == RT_OK && l, "law_normal with default mean and covariance")) {
    ok(l->mean[0] == 0 && l->mean[1] == 0 && law_cov(l, 0, 0) == 1 && law_cov(l, 0, 1) == 0 &&
           law_cov(l, 1, 0) == 0 && law_cov(l, 1, 1) == 1 && l->iso == 1 && !l->factor,
       "the defaults are mean 0 and the identity (stored implicitly)");
    law_unref(&rt, l);
  }
}

static void test_normal_errors(void)
{
  const char *what = "the covariance of law Q";
  Law *l = (Law *)&l;   /* must be reset to NULL on failure */
  const double asym[4] = {1.0, 0.5, 0.4, 1.0};
  rt_clear(&rt);
  RtStatus st = law_normal(&rt, 2, NULL, asym, what, &l);
  ok(st == RT_EINVAL && l == NULL, "a non-symmetric covariance is RT_EINVAL");
  if (!ok(strstr(rt.msg, what) && strstr(rt.msg, "not symmetric"),
          "the message names the covariance and says 'not symmetric'"))
    printf("#   message: %s\n", rt.msg);
  ok(strstr(rt.msg, "cov[0][1] = 0.5") && strstr(rt.msg, "cov[1][0] = 0.4"),
     "the asymmetry message names the pair cov[0][1] = 0.5, cov[1][0] = 0.4");

  /* Positive diagonal, but indefinite (eigenvalues 3 and -1). */
  const double indef[4] = {1.0, 2.0, 2.0, 1.0};
  l = (Law *)&l;
  rt_clear(&rt);
  st = law_normal(&rt, 2, NULL, indef, what, &l);
  ok(st == RT_EINVAL && l == NULL, "an indefinite covariance is RT_EINVAL");
  if (!ok(strstr(rt.msg, what) && strstr(rt.msg, "not positive definite"),
          "the message names the covariance and says 'not positive definite'"))
    printf("#   message: %s\n", rt.msg);

  /* A negative variance. */
  const double negvar[4] = {1.0, 0.0, 0.0, -2.0};
  rt_clear(&rt);
  st = law_normal(&rt, 2, NULL, negvar, what, &l);
  ok(st == RT_EINVAL && strstr(rt.msg, what) && strstr(rt.msg, "not positive definite"),
     "a negative variance is RT_EINVAL naming the covariance");

  /* Singular (positive semi-definite only) is not positive definite. */
  const double sing[4] = {1.0, 1.0, 1.0, 1.0};
  rt_clear(&rt);
  st = law_normal(&rt, 2, NULL, sing, what, &l);
  ok(st == RT_EINVAL && strstr(rt.msg, what), "a singular covariance is RT_EINVAL");

  /* A NaN in the covariance. */
  const double nancov[4] = {1.0, NAN, NAN, 1.0};
  rt_clear(&rt);
  st = law_normal(&rt, 2, NULL, nancov, what, &l);
  ok(st == RT_EINVAL && strstr(rt.msg, what), "a NaN in the covariance names the covariance");

  /* Dimension 0. */
  l = (Law *)&l;
  rt_clear(&rt);
  st = law_normal(&rt, 0, NULL, NULL, what, &l);
  ok(st == RT_EINVAL && l == NULL, "dimension 0 is RT_EINVAL");
  if (!ok(strstr(rt.msg, "dimension") && strstr(rt.msg, "0"),
          "the dimension-0 message names the dimension"))
    printf("#   message: %s\n", rt.msg);

  /* NaN in the mean. */
  const double nanmean[2] = {0.0, NAN};
  l = (Law *)&l;
  rt_clear(&rt);
  st = law_normal(&rt, 2, nanmean, NULL, what, &l);
  ok(st == RT_EINVAL && l == NULL, "a NaN in the mean is RT_EINVAL");
  if (!ok(strstr(rt.msg, "mean") && strstr(rt.msg, "index 1"),
          "the NaN-mean message names the mean and the index"))
    printf("#   message: %s\n", rt.msg);
  rt_clear(&rt);
}

/* ------------------------------------------------------------ uniform */

static void test_uniform(void)
{
  enum { D = 2 };
  const double lo[D] = {-1.0, 2.0}, hi[D] = {3.0, 2.5};
  double mid[D], var[D];
  for (int j = 0; j < D; j++) {
    mid[j] = 0.5 * (lo[j] + hi[j]);
    var[j] = (hi[j] - lo[j]) * (hi[j] - lo[j]) / 12.0;
  }
  Law *l;
  RtStatus st = law_uniform(&rt, D, lo, hi, &l);
  if (!ok(st == RT_OK && l, "law_uniform on [-1,3] x [2,2.5]"))
    return;

  /* Range and moments in one pass. */
  const size_t N = 200000;
  size_t ld = BLOCK + PAD, outside = 0;
  double *x = dalloc(D * ld), *scratch = dalloc(law_scratch(l, BLOCK));
  double s[D] = {0}, q[D] = {0}, cross = 0;
  for (uint64_t b = 0; b * BLOCK < N; b++) {
    size_t n = N - b * BLOCK < BLOCK ? N - b * BLOCK : BLOCK;
    SampleBlock sb = {.seed = 77, .block = b, .first = b * BLOCK, .n = n};
    law_sample(l, &sb, x, ld, scratch);
    for (size_t i = 0; i < n; i++) {
      for (int j = 0; j < D; j++) {
        double v = x[j * ld + i];
        outside += !(v >= lo[j] && v <= hi[j]);
        s[j] += v;
        q[j] += (v - mid[j]) * (v - mid[j]);
      }
      cross += (x[i] - mid[0]) * (x[ld + i] - mid[1]);
    }
  }
  ok(outside == 0, "every uniform sample lies in its box (%zu outside)", outside);
  for (int j = 0; j < D; j++) {
    double w = hi[j] - lo[j];
    ok_near(s[j] / N, mid[j], Z5 * sqrt(var[j] / N), "uniform: mean of coordinate %d", j);
    /* Var((x - m)^2) = w^4/80 - w^4/144 = w^4/180. */
    ok_near(q[j] / N, var[j], Z5 * sqrt(w * w * w * w / 180.0 / N),
            "uniform: variance of coordinate %d", j);
  }
  ok_near(cross / N, 0, Z5 * sqrt(var[0] * var[1] / N), "uniform: coordinates uncorrelated");

  double m[D], c[D * D];
  ok(law_moments(l, m, c) == 1, "law_moments of a uniform law is available");
  ok(fabs(m[0] - mid[0]) < 1e-15 && fabs(m[1] - mid[1]) < 1e-15 &&
         fabs(c[0] - var[0]) < 1e-15 && fabs(c[3] - var[1]) < 1e-15 && c[1] == 0 && c[2] == 0,
     "law_moments of a uniform law: midpoints and w^2/12");
  free(x);
  free(scratch);
  law_unref(&rt, l);

  double bad_hi[D] = {3.0, 2.0};
  l = (Law *)&l;
  st = law_uniform(&rt, D, lo, bad_hi, &l);
  ok(st == RT_EINVAL && l == NULL && strstr(rt.msg, "coordinate 1"),
     "a uniform law with lo = hi in coordinate 1 is RT_EINVAL naming it");
  rt_clear(&rt);
}

/* ------------------------------------------------------------ mixture */

/* Closed-form mean and covariance of sum_k w_k N(m_k, S_k). */
static void mix_closed_form(int d, int nc, const double *w, const double *const *m,
                            const double *const *S, double *mean, double *cov)
{
  double tw = 0;
  for (int k = 0; k < nc; k++)
    tw += w[k];
  for (int i = 0; i < d; i++) {
    mean[i] = 0;
    for (int k = 0; k < nc; k++)
      mean[i] += w[k] / tw * m[k][i];
  }
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) {
      double e = 0;
      for (int k = 0; k < nc; k++)
        e += w[k] / tw * (S[k][i * d + j] + (m[k][i] - mean[i]) * (m[k][j] - mean[j]));
      cov[i * d + j] = e;
    }
}

static void test_mixture(void)
{
  enum { D = 2 };
  const double m0[D] = {0.0, 0.0}, S0[D * D] = {1.0, 0.0, 0.0, 1.0};
  const double m1[D] = {3.0, -1.0}, S1[D * D] = {0.5, 0.2, 0.2, 0.8};
  const double w[2] = {1.0, 3.0};     /* normalised: 0.25, 0.75 */
  Law *c[2], *l;
  law_normal(&rt, D, m0, S0, "c0", &c[0]);
  law_normal(&rt, D, m1, S1, "c1", &c[1]);
  RtStatus st = law_mixture(&rt, 2, w, c, &l);
  if (!ok(st == RT_OK && l, "law_mixture of two normals"))
    return;
  ok(fabs(l->weights[0] - 0.25) < 1e-15 && fabs(l->weights[1] - 0.75) < 1e-15,
     "mixture weights are normalised to 0.25, 0.75");
  ok(c[0]->refs == 2 && c[1]->refs == 2, "the mixture holds a reference to each component");

  const double *ms[2] = {m0, m1}, *Ss[2] = {S0, S1};
  double mean[D], cov[D * D];
  mix_closed_form(D, 2, w, ms, Ss, mean, cov);
  /* Spot check of the closed form itself: mean = 0.75 * (3, -1). */
  ok(fabs(mean[0] - 2.25) < 1e-15 && fabs(mean[1] + 0.75) < 1e-15,
     "closed form mixture mean is (2.25, -0.75)");

  double lm[D], lc[D * D];
  ok(law_moments(l, lm, lc) == 1, "law_moments of a mixture is available");
  double worst = 0;
  for (int i = 0; i < D; i++) {
    worst = fmax(worst, fabs(lm[i] - mean[i]));
    for (int j = 0; j < D; j++)
      worst = fmax(worst, fabs(lc[i * D + j] - cov[i * D + j]));
  }
  ok_near(worst, 0, 1e-12, "law_moments of a mixture matches the closed form");

  const size_t N = 200000;
  Acc a = {.d = D, .centre = mean};
  sample_all(l, 0xABCDEF, N, acc_visit, &a);
  for (int j = 0; j < D; j++) {
    ok_near(a.s[j] / N, mean[j], Z5 * sqrt(cov[j * D + j] / N),
            "mixture: mean of coordinate %d", j);
    /* Fourth central moment of a 1-d Gaussian mixture:
     * sum_k w_k (d^4 + 6 d^2 s + 3 s^2), d = m_k - mean, s = S_k. */
    double m4 = 0;
    for (int k = 0; k < 2; k++) {
      double dk = ms[k][j] - mean[j], sk = Ss[k][j * D + j];
      m4 += w[k] / 4.0 * (dk * dk * dk * dk + 6 * dk * dk * sk + 3 * sk * sk);
    }
    double v = cov[j * D + j];
    ok_near(a.p[j * D + j] / N, v, Z5 * sqrt((m4 - v * v) / N),
            "mixture: variance of coordinate %d", j);
  }
  /* E[(x0-m0)^2 (x1-m1)^2] in closed form, for the covariance's SE. */
  double e22 = 0;
  for (int k = 0; k < 2; k++) {
    double a0 = ms[k][0] - mean[0], a1 = ms[k][1] - mean[1];
    double s00 = Ss[k][0], s11 = Ss[k][3], s01 = Ss[k][1];
    /* E[(a0+u)^2 (a1+v)^2] for (u, v) ~ N(0, S_k). */
    double t = a0 * a0 * a1 * a1 + a0 * a0 * s11 + a1 * a1 * s00 + 4 * a0 * a1 * s01 +
               s00 * s11 + 2 * s01 * s01;
    e22 += w[k] / 4.0 * t;
  }
  ok_near(a.p[1] / N, cov[1], Z5 * sqrt((e22 - cov[1] * cov[1]) / N),
          "mixture: covariance [0][1]");

  /* Component frequencies: the samples near (3,-1) should be about 75%:
   * checked through the mean of x0, which is 3 * P(component 1). */
  ok(law_is_gaussian(l), "a mixture of normals is Gaussian");
  law_unref(&rt, l);
  ok(c[0]->refs == 1 && c[1]->refs == 1, "releasing the mixture releases its references");

  /* Uniform and nested mixtures. */
  const double lo[D] = {0, 0}, hi[D] = {1, 1};
  Law *u, *mu_, *nested, *gg;
  law_uniform(&rt, D, lo, hi, &u);
  Law *cu[2] = {c[0], u};
  law_mixture(&rt, 2, w, cu, &mu_);
  law_mixture(&rt, 2, w, c, &gg);
  Law *cn[2] = {gg, c[1]};
  law_mixture(&rt, 2, w, cn, &nested);
  ok(law_is_gaussian(c[0]) == 1, "law_is_gaussian(normal) = 1");
  ok(law_is_gaussian(u) == 0, "law_is_gaussian(uniform) = 0");
  ok(law_is_gaussian(mu_) == 0, "law_is_gaussian(normal + uniform mixture) = 0");
  ok(law_is_gaussian(nested) == 1, "law_is_gaussian(mixture of a mixture of normals) = 1");
  Law *cm[2] = {mu_, c[1]}, *nested_u;
  law_mixture(&rt, 2, w, cm, &nested_u);
  ok(law_is_gaussian(nested_u) == 0, "law_is_gaussian(mixture holding a uniform deep) = 0");

  /* Errors. */
  const double negw[2] = {1.0, -1.0}, zerow[2] = {0, 0};
  l = (Law *)&l;
  ok(law_mixture(&rt, 2, negw, c, &l) == RT_EINVAL && l == NULL,
     "a negative mixture weight is RT_EINVAL");
  ok(law_mixture(&rt, 2, zerow, c, &l) == RT_EINVAL, "mixture weights summing to 0 are RT_EINVAL");
  Law *c3;
  law_normal(&rt, 3, NULL, NULL, "c3", &c3);
  Law *cd[2] = {c[0], c3};
  ok(law_mixture(&rt, 2, w, cd, &l) == RT_EINVAL && strstr(rt.msg, "dimension"),
     "mixture components of different dimensions are RT_EINVAL");
  rt_clear(&rt);
  law_unref(&rt, c3);
  law_unref(&rt, nested_u);
  law_unref(&rt, nested);
  law_unref(&rt, gg);
  law_unref(&rt, mu_);
  law_unref(&rt, u);
  law_unref(&rt, c[0]);
  law_unref(&rt, c[1]);
}

/* ------------------------------------------------------------ empirical */

enum { EROWS = 7, ECOLS = 2 };

static double erow(int r, int c) { return 10.0 * r + c + 0.25; }

static Law *make_empirical(int replace)
{
  DataMatrix dm;
  memset(&dm, 0, sizeof dm);
  double *v = rt_alloc(&rt, EROWS * ECOLS * sizeof *v);
  for (int r = 0; r < EROWS; r++)
    for (int c = 0; c < ECOLS; c++)
      v[r * ECOLS + c] = erow(r, c);
  dm.rows = EROWS;
  dm.cols = ECOLS;
  dm.data = v;
  dm.heap = v;
  Law *l = NULL;
  RtStatus st = law_empirical(&rt, &dm, replace, &l);
  ok(st == RT_OK && l && dm.data == NULL && dm.heap == NULL,
     "law_empirical takes ownership of the data (replace = %d)", replace);
  return l;
}

static void test_empirical(void)
{
  Law *l = make_empirical(1);
  if (!l)
    return;
  ok(l->dim == ECOLS && strcmp(law_kind_name(l), "empirical") == 0 && !law_is_gaussian(l),
     "an empirical law of 2 columns, not Gaussian");
  const size_t N = 70000;
  size_t ld = BLOCK + PAD, notrow = 0, count[EROWS] = {0};
  double *x = dalloc(ECOLS * ld), *scratch = dalloc(law_scratch(l, BLOCK));
  for (uint64_t b = 0; b * BLOCK < N; b++) {
    size_t n = N - b * BLOCK < BLOCK ? N - b * BLOCK : BLOCK;
    SampleBlock sb = {.seed = 99, .block = b, .first = b * BLOCK, .n = n};
    law_sample(l, &sb, x, ld, scratch);
    for (size_t i = 0; i < n; i++) {
      /* Row r has x0 = 10 r + 0.25 and x1 = 10 r + 1.25. */
      double r = (x[i] - 0.25) / 10.0;
      int ri = (int)r;
      if (r != ri || ri < 0 || ri >= EROWS || x[i] != erow(ri, 0) || x[ld + i] != erow(ri, 1))
        notrow++;
      else
        count[ri]++;
    }
  }
  ok(notrow == 0, "every sample with replacement is a row of the data (%zu are not)", notrow);
  double p = 1.0 / EROWS, se = sqrt(p * (1 - p) / N);
  for (int r = 0; r < EROWS; r++)
    ok_near((double)count[r] / N, p, Z5 * se, "with replacement: frequency of row %d", r);

  /* Moments of an empirical law are the sample moments (flagged as not
   * closed-form). */
  double m[ECOLS], c[ECOLS * ECOLS];
  ok(law_moments(l, m, c) == 0, "law_moments of an empirical law returns 0");
  /* rows 10r + 0.25 for r = 0..6: mean 30.25, variance 100 * 4 = 400. */
  ok(fabs(m[0] - 30.25) < 1e-12 && fabs(m[1] - 31.25) < 1e-12 && fabs(c[0] - 400) < 1e-9 &&
         fabs(c[1] - 400) < 1e-9 && fabs(c[3] - 400) < 1e-9,
     "empirical sample moments: mean (30.25, 31.25), covariance 400 everywhere");
  law_unref(&rt, l);

  /* Without replacement: rows first, first + 1, ... */
  l = make_empirical(0);
  if (l) {
    double xs[ECOLS * 8], sc[8];
    SampleBlock sb = {.seed = 1, .block = 3, .first = 2, .n = 5};
    law_sample(l, &sb, xs, 8, sc);
    int inorder = 1;
    for (size_t i = 0; i < 5; i++)
      inorder &= xs[i] == erow(2 + (int)i, 0) && xs[8 + i] == erow(2 + (int)i, 1);
    ok(inorder, "without replacement, samples are rows 2, 3, 4, 5, 6 in order");
    SampleBlock sb0 = {.seed = 12345, .block = 0, .first = 0, .n = 3};
    law_sample(l, &sb0, xs, 8, sc);
    ok(xs[0] == erow(0, 0) && xs[1] == erow(1, 0) && xs[2] == erow(2, 0) &&
           xs[8] == erow(0, 1) && xs[10] == erow(2, 1),
       "without replacement from first = 0: rows 0, 1, 2 (the seed does not matter)");
    law_unref(&rt, l);
  }
  free(x);
  free(scratch);

  DataMatrix empty;
  memset(&empty, 0, sizeof empty);
  l = (Law *)&l;
  ok(law_empirical(&rt, &empty, 1, &l) == RT_EINVAL && l == NULL,
     "an empirical law of no rows is RT_EINVAL");
  rt_clear(&rt);
}

/* ------------------------------------------------------------ reproducibility */

static void sample_one(const Law *l, SampleBlock sb, double *x, size_t ld)
{
  double *scratch = dalloc(law_scratch(l, sb.n));
  law_sample(l, &sb, x, ld, scratch);
  free(scratch);
}

static void repro_for(const Law *l, const char *name)
{
  enum { n = 1000 };
  size_t ld = n + PAD, sz = (size_t)l->dim * ld;
  double *a = dalloc(sz), *b = dalloc(sz);
  SampleBlock sb = {.seed = 42, .block = 5, .first = 5 * n, .sub = 0, .n = n};
  sample_one(l, sb, a, ld);
  sample_one(l, sb, b, ld);
  int same = 1;
  for (int j = 0; j < l->dim; j++)
    same &= memcmp(a + j * ld, b + j * ld, n * sizeof *a) == 0;
  ok(same, "%s: the same SampleBlock gives identical bits", name);

  SampleBlock other = sb;
  other.block = 6;
  sample_one(l, other, b, ld);
  ok(memcmp(a, b, n * sizeof *a) != 0, "%s: another block gives other samples", name);
  other = sb;
  other.seed = 43;
  sample_one(l, other, b, ld);
  ok(memcmp(a, b, n * sizeof *a) != 0, "%s: another seed gives other samples", name);
  other = sb;
  other.sub = 1;
  sample_one(l, other, b, ld);
  ok(memcmp(a, b, n * sizeof *a) != 0, "%s: another substream gives other samples", name);

  /* A block sampled with a larger ld holds the same values. */
  double *c = dalloc((size_t)l->dim * (ld + 17));
  sample_one(l, sb, c, ld + 17);
  same = 1;
  for (int j = 0; j < l->dim; j++)
    same &= memcmp(a + j * ld, c + j * (ld + 17), n * sizeof *a) == 0;
  ok(same, "%s: the leading dimension does not change the samples", name);
  free(a);
  free(b);
  free(c);
}

static void test_reproducible(void)
{
  const double S[4] = {1.0, 0.3, 0.3, 2.0}, lo[2] = {0, 0}, hi[2] = {1, 2};
  Law *n, *u, *m;
  law_normal(&rt, 2, NULL, S, "r", &n);
  law_uniform(&rt, 2, lo, hi, &u);
  Law *cs[2] = {n, u};
  const double w[2] = {0.5, 0.5};
  law_mixture(&rt, 2, w, cs, &m);
  repro_for(n, "normal");
  repro_for(u, "uniform");
  repro_for(m, "mixture");
  Law *e = make_empirical(1);
  if (e) {
    repro_for(e, "empirical");
    law_unref(&rt, e);
  }
  law_unref(&rt, m);
  law_unref(&rt, u);
  law_unref(&rt, n);
}

/* ------------------------------------------------------------ affine image */

/* W S W^T (k × k) by plain loops; W is k × d row-major. */
static void wswt(int k, int d, const double *W, const double *S, double *out)
{
  for (int a = 0; a < k; a++)
    for (int b = 0; b < k; b++) {
      double s = 0;
      for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++)
          s += W[a * d + i] * S[i * d + j] * W[b * d + j];
      out[a * k + b] = s;
    }
}

/* Checks an image law against the hand-computed mean and covariance: its
 * stored cov, law_moments, and that its sampling factor reproduces cov. */
static void image_is(const Law *img, int k, const double *mean, const double *cov,
                     const char *name)
{
  if (!ok(img && img->dim == k && img->kind == LAW_NORMAL, "%s: a normal law of dim %d",
          name, k))
    return;
  double em = 0, ec = 0, ef = 0;
  for (int a = 0; a < k; a++) {
    em = fmax(em, fabs(img->mean[a] - mean[a]));
    for (int b = 0; b < k; b++) {
      ec = fmax(ec, fabs(img->cov[a * k + b] - cov[a * k + b]));
      double f = 0;
      for (int r = 0; r < img->rank; r++)
        f += img->factor[a * img->rank + r] * img->factor[b * img->rank + r];
      ef = fmax(ef, fabs(f - cov[a * k + b]));
    }
  }
  ok_near(em, 0, 1e-12, "%s: mean is W mu + b", name);
  ok_near(ec, 0, 1e-11, "%s: covariance is W S W^T", name);
  ok_near(ef, 0, 1e-11, "%s: the sampling factor F has F F^T = W S W^T", name);
  double m[16], c[256];
  ok(k <= 16 && law_moments(img, m, c) == 1 && memcmp(m, img->mean, k * sizeof *m) == 0 &&
         memcmp(c, img->cov, (size_t)k * k * sizeof *c) == 0,
     "%s: law_moments agrees with the image", name);
}

static void test_affine(void)
{
  enum { D = 3 };
  const double mu[D] = {1.0, -2.0, 0.5};
  const double S[D * D] = {2.0, 0.8, -0.5, 0.8, 1.5, 0.3, -0.5, 0.3, 1.0};
  Law *l;
  law_normal(&rt, D, mu, S, "a", &l);

  /* d = 3 > K = 2: the factor is compressed to 2 columns. */
  const double W2[2 * D] = {1.0, -1.0, 0.5, 0.25, 2.0, -3.0}, b2[2] = {0.5, -1.5};
  double mean2[2], cov2[4];
  for (int a = 0; a < 2; a++) {
    mean2[a] = b2[a];
    for (int j = 0; j < D; j++)
      mean2[a] += W2[a * D + j] * mu[j];
  }
  wswt(2, D, W2, S, cov2);
  Law *img = NULL;
  RtStatus st = law_affine_image(&rt, l, 2, W2, b2, &img);
  ok(st == RT_OK && img, "law_affine_image of a normal, K = 2 < d = 3");
  image_is(img, 2, mean2, cov2, "K=2 < d=3");
  ok(img && img->rank <= 2, "K=2 < d=3: the factor has at most K = 2 columns");

  /* The image's samples have the image's moments (5 SE). */
  if (img) {
    const size_t N = 100000;
    Acc a = {.d = 2, .centre = mean2};
    sample_all(img, 7, N, acc_visit, &a);
    for (int j = 0; j < 2; j++)
      ok_near(a.s[j] / N, mean2[j], Z5 * sqrt(cov2[j * 2 + j] / N),
              "K=2 image samples: mean %d", j);
    ok_near(a.p[1] / N, cov2[1], Z5 * sqrt((cov2[0] * cov2[3] + cov2[1] * cov2[1]) / N),
            "K=2 image samples: covariance [0][1]");
  }
  law_unref(&rt, img);

  /* K = 4 > d = 3, b NULL: singular 4×4 covariance of rank 3. */
  const double W4[4 * D] = {1, 0, 0, 0, 1, 0, 1, 1, 0, 0.5, -2, 3};
  double mean4[4], cov4[16];
  for (int a = 0; a < 4; a++) {
    mean4[a] = 0;
    for (int j = 0; j < D; j++)
      mean4[a] += W4[a * D + j] * mu[j];
  }
  wswt(4, D, W4, S, cov4);
  st = law_affine_image(&rt, l, 4, W4, NULL, &img);
  ok(st == RT_OK && img, "law_affine_image of a normal, K = 4 > d = 3, no bias");
  image_is(img, 4, mean4, cov4, "K=4 > d=3");
  law_unref(&rt, img);

  /* Rank deficient: the rows of W are proportional, W S W^T has rank 1. */
  const double Wr[2 * D] = {1.0, 2.0, -1.0, -2.0, -4.0, 2.0}, br[2] = {1.0, 2.0};
  double meanr[2], covr[4];
  for (int a = 0; a < 2; a++) {
    meanr[a] = br[a];
    for (int j = 0; j < D; j++)
      meanr[a] += Wr[a * D + j] * mu[j];
  }
  wswt(2, D, Wr, S, covr);
  st = law_affine_image(&rt, l, 2, Wr, br, &img);
  ok(st == RT_OK && img, "law_affine_image with a rank-1 W");
  image_is(img, 2, meanr, covr, "rank-1 W");
  ok(img && img->rank == 1, "rank-1 W: the compressed factor has one column (rank %d)",
     img ? img->rank : -1);
  if (img) {
    /* Every sample lies on the line y1 - 2 = -2 (y0 - 1)... i.e. the
     * centred samples satisfy (y1 - m1) = -2 (y0 - m0). */
    double x[2 * 64], sc[64];
    SampleBlock sb = {.seed = 3, .block = 0, .n = 60};
    law_sample(img, &sb, x, 64, sc);
    double worst = 0;
    for (int i = 0; i < 60; i++)
      worst = fmax(worst, fabs((x[64 + i] - meanr[1]) + 2 * (x[i] - meanr[0])));
    ok_near(worst, 0, 1e-9, "rank-1 W: the samples lie on the image line");
  }
  law_unref(&rt, img);

  /* W = 0: the image is a point mass at b. */
  const double W0[2 * D] = {0}, b0[2] = {4.0, -4.0};
  st = law_affine_image(&rt, l, 2, W0, b0, &img);
  if (ok(st == RT_OK && img && img->rank == 0, "W = 0 gives a rank-0 image")) {
    double x[2 * 16], sc[16];
    SampleBlock sb = {.seed = 3, .block = 0, .n = 10};
    law_sample(img, &sb, x, 16, sc);
    int all = 1;
    for (int i = 0; i < 10; i++)
      all &= x[i] == 4.0 && x[16 + i] == -4.0;
    ok(all, "W = 0: every sample equals b");
  }
  law_unref(&rt, img);

  /* A mixture of normals maps to a mixture of the images. */
  const double m1[D] = {0, 1, 0};
  Law *l1, *mix, *cs[2];
  law_normal(&rt, D, m1, NULL, "b", &l1);
  cs[0] = l;
  cs[1] = l1;
  const double w[2] = {2.0, 1.0};
  law_mixture(&rt, 2, w, cs, &mix);
  st = law_affine_image(&rt, mix, 2, W2, b2, &img);
  ok(st == RT_OK && img && img->kind == LAW_MIXTURE && img->ncomp == 2 && law_is_gaussian(img),
     "the image of a mixture of normals is a Gaussian mixture of 2 components");
  if (img && img->kind == LAW_MIXTURE) {
    ok(fabs(img->weights[0] - 2.0 / 3) < 1e-15 && fabs(img->weights[1] - 1.0 / 3) < 1e-15,
       "the image mixture keeps the weights 2/3, 1/3");
    /* Mixture moments of the image = W (mixture moments) W^T + b. */
    const double I3[D * D] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    const double *ms[2] = {mu, m1}, *Ss[2] = {S, I3};
    double xm[D], xc[D * D], ym[2], yc[4], gm[2], gc[4];
    mix_closed_form(D, 2, w, ms, Ss, xm, xc);
    for (int a = 0; a < 2; a++) {
      ym[a] = b2[a];
      for (int j = 0; j < D; j++)
        ym[a] += W2[a * D + j] * xm[j];
    }
    wswt(2, D, W2, xc, yc);
    ok(law_moments(img, gm, gc) == 1, "law_moments of the image mixture is available");
    double worst = 0;
    for (int a = 0; a < 2; a++) {
      worst = fmax(worst, fabs(gm[a] - ym[a]));
      for (int b = 0; b < 2; b++)
        worst = fmax(worst, fabs(gc[a * 2 + b] - yc[a * 2 + b]));
    }
    ok_near(worst, 0, 1e-11, "image mixture moments = W (mixture moments) W^T + b");
  }
  law_unref(&rt, img);

  /* No closed form for a uniform law: *out = NULL and RT_OK. */
  const double lo[D] = {0, 0, 0}, hi[D] = {1, 1, 1};
  Law *u;
  law_uniform(&rt, D, lo, hi, &u);
  img = (Law *)&img;
  st = law_affine_image(&rt, u, 2, W2, b2, &img);
  ok(st == RT_OK && img == NULL, "the image of a uniform law: RT_OK and NULL");
  law_unref(&rt, u);
  law_unref(&rt, mix);
  law_unref(&rt, l1);
  law_unref(&rt, l);
}

int main(void)
{
  rt_init(&rt);
  test_normal_moments();
  test_normal_errors();
  test_uniform();
  test_mixture();
  test_empirical();
  test_reproducible();
  test_affine();
  return tap_done();
}
