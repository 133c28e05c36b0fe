/*
 * test_mvn.c — multivariate normal probabilities against independent values.
 *
 * References: the exact trivariate orthant formula, the equicorrelated
 * orthant 1/(n+1) at ρ = 1/2, one-dimensional integrals (quad) for
 * equicorrelated rectangles and for rank-2 polytopes, products over
 * independent blocks, and reductions of singular covariances to the
 * nonsingular problem they are equal to.  The error estimate is checked for
 * honesty in both directions over 50 seeds.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gauss.h"
#include "mvn.h"
#include "quad.h"
#include "rt.h"
#include "tap.h"
#include "testalloc.h"

#define PI 3.14159265358979323846

static Rt rt;

static void fresh_rt(void)
{
  counting_rt(&rt);
}

typedef struct Est {
  RtStatus st;
  double p, e;
  MvnInfo info;
} Est;

static Est run(int n, const double *cov, const double *lo, const double *up,
               double abs_tol, uint64_t seed)
{
  Est r;
  MvnOpts o;
  mvn_default_opts(&o);
  o.abs_tol = abs_tol;
  o.seed = seed;
  r.st = mvn_prob(&rt, n, cov, lo, up, &o, &r.p, &r.e, &r.info);
  return r;
}

/* |p - want| within 3 stated standard errors plus a rounding allowance. */
static int within(Est r, double want, double slack)
{
  return r.st == RT_OK && fabs(r.p - want) <= 3 * r.e + slack;
}

static void equicorr(int n, double rho, double *cov)
{
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      cov[i * n + j] = i == j ? 1 : rho;
}

/* ------------------------------------------ independent reference values */

/* P(a_i < Y_i < b_i ∀i) for unit-variance equicorrelation ρ >= 0 by
 * Y_i = √ρ Z0 + √(1-ρ) Z_i: ∫ φ(z) Π_i [Φ(u_i(z)) - Φ(l_i(z))] dz. */
typedef struct Equi {
  int n;
  double rho;
  const double *a, *b;
} Equi;

static double f_equi(double z, void *ctx)
{
  const Equi *q = ctx;
  double s = sqrt(q->rho), t = sqrt(1 - q->rho), prod = gauss_pdf(z);
  for (int i = 0; i < q->n; i++)
    prod *= gauss_interval((q->a[i] - s * z) / t, (q->b[i] - s * z) / t);
  return prod;
}

static double equi_ref(int n, double rho, const double *a, const double *b)
{
  Equi q = {n, rho, a, b};
  QuadResult r;
  QuadOpts o;
  double br[2] = {-1, 1};
  quad_default_opts(&o);
  o.abs_tol = 0;                 /* relative accuracy also for tiny values */
  quad_integrate(&rt, f_equi, &q, -INFINITY, INFINITY, br, 2, &o, &r);
  return r.value;
}

/* P(lo < A x < hi) for x ~ N(0, I2), A k×2: ∫ φ(x1) P(x2 in the interval
 * the constraints leave) dx1, with breakpoints wherever two constraint
 * boundaries cross or a constraint on x1 alone switches. */
typedef struct Poly {
  int k;
  const double *A, *lo, *hi;
} Poly;

static double f_poly(double x1, void *ctx)
{
  const Poly *q = ctx;
  double l = -INFINITY, h = INFINITY;
  for (int i = 0; i < q->k; i++) {
    double c1 = q->A[2 * i], c2 = q->A[2 * i + 1];
    if (c2 == 0) {
      if (!(q->lo[i] < c1 * x1 && c1 * x1 < q->hi[i]))
        return 0;
      continue;
    }
    double u = (q->lo[i] - c1 * x1) / c2, v = (q->hi[i] - c1 * x1) / c2;
    l = fmax(l, fmin(u, v));
    h = fmin(h, fmax(u, v));
  }
  return gauss_pdf(x1) * gauss_interval(l, h);
}

static double poly_ref(int k, const double *A, const double *lo, const double *hi)
{
  double br[400];
  int nb = 0;
  for (int i = 0; i < k; i++) {
    const double ci[2] = {lo[i], hi[i]};
    for (int s = 0; s < 2; s++) {
      if (!isfinite(ci[s]))
        continue;
      if (A[2 * i + 1] == 0 && A[2 * i] != 0)
        br[nb++] = ci[s] / A[2 * i];
      for (int j = 0; j < i; j++) {
        const double cj[2] = {lo[j], hi[j]};
        double det = A[2 * i] * A[2 * j + 1] - A[2 * j] * A[2 * i + 1];
        for (int t = 0; t < 2 && det != 0; t++)
          if (isfinite(cj[t]))
            br[nb++] = (ci[s] * A[2 * j + 1] - cj[t] * A[2 * i + 1]) / det;
      }
    }
  }
  Poly q = {k, A, lo, hi};
  QuadResult r;
  quad_integrate(&rt, f_poly, &q, -INFINITY, INFINITY, br, nb, NULL, &r);
  return r.value;
}

/* Rectangle probability of a standard bivariate normal from bvn corners. */
static double rect2(double a0, double b0, double a1, double b1, double rho)
{
  return bvn_cdf(b0, b1, rho) - bvn_cdf(a0, b1, rho) - bvn_cdf(b0, a1, rho)
         + bvn_cdf(a0, a1, rho);
}

/* A trivariate rectangle (unit variances, correlations r12, r13, r23) as
 * ∫_{a1}^{b1} φ(y) P((Y2, Y3) in the box | Y1 = y) dy, the conditional law
 * being bivariate normal: means r1j·y, sds √(1 - r1j²), correlation
 * (r23 - r12 r13)/(s2 s3). */
typedef struct Tri {
  double r12, r13, r23;
  const double *a, *b;
} Tri;

static double f_tri(double y, void *ctx)
{
  const Tri *t = ctx;
  double s2 = sqrt(1 - t->r12 * t->r12), s3 = sqrt(1 - t->r13 * t->r13);
  double r = (t->r23 - t->r12 * t->r13) / (s2 * s3);
  return gauss_pdf(y) * rect2((t->a[1] - t->r12 * y) / s2, (t->b[1] - t->r12 * y) / s2,
                              (t->a[2] - t->r13 * y) / s3, (t->b[2] - t->r13 * y) / s3, r);
}

static double tri_ref(double r12, double r13, double r23, const double *a, const double *b)
{
  Tri t = {r12, r13, r23, a, b};
  QuadResult r;
  double br[2] = {-1, 1};
  quad_integrate(&rt, f_tri, &t, a[0], b[0], br, 2, NULL, &r);
  return r.value;
}

/* ------------------------------------------------------------------ tests */

static void test_small_exact(void)
{
  double c1[1] = {4}, l1[1] = {-1}, u1[1] = {3};
  Est r = run(1, c1, l1, u1, 1e-6, 0);
  ok(r.st == RT_OK && r.info.exact, "n = 1 runs on the exact path");
  ok_rel(r.p, gauss_interval(-0.5, 1.5), 1e-15, "n = 1: P(-1 < 2Z < 3)");

  double c2[4] = {4, -1.2, -1.2, 1}, l2[2] = {-1, 0.3}, u2[2] = {3, INFINITY};
  r = run(2, c2, l2, u2, 1e-6, 0);
  ok(r.st == RT_OK && r.info.exact && r.e <= 1e-15, "n = 2 runs on the exact path");
  ok_near(r.p, rect2(-0.5, 1.5, 0.3, INFINITY, -0.6), 2e-15, "n = 2: scaled rectangle = bvn corners");

  double c2s[4] = {1, 1, 1, 1}, l2s[2] = {-INFINITY, -INFINITY}, u2s[2] = {0.5, -0.2};
  r = run(2, c2s, l2s, u2s, 1e-6, 0);
  ok_near(r.p, gauss_cdf(-0.2), 1e-15, "n = 2 with correlation 1 = Phi(min)");

  double c3[9] = {1, 0.3, 0, 0.3, 1, 0, 0, 0, 0};
  double l3[3] = {-INFINITY, -1, -2}, u3[3] = {0.5, INFINITY, 1};
  r = run(3, c3, l3, u3, 1e-6, 0);
  ok_near(r.p, rect2(-INFINITY, 0.5, -1, INFINITY, 0.3), 2e-15,
          "zero-variance variable inside its interval drops out");
  l3[2] = 0.1;
  r = run(3, c3, l3, u3, 1e-6, 0);
  ok(r.st == RT_OK && r.p == 0, "zero-variance variable outside its interval gives 0");

  double c4[16];
  equicorr(4, 0.4, c4);
  double l4[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY}, u4[4] = {INFINITY, 0, INFINITY, 1};
  r = run(4, c4, l4, u4, 1e-6, 0);
  ok(r.info.dims == 2 && r.info.exact, "unconstrained variables are marginalised out");
  ok_near(r.p, bvn_cdf(0, 1, 0.4), 1e-15, "  leaving a bvn probability");
  u4[0] = -1, l4[0] = -1;
  r = run(4, c4, l4, u4, 1e-6, 0);
  ok(r.st == RT_OK && r.p == 0 && r.e == 0, "empty interval gives exactly 0");
  double none[2] = {-INFINITY, -INFINITY}, all[2] = {INFINITY, INFINITY};
  r = run(2, c2, none, all, 1e-6, 0);
  ok(r.st == RT_OK && r.p == 1, "no constraint at all gives 1");
}

static void test_orthant3(void)
{
  const double rhos[][3] = {{0.5, 0.5, 0.5}, {0.2, -0.3, 0.4}, {-0.45, -0.45, -0.05},
                            {0.9, 0.8, 0.75}, {0.0, 0.0, 0.0}};
  for (int t = 0; t < 5; t++) {
    double r12 = rhos[t][0], r13 = rhos[t][1], r23 = rhos[t][2];
    double cov[9] = {1, r12, r13, r12, 1, r23, r13, r23, 1};
    double lo[3] = {-INFINITY, -INFINITY, -INFINITY}, up[3] = {0, 0, 0};
    double want = 0.125 + (asin(r12) + asin(r13) + asin(r23)) / (4 * PI);
    Est r = run(3, cov, lo, up, 3e-7, 1234);
    ok(within(r, want, 1e-15) && fabs(r.p - want) <= 1e-6,
       "3-d orthant (%.2f, %.2f, %.2f): %.9f vs exact %.9f (err %.2g, %ld evals)",
       r12, r13, r23, r.p, want, r.e, r.info.evals);
    ok(r.info.converged && !r.info.exact && r.info.rank == 3, "  converged by QMC in 3 dims");
  }
}

static void test_rectangles3(void)
{
  const double cases[][9] = {
    /* r12, r13, r23, a1, b1, a2, b2, a3, b3 */
    {0.3, -0.4, 0.2, -1, 1.5, -INFINITY, 0.3, -0.5, 2},
    {-0.7, 0.6, -0.5, -INFINITY, 0.2, -1.2, INFINITY, -2, -0.1},
    {0.85, 0.8, 0.9, 0.5, 2.5, 0, INFINITY, -INFINITY, 1.5},
    {-0.2, -0.3, -0.4, -3, -1, 1, 3, -1, 1},
  };
  for (int t = 0; t < 4; t++) {
    const double *c = cases[t];
    double cov[9] = {1, c[0], c[1], c[0], 1, c[2], c[1], c[2], 1};
    double a[3] = {c[3], c[5], c[7]}, b[3] = {c[4], c[6], c[8]};
    double want = tri_ref(c[0], c[1], c[2], a, b);
    Est r = run(3, cov, a, b, 5e-7, 100 + t);
    ok(within(r, want, 1e-12), "3-d rectangle %d: %.9f vs 1-D integral of bvn %.9f (err %.2g)",
       t, r.p, want, r.e);
  }
}

static void test_equicorrelated(void)
{
  static double cov[300 * 300], lo[300], up[300];
  const int ns[] = {4, 8, 16};
  for (int t = 0; t < 3; t++) {
    int n = ns[t];
    equicorr(n, 0.5, cov);
    for (int i = 0; i < n; i++)
      lo[i] = -INFINITY, up[i] = 0;
    Est r = run(n, cov, lo, up, 1e-6, 7);
    ok(within(r, 1.0 / (n + 1), 1e-15) && fabs(r.p - 1.0 / (n + 1)) < 2e-5,
       "equicorrelated orthant n = %d: %.8f vs 1/(n+1) (err %.2g)", n, r.p, r.e);
  }
  /* General rectangle limits against the 1-D integral. */
  int n = 6;
  double a[6] = {-1, -INFINITY, -0.5, -2, -INFINITY, 0.2};
  double b[6] = {1.5, 0.7, INFINITY, 0.1, 1.2, 2.5};
  equicorr(n, 0.35, cov);
  double want = equi_ref(n, 0.35, a, b);
  Est r = run(n, cov, a, b, 1e-7, 99);
  ok(within(r, want, 1e-12), "equicorrelated rectangle n = 6: %.9f vs 1-D integral %.9f (err %.2g)",
     r.p, want, r.e);
  /* Far in the upper tail (P ~ 4e-22): relative accuracy needs the
   * upper-side form of every conditional interval. */
  double ta[3] = {7, 7.5, 8}, tb[3] = {INFINITY, INFINITY, INFINITY};
  equicorr(3, 0.5, cov);
  want = equi_ref(3, 0.5, ta, tb);
  MvnOpts o;
  mvn_default_opts(&o);
  o.abs_tol = 0;
  o.rel_tol = 2e-4;
  r.st = mvn_prob(&rt, 3, cov, ta, tb, &o, &r.p, &r.e, &r.info);
  ok(r.st == RT_OK && fabs(r.p / want - 1) < 1e-3 && r.info.converged,
     "upper-tail orthant: %.6g vs 1-D integral %.6g (rel err %.2g)", r.p, want, r.e / r.p);
  /* n = 300: the dimension the router needs, to a loose tolerance. */
  n = 300;
  equicorr(n, 0.5, cov);
  for (int i = 0; i < n; i++)
    lo[i] = -INFINITY, up[i] = 0;
  r = run(n, cov, lo, up, 2e-4, 3);
  ok(within(r, 1.0 / 301, 1e-15) && r.e <= 2e-4 && r.info.rank == 300,
     "equicorrelated orthant n = 300: %.6f vs 1/301 = %.6f (err %.2g, %ld evals)",
     r.p, 1.0 / 301, r.e, r.info.evals);
}

static void test_blocks(void)
{
  /* Σ = diag(B2, B3, s²): the probability factorises. */
  double cov[36] = {0};
  double b2[4] = {2.0, -0.9, -0.9, 1.0};
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      cov[i * 6 + j] = b2[i * 2 + j];
  for (int i = 2; i < 5; i++)
    for (int j = 2; j < 5; j++)
      cov[i * 6 + j] = i == j ? 1 : 0.6;
  cov[35] = 0.25;
  double lo[6] = {-1, -INFINITY, -0.3, -INFINITY, -1, -0.2};
  double up[6] = {2, 0.4, 1.1, 0.5, INFINITY, 0.6};
  double s0 = sqrt(2.0), rho = -0.9 / s0;
  double pa = rect2(lo[0] / s0, up[0] / s0, lo[1], up[1], rho);
  double pb = equi_ref(3, 0.6, lo + 2, up + 2);
  double pc = gauss_interval(-0.4, 1.2);
  Est r = run(6, cov, lo, up, 1e-7, 5);
  ok(within(r, pa * pb * pc, 1e-12), "block-diagonal = product of blocks: %.9f vs %.9f (err %.2g)",
     r.p, pa * pb * pc, r.e);
}

static void test_singular(void)
{
  /* A repeated variable: Y4 = Y1, so the constraints intersect and the
   * 3-d orthant formula applies with the tighter limit. */
  double r12 = 0.3, r13 = -0.2, r23 = 0.5;
  double cov4[16] = {1, r12, r13, 1, r12, 1, r23, r12, r13, r23, 1, r13, 1, r12, r13, 1};
  double lo[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY}, up[4] = {0.8, 0, 0, 0};
  double want = 0.125 + (asin(r12) + asin(r13) + asin(r23)) / (4 * PI);
  Est r = run(4, cov4, lo, up, 1e-7, 11);
  ok(r.st == RT_OK && r.info.rank == 3, "repeated variable: rank 3 of 4 (%s)", rt.msg);
  ok(within(r, want, 1e-12) && fabs(r.p - want) < 1e-6,
     "  equals the 3-d orthant with intersected limits: %.9f vs %.9f (err %.2g)", r.p, want, r.e);

  /* Rank 2 in 4 dims with exact integer Σ: Y = (X1, X2, 2 X1, X1 + X2). */
  double A[8] = {1, 0, 0, 1, 2, 0, 1, 1};
  double cov[16];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      cov[i * 4 + j] = A[2 * i] * A[2 * j] + A[2 * i + 1] * A[2 * j + 1];
  double l2[4] = {-1, -INFINITY, -INFINITY, -0.5}, u2[4] = {1.5, 0.8, 1.2, 1.0};
  want = poly_ref(4, A, l2, u2);
  r = run(4, cov, l2, u2, 1e-7, 12);
  ok(r.st == RT_OK && r.info.rank == 2, "rank-2 covariance in 4 dims: rank found 2");
  ok(within(r, want, 1e-10), "  equals the 2-d polygon probability: %.9f vs %.9f (err %.2g)",
     r.p, want, r.e);

  /* Σ = A Aᵀ from a random 5×2 A, with the rounding that brings. */
  double B[10] = {0.83, -0.41, -0.27, 1.12, 0.55, 0.61, -1.3, -0.02, 0.4, -0.77};
  double cb[25], lb[5] = {-1.1, -INFINITY, -0.4, -INFINITY, -2}, ub[5] = {1.0, 0.9, INFINITY, 0.7, 0.3};
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 5; j++)
      cb[i * 5 + j] = B[2 * i] * B[2 * j] + B[2 * i + 1] * B[2 * j + 1];
  want = poly_ref(5, B, lb, ub);
  r = run(5, cb, lb, ub, 1e-7, 13);
  ok(r.st == RT_OK && r.info.rank == 2, "rank-2 A Aᵀ with rounding: rank found 2");
  ok(within(r, want, 1e-10), "  equals the 2-d polygon probability: %.9f vs %.9f (err %.2g)",
     r.p, want, r.e);

  /* n = 40 variables, each a positive multiple of one of two correlated
   * ones: rank 2, equal to a bvn rectangle with the intersected limits. */
  static double c40[40 * 40];
  double l40[40], u40[40], lo2[2] = {-INFINITY, -INFINITY}, hi2[2] = {INFINITY, INFINITY};
  for (int i = 0; i < 40; i++) {
    double si = 1 + 0.1 * i;
    for (int j = 0; j < 40; j++) {
      double sj = 1 + 0.1 * j, c = (i % 2 == j % 2) ? 1 : 0.3;
      c40[i * 40 + j] = si * sj * c;
    }
    l40[i] = (i % 3 == 0) ? -si * (1.5 - 0.01 * i) : -INFINITY;
    u40[i] = si * (0.5 + 0.02 * i);
    lo2[i % 2] = fmax(lo2[i % 2], l40[i] / si);
    hi2[i % 2] = fmin(hi2[i % 2], u40[i] / si);
  }
  want = rect2(lo2[0], hi2[0], lo2[1], hi2[1], 0.3);
  r = run(40, c40, l40, u40, 1e-7, 14);
  ok(r.st == RT_OK && r.info.rank == 2, "40 variables of rank 2: rank found %d", r.info.rank);
  ok(within(r, want, 1e-12), "  equals the bvn rectangle: %.9f vs %.9f (err %.2g)", r.p, want, r.e);

  /* Negative multiples flip the interval. */
  double cn[9] = {1, 0.4, -2, 0.4, 1, -0.8, -2, -0.8, 4};   /* Y3 = -2 Y1 */
  double ln[3] = {-INFINITY, -1, -1}, un[3] = {0.7, 0.9, INFINITY};
  want = rect2(-INFINITY, 0.5, -1, 0.9, 0.4);              /* Y1 < min(0.7, 1/2) */
  r = run(3, cn, ln, un, 1e-7, 15);
  ok(within(r, want, 1e-12), "negative multiple Y3 = -2 Y1: %.9f vs %.9f (err %.2g)", r.p, want, r.e);
}

static void test_honesty(void)
{
  /* 50 seeds on problems with exact answers, loose tolerance so the error
   * is visible: within 3 SE nearly always, but not so wide that most
   * deviations are below 0.5 SE (an inflated error would pass the first). */
  double r12 = 0.2, r13 = -0.3, r23 = 0.4;
  double cov3[9] = {1, r12, r13, r12, 1, r23, r13, r23, 1};
  double lo[8], up[8], cov8[64];
  double want3 = 0.125 + (asin(r12) + asin(r13) + asin(r23)) / (4 * PI);
  equicorr(8, 0.5, cov8);
  for (int i = 0; i < 8; i++)
    lo[i] = -INFINITY, up[i] = 0;
  int in3 = 0, big = 0, total = 0;
  for (uint64_t seed = 1; seed <= 50; seed++) {
    Est a = run(3, cov3, lo, up, 1e-4, seed);
    Est b = run(8, cov8, lo, up, 1e-4, seed);
    double da = fabs(a.p - want3) / a.e, db = fabs(b.p - 1.0 / 9) / b.e;
    in3 += (da <= 3) + (db <= 3);
    big += (da > 0.5) + (db > 0.5);
    total += 2;
  }
  ok(in3 >= 95, "true value within 3 standard errors in %d of %d runs", in3, total);
  ok(big >= 25, "deviation above 0.5 standard errors in %d of %d runs (error not inflated)",
     big, total);
}

static void test_determinism(void)
{
  double cov[25];
  double lo[5] = {-1, -INFINITY, -0.3, -2, -INFINITY}, up[5] = {1, 0.5, INFINITY, 0.2, 1.1};
  equicorr(5, 0.25, cov);
  cov[1] = cov[5] = -0.1;
  Est a = run(5, cov, lo, up, 1e-5, 42), b = run(5, cov, lo, up, 1e-5, 42);
  Est c = run(5, cov, lo, up, 1e-5, 43);
  ok(memcmp(&a.p, &b.p, sizeof a.p) == 0 && memcmp(&a.e, &b.e, sizeof a.e) == 0,
     "same seed gives bitwise the same result");
  ok(a.p != c.p && fabs(a.p - c.p) <= 4 * (a.e + c.e), "another seed differs within the errors");
  MvnOpts o;
  mvn_default_opts(&o);
  o.seed = 42;
  o.abs_tol = 1e-5;
  double p, e;
  ok(mvn_prob(&rt, 5, cov, lo, up, &o, &p, &e, NULL) == RT_OK && p == a.p, "info may be NULL");
  o.abs_tol = 0;
  o.max_evals = 5000;
  MvnInfo info;
  RtStatus st = mvn_prob(&rt, 5, cov, lo, up, &o, &p, &e, &info);
  ok(st == RT_OK && !info.converged && info.evals <= 5000 && e > 0,
     "budget exhausted: RT_OK, converged = 0, %ld evals", info.evals);
}

static int raise_flag = 1;

static void test_errors(void)
{
  double lo[3] = {-INFINITY, -INFINITY, -INFINITY}, up[3] = {0, 0, 0}, p, e;
  double bad[9] = {1, 0.9, 0.9, 0.9, 1, -0.9, 0.9, -0.9, 1};
  ok(mvn_prob(&rt, 3, bad, lo, up, NULL, &p, &e, NULL) == RT_EINVAL &&
     strstr(rt.msg, "not positive semidefinite"), "indefinite covariance: %s", rt.msg);
  double bad2[9] = {1, 1, 1, 1, 1, 0.5, 1, 0.5, 1};
  ok(mvn_prob(&rt, 3, bad2, lo, up, NULL, &p, &e, NULL) == RT_EINVAL &&
     strstr(rt.msg, "not positive semidefinite"), "inconsistent degenerate covariance: %s", rt.msg);
  double bad3[4] = {1, 1.5, 1.5, 1};
  ok(mvn_prob(&rt, 2, bad3, lo, up, NULL, &p, &e, NULL) == RT_EINVAL,
     "2-d correlation above 1: %s", rt.msg);
  double nan[9] = {1, 0, 0, 0, NAN, 0, 0, 0, 1};
  ok(mvn_prob(&rt, 3, nan, lo, up, NULL, &p, &e, NULL) == RT_EINVAL && strstr(rt.msg, "[1][1]"),
     "NaN covariance: %s", rt.msg);
  double asym[9] = {1, 0.2, 0, 0.3, 1, 0, 0, 0, 1};
  ok(mvn_prob(&rt, 3, asym, lo, up, NULL, &p, &e, NULL) == RT_EINVAL &&
     strstr(rt.msg, "symmetric"), "asymmetric covariance: %s", rt.msg);
  double zrow[9] = {0, 0.1, 0, 0.1, 1, 0, 0, 0, 1};
  ok(mvn_prob(&rt, 3, zrow, lo, up, NULL, &p, &e, NULL) == RT_EINVAL,
     "zero variance with nonzero covariance: %s", rt.msg);
  double good[9] = {1, 0.2, 0.1, 0.2, 1, 0.3, 0.1, 0.3, 1}, nlo[3] = {NAN, 0, 0};
  ok(mvn_prob(&rt, 3, good, nlo, up, NULL, &p, &e, NULL) == RT_EINVAL, "NaN limit: %s", rt.msg);
  MvnOpts o;
  mvn_default_opts(&o);
  o.max_evals = 0;
  ok(mvn_prob(&rt, 3, good, lo, up, &o, &p, &e, NULL) == RT_EINVAL, "max_evals 0: %s", rt.msg);
  ok(live_blocks == 0, "nothing leaked on the error paths");

  for (int k = 0; k < 3; k++) {
    fail_after = k;
    RtStatus st = mvn_prob(&rt, 3, good, lo, up, NULL, &p, &e, NULL);
    fail_after = -1;
    ok(st == RT_ENOMEM && live_blocks == 0, "allocation %d failing -> RT_ENOMEM, no leak", k);
  }
  rt.interrupt = &raise_flag;
  mvn_default_opts(&o);
  o.abs_tol = 0;
  ok(mvn_prob(&rt, 3, good, lo, up, &o, &p, &e, NULL) == RT_EINTR && live_blocks == 0,
     "interrupt flag -> RT_EINTR, no leak");
  rt.interrupt = NULL;
}

int main(void)
{
  fresh_rt();
  test_small_exact();
  test_orthant3();
  test_rectangles3();
  test_equicorrelated();
  test_blocks();
  test_singular();
  test_honesty();
  test_determinism();
  test_errors();
  ok(live_blocks == 0, "no blocks left at the end");
  return tap_done();
}
