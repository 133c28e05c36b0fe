/*
 * test_orthant.c — unit tests for the boundary mass and density of a linear
 * router over a normal law (runtime/orthant.c).
 *
 * Every reference is computed here without the module:
 *   - K = 2: the closed forms of MATH.md in the logit difference;
 *   - K = 3 iid standard logits: M(w) = 6 ∫ φ(y) Φ(y) [Φ(y+w) - Φ(y)] dy
 *     (joint density of the top two order statistics, Simpson's rule with
 *     erfc from libm) and C = 6 ∫ φ² Φ = 3/(2√π) (φ² is even, Φ - 1/2 odd);
 *   - a plain Monte Carlo of Δ in x space (X = μ + F Z, logits by loops);
 *   - C as the limit of M(w)/w (Richardson at w and 2w);
 *   - d = 2: C as the coarea line integrals of the 2-D normal density along
 *     each pairwise interface, clipped to where the pair is on top (closed
 *     form in Φ);
 *   - rank one (X = μ + F z, z scalar): C as the sum over the crossings of
 *     the top two of 2 φ(z*)/|g_i - g_j|;
 *   - nearly equal rows: the dominant pair's φ_12(0) P(A_1 >= A_3 | tie)
 *     from the exact row difference (the naive e'(WΣW')e value is shown to
 *     be far off, so the check has teeth);
 *   - the conditional Monte Carlo against the orthant path and against its
 *     own spread over seeds (unbiasedness, calibrated standard errors);
 *   - a counting allocator failing each allocation in turn (RT_ENOMEM, no
 *     leak).
 * Timings are printed as TAP comments, not checked.
 */
#define _POSIX_C_SOURCE 200809L

#include "orthant.h"
#include "rng.h"
#include "tap.h"
#include "testalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PI 3.14159265358979323846

static Rt rt;

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double Phi(double x)
{
  return 0.5 * erfc(-x / sqrt(2.0));
}

static double phi(double x)
{
  return exp(-0.5 * x * x) / sqrt(2 * PI);
}

/* n normals from a stream private to the test. */
static void normals(uint64_t seed, double *out, size_t n)
{
  RngStream s;
  rng_init(&s, seed, 0, 7);
  rng_normal(&s, out, n);
}

/* A random law: W K×d, b, mean, F d×r (F = NULL if r == 0). */
typedef struct TLaw {
  LogitLaw L;
  double W[64 * 16], b[64], mean[16], F[16 * 16];
} TLaw;

static void random_law(TLaw *t, int K, int d, int r, uint64_t seed, double mscale)
{
  memset(t, 0, sizeof *t);
  normals(seed, t->W, (size_t)K * d);
  normals(seed + 1, t->b, (size_t)K);
  normals(seed + 2, t->mean, (size_t)d);
  for (int i = 0; i < d; i++)
    t->mean[i] *= mscale;
  for (int i = 0; i < K; i++)
    t->b[i] *= 0.3;
  if (r)
    normals(seed + 3, t->F, (size_t)d * r);
  t->L = (LogitLaw){K, d, r, t->W, t->b, t->mean, r ? t->F : NULL};
}

/* ------------------------------------------------------ plain Monte Carlo */

/* P(Δ <= w[q]) for q < nw by N samples of X = μ + F Z in x space. */
static void plain_mc(const LogitLaw *L, const double *w, int nw, long N, uint64_t seed,
                     double *p)
{
  int K = L->K, d = L->d, r = L->F ? L->r : d;
  double z[64], x[64], a[64];
  long cnt[8] = {0};
  RngStream s;
  rng_init(&s, seed, 1, 3);
  for (long n = 0; n < N; n++) {
    rng_normal(&s, z, (size_t)r);
    for (int i = 0; i < d; i++) {
      x[i] = L->mean ? L->mean[i] : 0;
      for (int j = 0; j < r; j++)
        x[i] += (L->F ? L->F[i * r + j] : (i == j)) * z[j];
    }
    double t1 = -INFINITY, t2 = -INFINITY;
    for (int k = 0; k < K; k++) {
      a[k] = L->b ? L->b[k] : 0;
      for (int i = 0; i < d; i++)
        a[k] += L->W[k * d + i] * x[i];
      if (a[k] > t1)
        t2 = t1, t1 = a[k];
      else if (a[k] > t2)
        t2 = a[k];
    }
    for (int q = 0; q < nw; q++)
      cnt[q] += t1 - t2 <= w[q];
  }
  for (int q = 0; q < nw; q++)
    p[q] = (double)cnt[q] / (double)N;
}

/* Mass at nw widths vs a plain Monte Carlo of N samples, within 4 SE (plus
 * the orthant's own error estimate). */
static void check_mass_mc(const char *what, const LogitLaw *L, const double *w, int nw, long N)
{
  double m[8], e[8], p[8];
  char method[160];
  RtStatus st = orthant_mass(&rt, L, w, nw, NULL, m, e, method, sizeof method);
  ok(st == RT_OK, "%s: orthant_mass runs (%s)", what, st ? rt.msg : method);
  plain_mc(L, w, nw, N, 99, p);
  for (int q = 0; q < nw; q++) {
    double se = sqrt(p[q] * (1 - p[q]) / N);
    ok_near(m[q], p[q], 4 * se + 4 * e[q], "%s: M(%g) = %.6f matches plain MC %.6f (se %.1e)",
            what, w[q], m[q], p[q], se);
  }
}

/* ------------------------------------------------------------------ K = 2 */

static void test_two(void)
{
  TLaw t;
  random_law(&t, 2, 3, 3, 11, 0.5);
  double dm = t.b[0] - t.b[1], v = 0;
  for (int i = 0; i < 3; i++)
    dm += (t.W[i] - t.W[3 + i]) * t.mean[i];
  for (int j = 0; j < 3; j++) {
    double g = 0;
    for (int i = 0; i < 3; i++)
      g += (t.W[i] - t.W[3 + i]) * t.F[i * 3 + j];
    v += g * g;
  }
  double sd = sqrt(v), w[3] = {0.4, 1.0, 2.5}, m[3], e[3], C, Ce;
  char method[128];
  ok(orthant_mass(&rt, &t.L, w, 3, NULL, m, e, method, sizeof method) == RT_OK,
     "K=2 mass runs");
  for (int q = 0; q < 3; q++)
    ok_rel(m[q], Phi((w[q] - dm) / sd) - Phi((-w[q] - dm) / sd), 1e-14,
           "K=2: M(%g) equals the normal interval", w[q]);
  ok_str(method, "exact (normal interval)", "K=2 mass method");
  ok(orthant_density(&rt, &t.L, NULL, &C, &Ce, method, sizeof method) == RT_OK,
     "K=2 density runs");
  ok_rel(C, 2 * phi(dm / sd) / sd, 1e-14, "K=2: C = 2 φ_s(0)");
  ok_str(method, "exact (normal density)", "K=2 density method");
}

/* ------------------------------------------------------- K = 3 iid logits */

/* 6 ∫ φ(y) Φ(y) [Φ(y+w) - Φ(y)] dy by Simpson on [-12, 12]. */
static double iid3_mass(double w)
{
  int n = 48000;
  double a = -12, h = 24.0 / n, s = 0;
  for (int k = 0; k <= n; k++) {
    double y = a + k * h, f = phi(y) * Phi(y) * (Phi(y + w) - Phi(y));
    s += f * (k == 0 || k == n ? 1 : k % 2 ? 4 : 2);
  }
  return 6 * s * h / 3;
}

static void test_iid3(void)
{
  double I[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  LogitLaw L = {3, 3, 0, I, NULL, NULL, NULL};
  double w[5] = {1e-3, 0.05, 0.3, 1.0, 3.0}, m[5], e[5], C, Ce;
  char method[160];
  ok(orthant_mass(&rt, &L, w, 5, NULL, m, e, method, sizeof method) == RT_OK,
     "iid K=3 mass runs (%s)", method);
  for (int q = 0; q < 5; q++)
    ok_rel(m[q], iid3_mass(w[q]), 1e-9, "iid K=3: M(%g) = order-statistics integral", w[q]);
  ok(orthant_density(&rt, &L, NULL, &C, &Ce, method, sizeof method) == RT_OK,
     "iid K=3 density runs");
  ok_rel(C, 3 / (2 * sqrt(PI)), 1e-13, "iid K=3: C = 3/(2√π) (%s)", method);
}

/* ------------------------------------------------- mass vs Monte Carlo */

static void test_mass_mc(void)
{
  TLaw t;
  double w[4] = {0.05, 0.3, 1.0, 2.5};
  random_law(&t, 3, 4, 4, 21, 0.7);
  check_mass_mc("K=3", &t.L, w, 4, 4000000);
  random_law(&t, 4, 4, 3, 31, 0.7);
  check_mass_mc("K=4", &t.L, w, 4, 4000000);
  random_law(&t, 6, 5, 5, 41, 0.7);
  check_mass_mc("K=6", &t.L, w, 4, 2000000);
}

/* ---------------------------------------- density vs the limit of M(w)/w */

static void check_richardson(const char *what, const LogitLaw *L, double h, double genz_rel,
                             double rel)
{
  OrthantOpts o;
  orthant_default_opts(&o);
  o.abs_tol = 0;
  o.rel_tol = genz_rel;
  double w[2] = {h, 2 * h}, m[2], e[2], C, Ce;
  char method[160];
  RtStatus st = orthant_mass(&rt, L, w, 2, &o, m, e, method, sizeof method);
  st = st ? st : orthant_density(&rt, L, &o, &C, &Ce, NULL, 0);
  ok(st == RT_OK, "%s: mass and density run (%s)", what, st ? rt.msg : method);
  double lim = 2 * m[0] / w[0] - m[1] / w[1];
  double tol = 4 * (2 * e[0] / w[0] + e[1] / w[1] + Ce) + rel * C;
  ok_near(C, lim, tol, "%s: C = %.12g vs Richardson of M(w)/w %.12g", what, C, lim);
}

static void test_richardson(void)
{
  TLaw t;
  random_law(&t, 3, 3, 3, 51, 0.8);
  check_richardson("K=3", &t.L, 1e-5, 1e-6, 1e-8);
  random_law(&t, 4, 4, 4, 61, 0.8);
  check_richardson("K=4", &t.L, 1e-5, 1e-6, 1e-6);
  random_law(&t, 5, 5, 5, 71, 0.8);
  check_richardson("K=5", &t.L, 1e-5, 1e-5, 1e-5);
}

/* ----------------------------------- orthant density vs conditional MC */

static void check_mc(const char *what, const LogitLaw *L, uint64_t n)
{
  double C, Ce, M, se;
  char method[160];
  RtStatus st = orthant_density(&rt, L, NULL, &C, &Ce, method, sizeof method);
  ok(st == RT_OK, "%s: orthant density runs (%s)", what, st ? rt.msg : method);
  st = orthant_density_mc(&rt, L, n, 5, &M, &se);
  ok(st == RT_OK, "%s: conditional MC runs", what);
  ok_near(M, C, 4 * se + 4 * Ce, "%s: conditional MC %.6f ± %.1e matches orthants %.6f",
          what, M, se, C);
}

static void test_cond_mc(void)
{
  TLaw t;
  random_law(&t, 3, 3, 3, 81, 0.8);
  check_mc("K=3", &t.L, 200000);
  random_law(&t, 4, 5, 5, 82, 0.8);
  check_mc("K=4", &t.L, 200000);
  random_law(&t, 5, 6, 0, 83, 0.8);
  check_mc("K=5 (F = I)", &t.L, 200000);
  random_law(&t, 8, 10, 10, 84, 0.8);
  check_mc("K=8", &t.L, 200000);
}

/* Mean over seeds vs the orthant value, and the reported standard errors
 * against the spread between seeds. */
static void test_unbiased(void)
{
  TLaw t;
  random_law(&t, 5, 5, 5, 91, 0.8);
  OrthantOpts o;
  orthant_default_opts(&o);
  o.rel_tol = 1e-6;
  double C, Ce, sum = 0, sumsq = 0, se2 = 0;
  int S = 60;
  ok(orthant_density(&rt, &t.L, &o, &C, &Ce, NULL, 0) == RT_OK, "unbiased: orthant C");
  for (int s = 0; s < S; s++) {
    double M, se;
    orthant_density_mc(&rt, &t.L, 3000, 1000 + s, &M, &se);
    sum += M, sumsq += M * M, se2 += se * se;
  }
  double mean = sum / S, var = (sumsq - sum * mean) / (S - 1);
  ok_near(mean, C, 4 * sqrt(var / S) + Ce, "unbiased: mean over %d seeds %.6f vs C %.6f", S,
          mean, C);
  double ratio = var / (se2 / S);
  ok(ratio > 0.5 && ratio < 2, "unbiased: spread over seeds / reported se² = %.3f", ratio);
  double a, b, sa, sb;
  orthant_density_mc(&rt, &t.L, 5000, 77, &a, &sa);
  orthant_density_mc(&rt, &t.L, 5000, 77, &b, &sb);
  ok(a == b && sa == sb, "conditional MC is deterministic for a seed");
}

/* ----------------------------------------------------- nearly equal rows */

typedef struct Ref {
  double d[3][3][8];   /* difference rows D_ij (length r) */
  double md[3][3];
  int r;
} Ref;

static double dot(const double *a, const double *b, int r)
{
  double s = 0;
  for (int k = 0; k < r; k++)
    s += a[k] * b[k];
  return s;
}

/* 2 φ_ij(0) P(A_i >= A_k | A_i = A_j) for K = 3 from difference rows. */
static double ref_pair(const Ref *f, int i, int j, int k)
{
  const double *s = f->d[i][j], *c = f->d[i][k];
  double v = dot(s, s, f->r), cs = dot(c, s, f->r), sd = sqrt(v);
  double cm = f->md[i][k] - cs / v * f->md[i][j];
  double cv = dot(c, c, f->r) - cs * cs / v;
  return 2 * phi(f->md[i][j] / sd) / sd * Phi(cm / sqrt(cv));
}

/* Rows w2 = w1(1 + ~1e-9) (the difference taken exactly), w3 generic. */
static void test_near(int use_F)
{
  double W[9] = {0.8, -0.3, 0.5, 0, 0, 0, -0.2, 0.6, 0.1}, F[9], mu[3] = {0.4, -0.7, 0.2};
  double b[3] = {0.1, 0.1, -0.2}, dw[3];
  normals(123, F, 9);
  for (int k = 0; k < 3; k++) {
    W[3 + k] = W[k] + 0x1p-30 * (k == 1 ? 1.0 : -0.5);
    dw[k] = W[3 + k] - W[k];   /* exact (Sterbenz) */
  }
  LogitLaw L = {3, 3, 3, W, b, mu, use_F ? F : NULL};
  Ref f = {.r = 3};
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      f.md[i][j] = b[i] - b[j];
      for (int k = 0; k < 3; k++) {
        double x = (i == 0 && j == 1) ? -dw[k] : (i == 1 && j == 0) ? dw[k]
                                                                 : W[3 * i + k] - W[3 * j + k];
        f.md[i][j] += x * mu[k];
        for (int l = 0; l < 3; l++)
          f.d[i][j][l] += x * (use_F ? F[3 * k + l] : (k == l));
      }
    }
  double ref = ref_pair(&f, 0, 1, 2) + ref_pair(&f, 0, 2, 1) + ref_pair(&f, 1, 2, 0);
  double C, Ce;
  char method[160];
  const char *what = use_F ? "near rows, F given" : "near rows, F = I";
  ok(orthant_density(&rt, &L, NULL, &C, &Ce, method, sizeof method) == RT_OK, "%s: runs",
     what);
  ok_rel(C, ref, 1e-10, "%s: C = %.10g (dominant pair ~1e9) matches the exact-row value",
         what, C);
  /* the naive route: Var(A_1 - A_2) = e'(G G')e from G = W F */
  double G[9], S[3][3], v;
  for (int i = 0; i < 3; i++)
    for (int l = 0; l < 3; l++) {
      G[3 * i + l] = 0;
      for (int k = 0; k < 3; k++)
        G[3 * i + l] += W[3 * i + k] * (use_F ? F[3 * k + l] : (k == l));
    }
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      S[i][j] = dot(G + 3 * i, G + 3 * j, 3);
  v = S[0][0] + S[1][1] - 2 * S[0][1];
  double vref = dot(f.d[0][1], f.d[0][1], 3);
  ok(!(fabs(v - vref) < 1e-3 * vref), "%s: the naive e'(WΣW')e variance is off (%.3g vs %.3g)",
     what, v, vref);
  /* the mass keeps its precision too: M(w)/w → C */
  double w[2] = {1e-13, 2e-13}, m[2], e[2];
  ok(orthant_mass(&rt, &L, w, 2, NULL, m, e, NULL, 0) == RT_OK, "%s: mass runs", what);
  ok_rel(2 * m[0] / w[0] - m[1] / w[1], ref, 1e-6, "%s: M(w)/w at w = 1e-13 → C", what);
}

/* --------------------------------------------------------------- singular */

/* C for d = 2 by the coarea formula: for each pair the line
 * (w_i - w_j)·x + b_i - b_j = 0, clipped to where i, j are on top, weighted
 * by the 2-D normal density over |w_i - w_j|. */
static double coarea_2d(const LogitLaw *L)
{
  const double *F = L->F, *W = L->W;
  double S[4] = {F[0] * F[0] + F[1] * F[1], F[0] * F[2] + F[1] * F[3], 0, 0};
  S[2] = S[1], S[3] = F[2] * F[2] + F[3] * F[3];
  double det = S[0] * S[3] - S[1] * S[2], P[4] = {S[3] / det, -S[1] / det, -S[2] / det, S[0] / det};
  double C = 0;
  for (int i = 0; i < L->K; i++)
    for (int j = i + 1; j < L->K; j++) {
      double n[2] = {W[2 * i] - W[2 * j], W[2 * i + 1] - W[2 * j + 1]}, nn = hypot(n[0], n[1]);
      double c = L->b[i] - L->b[j], x0[2] = {-c * n[0] / (nn * nn), -c * n[1] / (nn * nn)};
      double u[2] = {-n[1] / nn, n[0] / nn}, lo = -INFINITY, hi = INFINITY;
      for (int k = 0; k < L->K; k++) {
        if (k == i || k == j)
          continue;
        double g[2] = {W[2 * i] - W[2 * k], W[2 * i + 1] - W[2 * k + 1]};
        double a0 = g[0] * x0[0] + g[1] * x0[1] + L->b[i] - L->b[k], a1 = g[0] * u[0] + g[1] * u[1];
        if (a1 > 0)
          lo = fmax(lo, -a0 / a1);
        else if (a1 < 0)
          hi = fmin(hi, -a0 / a1);
        else if (a0 < 0)
          hi = lo;
      }
      if (!(lo < hi))
        continue;
      double y[2] = {x0[0] - L->mean[0], x0[1] - L->mean[1]};
      double al = u[0] * (P[0] * u[0] + P[1] * u[1]) + u[1] * (P[2] * u[0] + P[3] * u[1]);
      double be = u[0] * (P[0] * y[0] + P[1] * y[1]) + u[1] * (P[2] * y[0] + P[3] * y[1]);
      double ga = y[0] * (P[0] * y[0] + P[1] * y[1]) + y[1] * (P[2] * y[0] + P[3] * y[1]);
      double pre = exp(-0.5 * (ga - be * be / al)) / (2 * PI * sqrt(det)) * sqrt(2 * PI / al);
      double t0 = be / al, sa = sqrt(al);
      C += 2 * pre * (Phi(sa * (hi + t0)) - Phi(sa * (lo + t0))) / nn;
    }
  return C;
}

static void test_singular(void)
{
  TLaw t;
  random_law(&t, 4, 2, 2, 201, 0.5);
  double w[3] = {0.1, 0.5, 1.5}, C, Ce, M, se;
  char method[160];
  check_mass_mc("singular d=2 K=4", &t.L, w, 3, 2000000);
  ok(orthant_density(&rt, &t.L, NULL, &C, &Ce, method, sizeof method) == RT_OK,
     "singular d=2 K=4: density runs (%s)", method);
  double ref = coarea_2d(&t.L);
  ok_near(C, ref, 4 * Ce + 1e-7 * ref, "singular d=2 K=4: C %.9f vs coarea line integrals %.9f",
          C, ref);
  ok(orthant_density_mc(&rt, &t.L, 1000, 1, &M, &se) == RT_EUNSUP,
     "singular d=2 K=4: conditional MC refuses (%s)", rt.msg);
  ok(orthant_density_path(&t.L) == ORTHANT_PATH_ORTHANTS, "singular: path = orthants");
  random_law(&t, 6, 2, 2, 202, 0.5);
  check_mass_mc("singular d=2 K=6", &t.L, w, 3, 2000000);
  ok(orthant_density(&rt, &t.L, NULL, &C, &Ce, method, sizeof method) == RT_OK,
     "singular d=2 K=6: density runs (%s)", method);
  ref = coarea_2d(&t.L);
  ok_near(C, ref, 4 * Ce + 1e-5 * ref, "singular d=2 K=6: C %.9f vs coarea %.9f", C, ref);
}

/* Rank one: X = μ + F z with F 3×1, so A_k = m_k + g_k z; row 2 is
 * orthogonal to F (g_2 = 0 in exact arithmetic, rounding noise in double:
 * a constant logit).  Δ is piecewise linear in z and near a crossing z* of
 * the top two Δ ≈ |g_i - g_j| |z - z*|, so C = Σ 2 φ(z*)/|g_i - g_j| over
 * the crossings where i, j are on top. */
static void test_rank_one(void)
{
  double W[12] = {1, 0, 0, 0, 1, 0, 0.7, -0.2, -0.7, 0, 0, -2}, F[3] = {0.3, 0.7, 0.1};
  double mu[3] = {0.2, -0.1, 0.4}, b[4] = {0.1, -0.3, 0.05, 0.2}, g[4], m[4], C = 0;
  LogitLaw L = {4, 3, 1, W, b, mu, F};
  for (int k = 0; k < 4; k++) {
    g[k] = W[3 * k] * F[0] + W[3 * k + 1] * F[1] + W[3 * k + 2] * F[2];
    g[k] = fabs(g[k]) < 1e-15 ? 0 : g[k];
    m[k] = b[k] + W[3 * k] * mu[0] + W[3 * k + 1] * mu[1] + W[3 * k + 2] * mu[2];
  }
  for (int i = 0; i < 4; i++)
    for (int j = i + 1; j < 4; j++) {
      if (g[i] == g[j])
        continue;
      double z = -(m[i] - m[j]) / (g[i] - g[j]), top = m[i] + g[i] * z;
      int on_top = 1;
      for (int k = 0; k < 4; k++)
        on_top &= k == i || k == j || m[k] + g[k] * z < top;
      C += on_top ? 2 * phi(z) / fabs(g[i] - g[j]) : 0;
    }
  double w[3] = {0.05, 0.3, 1.0}, Co, Ce, M, se;
  char method[160];
  check_mass_mc("rank one", &L, w, 3, 2000000);
  ok(orthant_density(&rt, &L, NULL, &Co, &Ce, method, sizeof method) == RT_OK,
     "rank one: density runs (%s)", method);
  ok_rel(Co, C, 1e-9, "rank one: C %.12g vs crossings of the top two %.12g", Co, C);
  ok(orthant_density_mc(&rt, &L, 1000, 1, &M, &se) == RT_EUNSUP, "rank one: MC refuses");
}

/* Row 2 repeats row 0 with a lower bias: A_2 = A_0 - 0.3 never wins and
 * never ties at the top, so C is that of logits {0, 1, 3}; Δ has an atom
 * at 0.3.  With equal biases the two logits tie: C = ∞. */
static void test_repeated(void)
{
  TLaw t, red;
  random_law(&t, 4, 3, 3, 301, 0.5);
  for (int k = 0; k < 3; k++)
    t.W[6 + k] = t.W[k];
  t.b[2] = t.b[0] - 0.3;
  double w[4] = {0.1, 0.29, 0.31, 1.0}, C, Ce, Cr, Cre, M, se;
  char method[200];
  check_mass_mc("repeated row", &t.L, w, 4, 2000000);
  random_law(&red, 3, 3, 3, 301, 0.5);
  memcpy(red.W + 6, t.W + 9, 3 * sizeof *red.W);
  red.b[2] = t.b[3];
  ok(orthant_density(&rt, &t.L, NULL, &C, &Ce, method, sizeof method) == RT_OK,
     "repeated row: density runs (%s)", method);
  ok(orthant_density(&rt, &red.L, NULL, &Cr, &Cre, NULL, 0) == RT_OK, "reduced K=3 runs");
  ok_rel(C, Cr, 1e-12, "repeated row: C equals that of the reduced problem");
  ok(orthant_density_mc(&rt, &red.L, 400000, 3, &M, &se) == RT_OK, "reduced MC runs");
  ok_near(C, M, 4 * se, "repeated row: C %.6f vs conditional MC of the reduced law %.6f", C, M);
  ok(orthant_density_path(&t.L) == ORTHANT_PATH_ORTHANTS, "repeated row: path = orthants");
  t.b[2] = t.b[0];
  check_mass_mc("identical logits", &t.L, w, 2, 2000000);
  ok(orthant_density(&rt, &t.L, NULL, &C, &Ce, method, sizeof method) == RT_OK &&
     isinf(C) && C > 0, "identical logits: C = +inf (%s)", method);
}

/* ------------------------------------------------------------ dispatch */

static void test_auto(void)
{
  TLaw t;
  double C, e, C2, e2;
  char method[200];
  random_law(&t, 16, 16, 0, 951, 0.5);
  ok(orthant_density_path(&t.L) == ORTHANT_PATH_COND_MC, "K=16, d=16: path = conditional MC");
  ok(orthant_density_auto(&rt, &t.L, NULL, 20000, &C, &e, method, sizeof method) == RT_OK &&
     strncmp(method, "Monte Carlo (conditional", 24) == 0, "auto K=16: %s", method);
  orthant_density_mc(&rt, &t.L, 20000, 0, &C2, &e2);
  ok(C == C2 && e == e2, "auto K=16 = orthant_density_mc with seed o->seed");
  random_law(&t, 14, 3, 3, 952, 0.5);
  for (int k = 0; k < 14; k++)
    t.b[k] *= 6;   /* spread the logits: most pairs never reach the top */
  ok(orthant_density_path(&t.L) == ORTHANT_PATH_ORTHANTS, "K=14, d=3: path = orthants");
  RtStatus st = orthant_density_auto(&rt, &t.L, NULL, 20000, &C, &e, method, sizeof method);
  ok(st == RT_OK && strncmp(method, "Monte Carlo", 11) != 0, "auto K=14, d=3: %s",
     st ? rt.msg : method);
  double w[2] = {0.2, 0.5};
  check_mass_mc("K=14, d=3", &t.L, w, 2, 1000000);
}

/* ------------------------------------------------------------- errors */

static void test_errors(void)
{
  TLaw t;
  random_law(&t, 3, 3, 3, 401, 0.5);
  double w = -1, m, C, se;
  ok(orthant_mass(&rt, &t.L, &w, 1, NULL, &m, NULL, NULL, 0) == RT_EINVAL,
     "negative width: RT_EINVAL (%s)", rt.msg);
  w = NAN;
  ok(orthant_mass(&rt, &t.L, &w, 1, NULL, &m, NULL, NULL, 0) == RT_EINVAL, "NaN width");
  t.L.K = 1;
  ok(orthant_density(&rt, &t.L, NULL, &C, NULL, NULL, 0) == RT_EINVAL, "K = 1: RT_EINVAL");
  t.L.K = 3;
  t.W[4] = INFINITY;
  ok(orthant_density(&rt, &t.L, NULL, &C, NULL, NULL, 0) == RT_EINVAL, "inf in W (%s)",
     rt.msg);
  ok(orthant_density_mc(&rt, &t.L, 1, 0, &C, &se) == RT_EINVAL, "samples < 2: RT_EINVAL");
  static double big[65 * 70];
  normals(9, big, 65 * 70);
  LogitLaw L = {65, 70, 0, big, NULL, NULL, NULL};
  ok(orthant_density(&rt, &L, NULL, &C, NULL, NULL, 0) == RT_EUNSUP,
     "K = 65 orthants: RT_EUNSUP (%s)", rt.msg);
  ok(orthant_density_path(&L) == ORTHANT_PATH_COND_MC, "K = 65 full rank: path = MC");
  w = INFINITY;
  ok(orthant_mass(&rt, &t.L, &w, 1, NULL, &m, NULL, NULL, 0) == RT_EINVAL,
     "bad law caught before widths are used");
}

/* ------------------------------------------------------- allocation */

/* Every allocation failing in turn: RT_ENOMEM and nothing leaked, until
 * the call succeeds (and then nothing is leaked either). */
static void test_alloc(void)
{
  Rt r;
  TLaw t;
  rt_init(&r);
  r.realloc_fn = count_realloc;
  random_law(&t, 5, 5, 5, 901, 0.5);
  memcpy(t.W + 5, t.W, 5 * sizeof *t.W);   /* a near pair: exact rows are allocated too */
  t.W[5 + 2] += 1e-9;
  double w[2] = {0.01, 1.0}, m[2], C, e;
  int bad = 0, k;
  for (int path = 0; path < 3; path++) {
    for (k = 0; k < 200; k++) {
      fail_after = k;
      RtStatus st = path == 0   ? orthant_mass(&r, &t.L, w, 2, NULL, m, NULL, NULL, 0)
                    : path == 1 ? orthant_density(&r, &t.L, NULL, &C, &e, NULL, 0)
                                : orthant_density_mc(&r, &t.L, 5000, 1, &C, &e);
      fail_after = -1;
      bad += live_blocks != 0 || (st != RT_OK && st != RT_ENOMEM);
      if (st == RT_OK)
        break;
    }
    ok(k < 200 && !bad, "allocation failures (path %d): RT_ENOMEM and no leak for each of "
       "the first %d allocations", path, k);
  }
}

/* ------------------------------------------------------------ timings */

static void time_density(int K, double rel)
{
  TLaw t;
  OrthantOpts o;
  orthant_default_opts(&o);
  o.rel_tol = rel;
  random_law(&t, K, 16, 0, 500 + K, 0.3);
  double C, Ce, t0 = now();
  char method[200];
  RtStatus st = orthant_density(&rt, &t.L, &o, &C, &Ce, method, sizeof method);
  printf("# timing: orthant_density K = %d, rel_tol %g: %.3f s, C = %.8g ± %.2g, %s\n", K,
         rel, now() - t0, C, Ce, st ? rt.msg : method);
  double M, se;
  orthant_density_mc(&rt, &t.L, 100000, 1, &M, &se);
  ok_near(M, C, 4 * se + 4 * Ce, "K=%d: conditional MC %.6f ± %.1e agrees", K, M, se);
}

static void time_mc_large(void)
{
  int K = 256, d = 4096;
  double *W = malloc(sizeof *W * K * d), *mu = malloc(sizeof *mu * d);
  normals(600, W, (size_t)K * d);
  normals(601, mu, (size_t)d);
  for (size_t i = 0; i < (size_t)K * d; i++)
    W[i] /= sqrt(d);
  LogitLaw L = {K, d, 0, W, NULL, mu, NULL};
  double C, se, t0 = now();
  RtStatus st = orthant_density_mc(&rt, &L, 20000, 1, &C, &se);
  double dt = now() - t0;
  printf("# timing: orthant_density_mc d = %d, K = %d, 20000 samples: %.3f s, C = %.6g ± %.2g\n",
         d, K, dt, C, se);
  ok(st == RT_OK && C > 0 && se < 0.05 * C, "K=256 conditional MC runs (%s)",
     st ? rt.msg : "ok");
  ok(orthant_density_path(&L) == ORTHANT_PATH_COND_MC, "K=256: path = conditional MC");
  free(W);
  free(mu);
}

#define RUN(f)                                                                \
  do {                                                                        \
    double t0_ = now();                                                       \
    f;                                                                        \
    printf("# %s: %.2f s\n", #f, now() - t0_);                               \
  } while (0)

int main(void)
{
  rt_init(&rt);
  RUN(test_two());
  RUN(test_iid3());
  RUN(test_mass_mc());
  RUN(test_richardson());
  RUN(test_cond_mc());
  RUN(test_unbiased());
  RUN(test_near(1));
  RUN(test_near(0));
  RUN(test_singular());
  RUN(test_rank_one());
  RUN(test_repeated());
  RUN(test_alloc());
  RUN(test_auto());
  RUN(test_errors());
  RUN(time_density(3, 1e-4));
  RUN(time_density(8, 1e-4));
  RUN(time_density(12, 1e-3));
  RUN(time_mc_large());
  return tap_done();
}
