/*
 * orthant.c — boundary mass and boundary density of a linear router over a
 * normal law (see orthant.h).
 *
 * Everything happens in logit space: A = W X + b is N(m, G Gᵀ) with
 * G = W F (K×r) and m = W·mean + b, so the cost depends on K and on r only
 * through inner products of rows of G.
 *
 * Differences, not Gram matrices.  Every probability here is about the
 * differences A_i - A_j, whose covariances are inner products of difference
 * rows D_ij = G_i - G_j.  Forming Cov(A) = G Gᵀ and then eᵀ Cov e loses about
 * nine digits when two router rows agree to 1e-9 (MATH.md), so the module
 * never does that: it keeps, for each logit i, the Gram matrix of the rows
 * D_ik (k = 1..K) computed from the rows themselves.  For pairs whose rows
 * nearly agree (|G_i - G_j| or |w_i - w_j| below 1e-3 of the rows) D_ij is
 * recomputed as (w_i - w_j) F from the exact difference of the router rows,
 * because G_i - G_j would inherit the rounding error of G.  Mean differences
 * are (w_i - w_j)·mean + b_i - b_j for the same reason.  Rows that are zero
 * to rounding are set exactly to zero, so a deterministic difference (a
 * repeated row, a direction F cannot see) stays exactly deterministic for
 * the Genz code, which handles singular covariances.
 *
 * Mass.  M(w) = 1 - Σ_i P(A_i - A_j > w ∀j≠i) (K orthants in K - 1
 * dimensions: bivariate normals for K = 3, Genz beyond) is accurate only in
 * ABSOLUTE terms; for thin slabs, where M(w) ~ C w, the orthants' error
 * swamps it.  There the module sums slab probabilities instead:
 *   M(w) = Σ_{i≠j} P(0 <= A_i - A_j <= w, A_j >= A_k ∀k≠i,j),
 * each a rectangle in K - 1 dimensions with one thin side, which Genz (thin
 * side first) estimates to RELATIVE precision, and which for K = 3 is a 1-D
 * Gauss–Kronrod integral of φ_S·Φ over the slab.
 *
 * Density.  C = 2 Σ_{i<j} φ_ij(0) P(A_j >= A_k ∀k | A_i = A_j).  The
 * conditional law comes from projecting each constraint row on the
 * complement of D_ij, the constraint written with whichever of D_ik, D_jk is
 * shorter (the two agree given the tie, but a row close to D_ij would lose
 * its digits in the projection).
 *
 * Pruning.  Terms (winners, slabs, pairs) are evaluated in decreasing order
 * of a cheap upper bound (one constraint at a time: Φ of a conditional mean,
 * at the worse end of the slab); the tail whose summed bounds falls below a
 * tenth of the tolerance is dropped and its bound added to err.  This is
 * what keeps K = 64 affordable when most logits are rarely near the top.
 * The error budget is shared equally (in quadrature) by the terms kept,
 * sized by a cheap pilot pass at a hundred times the tolerance: the Genz
 * cost grows fast with the precision asked of each term.
 *
 * Conditional Monte Carlo (large K).  Integrating the density of A_k given
 * the other logits at their maximum gives C = Σ_k E[φ_{k|-k}(max_{j≠k} A_j)]
 * with no slab width and hence no bias.  With Cov(A) = Rᵀ R (R from a QR of
 * Gᵀ, so the covariance is never squared) and A = m + Rᵀ Z, the vector
 * Q(A - m) = R^{-1} Z gives all K conditional means of a block at once: two
 * triangular BLAS-3 products per block.
 */
#include "orthant.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gauss.h"
#include "linalg.h"
#include "mvn.h"
#include "quad.h"
#include "rng.h"

#define NEAR_SQ 1e-6       /* squared-norm ratio below which a pair is recomputed */
#define NOISE 1e-12        /* a row below NOISE × its rounding scale is zero */
#define PRUNE 0.1          /* pruned tail <= PRUNE × tolerance */
#define THIN 0.1           /* M below this: slab form instead of the complement */
#define SINGULAR 1e-10     /* |R_kk| / max |R_kk| below this: rank < K */
#define INV_SQRT_2PI 0.39894228040143267794

void orthant_default_opts(OrthantOpts *o)
{
  o->abs_tol = 1e-12;
  o->rel_tol = 1e-4;
  o->seed = 0;
  o->max_evals = 1000000;
}

/* ------------------------------------------------------------- checking */

static int law_cols(const LogitLaw *L)
{
  return L->F ? L->r : L->d;
}

static int all_finite(const double *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i]))
      return 0;
  return 1;
}

static RtStatus check_law(Rt *rt, const LogitLaw *L)
{
  if (!L || !L->W)
    return rt_error(rt, RT_EINVAL, "orthant: the logit law needs a router matrix W");
  if (L->K < 2 || L->d < 1 || (L->F && L->r < 1))
    return rt_error(rt, RT_EINVAL, "orthant: need K >= 2, d >= 1 and r >= 1 "
                    "(got K = %d, d = %d, r = %d)", L->K, L->d, L->r);
  size_t K = (size_t)L->K, d = (size_t)L->d, r = (size_t)law_cols(L);
  if (!all_finite(L->W, K * d))
    return rt_error(rt, RT_EINVAL, "orthant: W has a non-finite entry");
  if (L->b && !all_finite(L->b, K))
    return rt_error(rt, RT_EINVAL, "orthant: b has a non-finite entry");
  if (L->mean && !all_finite(L->mean, d))
    return rt_error(rt, RT_EINVAL, "orthant: the mean has a non-finite entry");
  if (L->F && !all_finite(L->F, d * r))
    return rt_error(rt, RT_EINVAL, "orthant: F has a non-finite entry");
  return RT_OK;
}

static RtStatus get_opts(Rt *rt, const OrthantOpts *in, OrthantOpts *o)
{
  if (in)
    *o = *in;
  else
    orthant_default_opts(o);
  if (!(o->abs_tol >= 0) || !(o->rel_tol >= 0))
    return rt_error(rt, RT_EINVAL, "orthant: tolerances must be >= 0");
  if (o->max_evals < 1)
    return rt_error(rt, RT_EINVAL, "orthant: max_evals must be >= 1");
  return RT_OK;
}

/* ------------------------------------------------------------- geometry */

typedef struct Geom {
  int K, d, r;
  const LogitLaw *L;
  const double *G;     /* K×r: W F, or W itself when F = I */
  double *Gown;        /* G when it had to be formed */
  double *fnorm;       /* d row norms of F (rounding scale of a product) */
  int *xidx;           /* K×K: index of the pair's exact row, or -1 */
  double *xrow;        /* exact rows D_ij (i < j), r each */
  double *md;          /* K×K: m_i - m_j */
  double *gram;        /* K blocks of K×K: block i holds D_ik·D_il */
  double *row;         /* K×r scratch */
  double *u;           /* r scratch */
} Geom;

static inline size_t ix(int K, int i, int j)
{
  return (size_t)i * (size_t)K + (size_t)j;
}

static inline const double *gram_of(const Geom *g, int i)
{
  return g->gram + (size_t)i * (size_t)g->K * (size_t)g->K;
}

/* Var(A_i - A_j) and E(A_i - A_j). */
static inline double dvar(const Geom *g, int i, int j)
{
  return gram_of(g, i)[ix(g->K, j, j)];
}

static inline double dmean(const Geom *g, int i, int j)
{
  return g->md[ix(g->K, i, j)];
}

static inline int is_near(const Geom *g, int i, int j)
{
  return g->xidx[ix(g->K, i, j)] >= 0;
}

static double sqdist(const double *a, const double *b, int n)
{
  double s = 0;
  for (int k = 0; k < n; k++)
    s += (a[k] - b[k]) * (a[k] - b[k]);
  return s;
}

static void symmetrize(double *a, int n)
{
  for (int i = 0; i < n; i++)
    for (int j = 0; j < i; j++)
      a[ix(n, i, j)] = a[ix(n, j, i)] = 0.5 * (a[ix(n, i, j)] + a[ix(n, j, i)]);
}

/* Σ_k |x_k| |F_k|: the size of the terms that x F sums, hence of its
 * rounding error. */
static double noise_scale(const Geom *g, const double *x)
{
  double s = 0;
  for (int k = 0; k < g->d; k++)
    s += fabs(x[k]) * g->fnorm[k];
  return s;
}

/* G = W F.  Rows that are rounding noise (w_i in the null space of Fᵀ)
 * become exact zeros, else two such constant logits would look random. */
static void form_G(Geom *g)
{
  const LogitLaw *L = g->L;
  int d = g->d, r = g->r;
  la_gemm(g->K, r, d, L->W, d, L->F, r, g->Gown, r);
  for (int k = 0; k < d; k++)
    g->fnorm[k] = cblas_dnrm2(r, L->F + (size_t)k * r, 1);
  for (int i = 0; i < g->K; i++) {
    double *gi = g->Gown + (size_t)i * r;
    if (cblas_dnrm2(r, gi, 1) <= NOISE * noise_scale(g, L->W + (size_t)i * d))
      memset(gi, 0, (size_t)r * sizeof *gi);
  }
  g->G = g->Gown;
}

/* m_i - m_j = (w_i - w_j)·mean + b_i - b_j, from the row difference. */
static void mean_diffs(Geom *g)
{
  const LogitLaw *L = g->L;
  int K = g->K, d = g->d;
  for (int i = 0; i < K; i++) {
    g->md[ix(K, i, i)] = 0;
    for (int j = i + 1; j < K; j++) {
      const double *wi = L->W + (size_t)i * d, *wj = L->W + (size_t)j * d;
      double s = L->b ? L->b[i] - L->b[j] : 0;
      for (int k = 0; L->mean && k < d; k++)
        s += (wi[k] - wj[k]) * L->mean[k];
      g->md[ix(K, i, j)] = s;
      g->md[ix(K, j, i)] = -s;
    }
  }
}

/* A pair whose G rows (or router rows) agree to 1e-3: G_i - G_j would have
 * lost digits, so its difference row is recomputed.  With F = I, G = W and
 * G_i - G_j is already the exact row difference. */
static int rows_near(const Geom *g, int i, int j)
{
  if (!g->L->F)
    return 0;
  int r = g->r, d = g->d;
  const double *gi = g->G + (size_t)i * r, *gj = g->G + (size_t)j * r;
  const double *wi = g->L->W + (size_t)i * d, *wj = g->L->W + (size_t)j * d;
  double ng = fmax(cblas_ddot(r, gi, 1, gi, 1), cblas_ddot(r, gj, 1, gj, 1));
  double nw = fmax(cblas_ddot(d, wi, 1, wi, 1), cblas_ddot(d, wj, 1, wj, 1));
  return sqdist(gi, gj, r) < NEAR_SQ * ng || sqdist(wi, wj, d) < NEAR_SQ * nw;
}

/* D_ij = (w_i - w_j) F from the exact difference of the router rows. */
static void exact_row(const Geom *g, int i, int j, double *delta, double *out)
{
  const LogitLaw *L = g->L;
  int d = g->d, r = g->r;
  for (int k = 0; k < d; k++)
    delta[k] = L->W[(size_t)i * d + k] - L->W[(size_t)j * d + k];
  cblas_dgemv(CblasRowMajor, CblasTrans, d, r, 1.0, L->F, r, delta, 1, 0.0, out, 1);
  if (cblas_dnrm2(r, out, 1) <= NOISE * noise_scale(g, delta))
    memset(out, 0, (size_t)r * sizeof *out);
}

static RtStatus exact_rows(Rt *rt, Geom *g)
{
  int K = g->K, n = 0;
  for (size_t t = 0; t < (size_t)K * K; t++)
    g->xidx[t] = -1;
  for (int i = 0; i < K; i++)
    for (int j = i + 1; j < K; j++)
      if (rows_near(g, i, j))
        g->xidx[ix(K, i, j)] = g->xidx[ix(K, j, i)] = n++;
  if (n == 0)
    return RT_OK;
  g->xrow = rt_array(rt, (size_t)n * g->r, sizeof *g->xrow);
  double *delta = rt_array(rt, (size_t)g->d, sizeof *delta);
  RtStatus st = g->xrow && delta ? RT_OK : RT_ENOMEM;
  for (int i = 0; i < K && !st; i++)
    for (int j = i + 1; j < K; j++)
      if (is_near(g, i, j))
        exact_row(g, i, j, delta, g->xrow + (size_t)g->xidx[ix(K, i, j)] * g->r);
  rt_free(rt, delta);
  return st;
}

/* D_ij = G_i - G_j into out (r doubles), exact for nearly equal rows. */
static void diff_row(const Geom *g, int i, int j, double *out)
{
  int r = g->r, x = g->xidx[ix(g->K, i, j)];
  if (x >= 0) {
    const double *src = g->xrow + (size_t)x * r;
    double s = i < j ? 1.0 : -1.0;
    for (int k = 0; k < r; k++)
      out[k] = s * src[k];
    return;
  }
  const double *gi = g->G + (size_t)i * r, *gj = g->G + (size_t)j * r;
  for (int k = 0; k < r; k++)
    out[k] = gi[k] - gj[k];
}

/* Block i = Gram matrix of the rows D_ik, k = 0..K-1 (D_ii = 0). */
static void build_grams(Geom *g)
{
  int K = g->K, r = g->r;
  for (int i = 0; i < K; i++) {
    double *gi = g->gram + (size_t)i * K * K;
    for (int k = 0; k < K; k++)
      diff_row(g, i, k, g->row + (size_t)k * r);
    la_gemm_nt(K, K, r, g->row, r, g->row, r, gi, K);
    symmetrize(gi, K);
  }
}

static void geom_free(Rt *rt, Geom *g)
{
  rt_free(rt, g->Gown);
  rt_free(rt, g->fnorm);
  rt_free(rt, g->xidx);
  rt_free(rt, g->xrow);
  rt_free(rt, g->md);
  rt_free(rt, g->gram);
  rt_free(rt, g->row);
  rt_free(rt, g->u);
}

static RtStatus geom_build(Rt *rt, const LogitLaw *L, Geom *g)
{
  size_t K = (size_t)L->K, r = (size_t)law_cols(L);
  *g = (Geom){.K = L->K, .d = L->d, .r = (int)r, .L = L, .G = L->W};
  g->xidx = rt_array(rt, K * K, sizeof *g->xidx);
  g->md = rt_array(rt, K * K, sizeof *g->md);
  g->gram = rt_array(rt, K * K * K, sizeof *g->gram);
  g->row = rt_array(rt, K * r, sizeof *g->row);
  g->u = rt_array(rt, r, sizeof *g->u);
  if (L->F) {
    g->Gown = rt_array(rt, K * r, sizeof *g->Gown);
    g->fnorm = rt_array(rt, (size_t)L->d, sizeof *g->fnorm);
  }
  if (!g->xidx || !g->md || !g->gram || !g->row || !g->u ||
      (L->F && (!g->Gown || !g->fnorm)))
    return RT_ENOMEM;
  if (L->F)
    form_G(g);
  mean_diffs(g);
  RtStatus st = exact_rows(rt, g);
  if (!st)
    build_grams(g);
  return st;
}

/* --------------------------------------------------------------- bounds */

/* P(N(mean, var) >= t).  A point mass at t counts as above, so that the
 * bounds built from it stay bounds. */
static double upper_prob(double mean, double var, double t)
{
  if (!(var > 0))
    return mean >= t ? 1.0 : 0.0;
  return gauss_sf((t - mean) / sqrt(var));
}

/* P(|A_i - A_j| <= w). */
static double tie_prob(const Geom *g, int i, int j, double w)
{
  double m = dmean(g, i, j), v = dvar(g, i, j);
  if (!(v > 0))
    return fabs(m) <= w;
  double s = sqrt(v);
  return gauss_interval((-w - m) / s, (w - m) / s);
}

/* Whether a deterministic difference A_i - A_j = m lies in the slab [0, w];
 * an exact tie (identical logits) is counted once, for i < j. */
static int det_in_slab(double m, double w, int i, int j)
{
  return m > 0 ? m <= w : m == 0 && i < j;
}

/* P(0 <= A_i - A_j <= w). */
static double slab_prob(const Geom *g, int i, int j, double w)
{
  double m = dmean(g, i, j), v = dvar(g, i, j);
  if (!(v > 0))
    return det_in_slab(m, w, i, j);
  double s = sqrt(v);
  return gauss_interval(-m / s, (w - m) / s);
}

/* 2 φ_ij(0): twice the density of A_i - A_j at 0. */
static double tie_coef(const Geom *g, int i, int j)
{
  double v = dvar(g, i, j);
  if (!(v > 0))
    return 0;
  double s = sqrt(v);
  return 2 * gauss_pdf(dmean(g, i, j) / s) / s;
}

/* An upper bound on P(A_j >= A_k ∀k≠i,j | A_i - A_j = s) for all s in
 * [lo, hi]: the smallest single-constraint conditional probability, at the
 * worse end of the interval (the conditional mean is linear in s).
 * Constraints through a nearly equal pair are skipped (the Schur complement
 * in the Gram matrix has no digits left there), which only loosens it. */
static double cond_bound(const Geom *g, int i, int j, double lo, double hi)
{
  int K = g->K;
  const double *gj = gram_of(g, j);
  double v = gj[ix(K, i, i)], best = 1;
  if (!isfinite(lo) || !isfinite(hi))
    return 1;
  for (int k = 0; k < K; k++) {
    if (k == i || k == j || is_near(g, k, i) || is_near(g, k, j))
      continue;
    double vk = gj[ix(K, k, k)], c = gj[ix(K, k, i)];
    double slope = v > 0 ? c / v : 0;
    double cv = v > 0 ? fmax(vk - c * slope, 1e-10 * vk) : vk;
    /* E[A_j - A_k | A_j - A_i = t] at t = -lo and t = -hi */
    double e0 = dmean(g, j, k) + slope * (-lo - dmean(g, j, i));
    double e1 = dmean(g, j, k) + slope * (-hi - dmean(g, j, i));
    best = fmin(best, upper_prob(fmax(e0, e1), cv, 0));
  }
  return best;
}

/* P(A_i - A_j > w ∀j) <= min_j P(A_i - A_j > w). */
static double winner_bound(const Geom *g, int i, double w)
{
  double best = 1;
  for (int j = 0; j < g->K; j++)
    if (j != i)
      best = fmin(best, upper_prob(dmean(g, i, j), dvar(g, i, j), w));
  return best;
}

/* Σ_{i<j} P(|A_i - A_j| <= w) >= M(w). */
static double union_bound(const Geom *g, double w)
{
  double s = 0;
  for (int i = 0; i < g->K; i++)
    for (int j = i + 1; j < g->K; j++)
      s += tie_prob(g, i, j, w);
  return s;
}

/* ------------------------------------------------------- shared workspace */

typedef struct Work Work;
typedef RtStatus (*TermFn)(Rt *rt, Work *k, int t, double *value, double *se);

typedef struct Sum {
  double total, var;   /* Σ values, Σ se² */
  double pruned;       /* Σ bounds of the terms dropped */
  int used, cand;      /* terms evaluated, terms with a positive bound */
  int live;            /* terms expected to be evaluated (share the budget) */
} Sum;

enum {
  USED_CLOSED = 1,     /* K = 2 closed forms, w = inf */
  USED_C_EXACT = 2,    /* complement orthants, exact (bvn) */
  USED_C_GENZ = 4,     /* complement orthants, Genz */
  USED_S_QUAD = 8,     /* slabs, 1-D Gauss–Kronrod (K = 3) */
  USED_S_EXACT = 16,   /* slabs or conditional orthants, exact */
  USED_S_GENZ = 32     /* slabs or conditional orthants, Genz */
};

struct Work {
  Geom g;
  OrthantOpts o;
  double *cov, *lo, *hi, *c0, *c1;  /* K×K and four K-vectors */
  double *bound;                    /* K×K term bounds */
  double w;                         /* current width */
  double budget_abs, budget_rel;    /* the sum's error target: max(abs, rel·sum) */
  double share;                     /* absolute error allowed to the current term */
  double term_rel;                  /* relative tolerance of each mvn call */
  double pilot;                     /* the sum from a pilot pass (0: none) */
  int slab;                         /* 1 while evaluating slab/pair terms */
  int flags;
  long evals;
};

/* The error target shared equally by the live terms (errors add in
 * quadrature); the running sum stands in for the unknown total. */
static double share_of(const Work *k, const Sum *s)
{
  return fmax(k->budget_abs, k->budget_rel * s->total) / sqrt(s->live > 0 ? s->live : 1);
}

/* ---------------------------------------------------------- pruned sums */

typedef struct Ranked {
  double bound, tail;  /* tail: Σ of this and all smaller bounds */
  int t;
} Ranked;

static int by_bound(const void *a, const void *b)
{
  const Ranked *x = a, *y = b;
  if (x->bound != y->bound)
    return x->bound > y->bound ? -1 : 1;
  return (x->t > y->t) - (x->t < y->t);
}

/* The terms by decreasing bound with their tail sums; s->cand and s->live
 * (the terms a pruning threshold `thr` would keep) are counted. */
static void rank_terms(Ranked *rk, const double *bound, int n, double thr, Sum *s)
{
  *s = (Sum){0};
  for (int t = 0; t < n; t++) {
    rk[t] = (Ranked){bound[t], 0, t};
    s->cand += bound[t] > 0;
  }
  qsort(rk, (size_t)n, sizeof *rk, by_bound);
  for (int t = n - 1; t >= 0; t--) {
    rk[t].tail = rk[t].bound + (t + 1 < n ? rk[t + 1].tail : 0);
    s->live += rk[t].tail > thr;
  }
}

/* Σ_t f(t) over the n terms in decreasing order of bound[t], dropping the
 * tail once its summed bounds are <= max(abs_thr, rel_thr·total).  Before
 * each term k->share is set to the absolute error that term may have. */
static RtStatus pruned_sum(Rt *rt, Work *k, const double *bound, int n, double abs_thr,
                           double rel_thr, TermFn f, Sum *s)
{
  Ranked *rk = rt_array(rt, (size_t)n, sizeof *rk);
  if (!rk)
    return RT_ENOMEM;
  rank_terms(rk, bound, n, fmax(abs_thr, rel_thr * k->pilot), s);
  RtStatus st = RT_OK;
  int q = 0;
  for (; q < n && !st && rk[q].tail > fmax(abs_thr, rel_thr * s->total); q++) {
    double v = 0, e = 0;
    k->share = share_of(k, s);
    st = rt_interrupted(rt) ? rt_error(rt, RT_EINTR, "orthant: interrupted")
                            : f(rt, k, rk[q].t, &v, &e);
    s->total += v;
    s->var += e * e;
    s->used++;
  }
  s->pruned = q < n ? rk[q].tail : 0;
  rt_free(rt, rk);
  return st;
}

/* A relative target for a sum of positive terms: a cheap pilot pass at a
 * hundred times the tolerance sizes the budget, so that every term may
 * have rel_tol·pilot/√live from the start (a share of the running sum
 * alone would be needlessly tight for the first, largest terms). */
static RtStatus relative_budget(Rt *rt, Work *k, const double *bound, int n, TermFn f)
{
  double rel = k->o.rel_tol, pilot = fmin(1e-2, 100 * rel);
  k->budget_abs = k->o.abs_tol;
  k->budget_rel = k->term_rel = pilot;
  Sum s = {0};
  k->pilot = 0;
  RtStatus st = rel > 0 && rel < 1e-2
                    ? pruned_sum(rt, k, bound, n, PRUNE * k->o.abs_tol, PRUNE * pilot, f, &s)
                    : RT_OK;
  k->pilot = s.total;
  k->budget_abs = fmax(k->o.abs_tol, 0.5 * rel * s.total);
  k->budget_rel = k->term_rel = rel;
  return st;
}

/* ---------------------------------------------------- workspace and mvn */

static void work_end(Rt *rt, Work *k)
{
  geom_free(rt, &k->g);
  rt_free(rt, k->cov);
  rt_free(rt, k->bound);
}

static RtStatus work_begin(Rt *rt, const LogitLaw *L, const OrthantOpts *o, Work *k)
{
  memset(k, 0, sizeof *k);
  RtStatus st = get_opts(rt, o, &k->o);
  if (!st)
    st = check_law(rt, L);
  if (st)
    return st;
  if (L->K > ORTHANT_MAX_K)
    return rt_error(rt, RT_EUNSUP, "orthant: the orthant path handles K <= %d logits "
                    "(got %d); use the conditional Monte Carlo (orthant_density_mc)",
                    ORTHANT_MAX_K, L->K);
  size_t K = (size_t)L->K;
  k->cov = rt_array(rt, K * K + 4 * K, sizeof *k->cov);
  k->bound = rt_array(rt, K * K, sizeof *k->bound);
  if (!k->cov || !k->bound)
    return RT_ENOMEM;
  k->lo = k->cov + K * K;
  k->hi = k->lo + K;
  k->c0 = k->hi + K;
  k->c1 = k->c0 + K;
  return geom_build(rt, L, &k->g);
}

/* P(lo < Y < hi) for Y ~ N(0, k->cov) in n dimensions (1 when n = 0), to
 * max(abs_tol, k->term_rel·P). */
static RtStatus run_mvn(Rt *rt, Work *k, int n, double abs_tol, double *p, double *e)
{
  *p = 1, *e = 0;
  if (n == 0)
    return RT_OK;
  MvnOpts mo;
  MvnInfo info;
  mvn_default_opts(&mo);
  mo.abs_tol = abs_tol;
  mo.rel_tol = k->term_rel;
  mo.max_evals = k->o.max_evals;
  mo.seed = k->o.seed;
  RtStatus st = mvn_prob(rt, n, k->cov, k->lo, k->hi, &mo, p, e, &info);
  k->evals += info.evals;
  if (k->slab)
    k->flags |= info.exact ? USED_S_EXACT : USED_S_GENZ;
  else
    k->flags |= info.exact ? USED_C_EXACT : USED_C_GENZ;
  return st;
}

/* The (K-1)×(K-1) block of a K×K matrix without row and column `skip`. */
static void sub_matrix(const double *a, int K, int skip, double *out)
{
  int x = 0;
  for (int i = 0; i < K; i++)
    for (int j = 0; i != skip && j < K; j++)
      if (j != skip)
        out[x++] = a[ix(K, i, j)];
}

/* ----------------------------------------------- conditioning on a tie */

/* e ← e - (e·u)u for a unit (or zero) u; returns e·u.  What is left at the
 * rounding level of e becomes exactly 0: a constraint fixed by the tie. */
static double project_out(double *e, const double *u, int r)
{
  double n0 = cblas_dnrm2(r, e, 1), p = cblas_ddot(r, e, 1, u, 1);
  cblas_daxpy(r, -p, u, 1, e, 1);
  if (cblas_dnrm2(r, e, 1) <= 64 * DBL_EPSILON * n0)
    memset(e, 0, (size_t)r * sizeof *e);
  return p;
}

/* The law of V_a = A_j - A_a (a ≠ i, j) given S = A_i - A_j = s: mean
 * c0 + c1·s and covariance k->cov ((K-2) square).  V_a is written through
 * the shorter of D_ja and D_ia (V_a = (A_i - A_a) - S), then projected on
 * the complement of D_ij. */
static void pair_cond(Work *k, int i, int j)
{
  Geom *g = &k->g;
  int K = g->K, r = g->r, n = 0;
  double v = dvar(g, i, j), sd = sqrt(v), ms = dmean(g, i, j);
  diff_row(g, i, j, g->u);
  cblas_dscal(r, v > 0 ? 1 / sd : 0.0, g->u, 1);
  for (int a = 0; a < K; a++) {
    if (a == i || a == j)
      continue;
    int via_i = dvar(g, i, a) < dvar(g, j, a), from = via_i ? i : j;
    double *e = g->row + (size_t)n * r;
    diff_row(g, from, a, e);
    double p = project_out(e, g->u, r);
    k->c0[n] = dmean(g, from, a) - (v > 0 ? p * ms / sd : 0);
    k->c1[n] = (v > 0 ? p / sd : 0) - via_i;
    n++;
  }
  if (n > 0) {
    la_gemm_nt(n, n, r, g->row, r, g->row, r, k->cov, n);
    symmetrize(k->cov, n);
  }
}

/* ------------------------------------------------------------------ mass */

/* P(A_i - A_j > w for all j ≠ i): an orthant of Gram block i. */
static RtStatus winner_term(Rt *rt, Work *k, int i, double *p, double *e)
{
  int K = k->g.K, x = 0;
  sub_matrix(gram_of(&k->g, i), K, i, k->cov);
  for (int a = 0; a < K; a++) {
    if (a == i)
      continue;
    k->lo[x] = k->w - dmean(&k->g, i, a);
    k->hi[x++] = INFINITY;
  }
  return run_mvn(rt, k, K - 1, k->share, p, e);
}

/* One pass of M = 1 - Σ_i P(i wins by more than w) to absolute tolerance
 * tol (bounds in k->bound). */
static RtStatus complement_pass(Rt *rt, Work *k, double tol, double *M, double *err)
{
  Sum s = {0};
  k->budget_abs = tol;
  k->budget_rel = k->term_rel = 0;
  k->slab = 0;
  RtStatus st = pruned_sum(rt, k, k->bound, k->g.K, PRUNE * tol, 0, winner_term, &s);
  *M = fmax(0.0, fmin(1.0, 1 - s.total));
  *err = sqrt(s.var) + s.pruned;
  return st;
}

/* M by the complement, to max(abs_tol, rel_tol·M): a pilot pass at a
 * hundred times the tolerance says how large M is, and whether this form
 * suits it at all (below THIN the caller switches to slabs). */
static RtStatus mass_complement(Rt *rt, Work *k, double *M, double *err)
{
  double tol = fmax(k->o.abs_tol, k->o.rel_tol * THIN);
  for (int i = 0; i < k->g.K; i++)
    k->bound[i] = winner_bound(&k->g, i, k->w);
  if (k->g.K == 3)
    return complement_pass(rt, k, tol, M, err);
  RtStatus st = complement_pass(rt, k, fmin(1e-3, 100 * tol), M, err);
  if (st || *M + *err < THIN)
    return st;
  return complement_pass(rt, k, fmax(k->o.abs_tol, 0.5 * k->o.rel_tol * *M), M, err);
}

/* Thin side of a slab term: A_j - A_i ∈ [-w, 0], centred; a deterministic
 * difference becomes "no constraint" or an empty interval. */
static void slab_limits(const Geom *g, int i, int j, double w, double *lo, double *hi)
{
  double m = dmean(g, j, i);
  if (dvar(g, i, j) > 0) {
    *lo = -w - m, *hi = -m;
    return;
  }
  int in = det_in_slab(-m, w, i, j);
  *lo = in ? -INFINITY : 1;
  *hi = in ? INFINITY : 0;
}

/* P(0 <= A_i - A_j <= w, A_j >= A_k ∀k≠i,j): Gram block j, thin side on
 * A_j - A_i (Genz takes it first, so the estimate is relative). */
static RtStatus slab_term(Rt *rt, Work *k, int t, double *p, double *e)
{
  int K = k->g.K, i = t / K, j = t % K, x = 0;
  sub_matrix(gram_of(&k->g, j), K, j, k->cov);
  for (int a = 0; a < K; a++) {
    if (a == j)
      continue;
    k->lo[x] = -dmean(&k->g, j, a);
    k->hi[x] = INFINITY;
    if (a == i)
      slab_limits(&k->g, i, j, k->w, &k->lo[x], &k->hi[x]);
    x++;
  }
  return run_mvn(rt, k, K - 1, k->share, p, e);
}

typedef struct SlabFn {
  double m, s;         /* law of S = A_i - A_j */
  double c0, c1, v;    /* law of A_j - A_k given S = x */
} SlabFn;

static double slab_integrand(double x, void *ctx)
{
  const SlabFn *f = ctx;
  return gauss_pdf((x - f->m) / f->s) / f->s * upper_prob(f->c0 + f->c1 * x, f->v, 0);
}

/* K = 3: the slab term as ∫_0^w φ_S(s) P(A_j >= A_k | S = s) ds, with
 * breakpoints at the scales of both factors. */
static RtStatus slab_quad_term(Rt *rt, Work *k, int t, double *p, double *e)
{
  const Geom *g = &k->g;
  int i = t / g->K, j = t % g->K;
  pair_cond(k, i, j);
  SlabFn f = {dmean(g, i, j), sqrt(dvar(g, i, j)), k->c0[0], k->c1[0], k->cov[0]};
  k->flags |= USED_S_QUAD;
  *e = 0;
  if (!(f.s > 0)) {
    *p = det_in_slab(f.m, k->w, i, j) * upper_prob(f.c0 + f.c1 * f.m, f.v, 0);
    return RT_OK;
  }
  double x0 = f.c1 != 0 ? -f.c0 / f.c1 : f.m, h = f.c1 != 0 ? sqrt(f.v) / fabs(f.c1) : f.s;
  double br[6] = {f.m - 4 * f.s, f.m, f.m + 4 * f.s, x0 - 4 * h, x0, x0 + 4 * h};
  QuadOpts qo = {1e-300, 1e-13, 400};
  QuadResult qr;
  RtStatus st = quad_integrate(rt, slab_integrand, &f, 0, k->w, br, 6, &qo, &qr);
  *p = qr.value;
  *e = qr.abserr;
  return st;
}

/* M = Σ over ordered pairs of slab terms, to a relative tolerance. */
static RtStatus mass_slabs(Rt *rt, Work *k, double *M, double *err)
{
  const Geom *g = &k->g;
  int K = g->K, exact = K == 3;
  for (int i = 0; i < K; i++)
    for (int j = 0; j < K; j++)
      k->bound[ix(K, i, j)] =
          i == j ? 0 : slab_prob(g, i, j, k->w) * cond_bound(g, i, j, 0, k->w);
  k->budget_abs = k->o.abs_tol;
  k->budget_rel = k->term_rel = k->o.rel_tol;
  k->slab = 1;
  Sum s = {0};
  RtStatus st = exact ? RT_OK : relative_budget(rt, k, k->bound, K * K, slab_term);
  if (!st)
    st = pruned_sum(rt, k, k->bound, K * K, PRUNE * k->o.abs_tol,
                    exact ? DBL_EPSILON : PRUNE * k->o.rel_tol,
                    exact ? slab_quad_term : slab_term, &s);
  *M = fmin(1.0, s.total);
  *err = sqrt(s.var) + s.pruned;
  return st;
}

/* The complement's absolute error is too coarse for a small M. */
static int complement_coarse(const Work *k, double M, double err)
{
  if (M >= THIN)
    return 0;
  return k->g.K == 3 || err > fmax(k->o.abs_tol, k->o.rel_tol * M);
}

static RtStatus mass_one(Rt *rt, Work *k, double w, double *M, double *err)
{
  k->w = w;
  if (k->g.K == 2 || isinf(w)) {
    *M = tie_prob(&k->g, 0, 1, w);
    *M = isinf(w) ? 1.0 : *M;
    *err = 4 * DBL_EPSILON * *M;
    k->flags |= USED_CLOSED;
    return RT_OK;
  }
  if (union_bound(&k->g, w) >= THIN) {
    RtStatus st = mass_complement(rt, k, M, err);
    if (st || !complement_coarse(k, *M, *err))
      return st;
  }
  return mass_slabs(rt, k, M, err);
}

static void describe_mass(const Work *k, char *out, size_t len)
{
  int f = k->flags, K = k->g.K;
  if (!out || len == 0)
    return;
  if (f & (USED_C_GENZ | USED_S_GENZ))
    snprintf(out, len, "quadrature (Genz, %ld evaluations%s)", k->evals,
             f & USED_S_GENZ ? "; slab form for small M" : "");
  else if (K == 2 || !(f & (USED_C_EXACT | USED_S_QUAD | USED_S_EXACT)))
    snprintf(out, len, "exact (%s)", K == 2 ? "normal interval" : "every term bounded away");
  else
    snprintf(out, len, "exact (%s%s%s)",
             f & USED_C_EXACT ? K == 3 ? "bivariate normal" : "degenerate orthants" : "",
             (f & USED_C_EXACT) && (f & (USED_S_QUAD | USED_S_EXACT)) ? "; " : "",
             f & USED_S_QUAD ? "1-D Gauss-Kronrod over the slab"
             : f & USED_S_EXACT ? "degenerate slab rectangles" : "");
}

static RtStatus check_widths(Rt *rt, const double *w, int nw, const double *mass)
{
  if (nw < 1 || !w || !mass)
    return rt_error(rt, RT_EINVAL, "orthant: need nw >= 1 widths and an output array");
  for (int i = 0; i < nw; i++)
    if (!(w[i] >= 0))
      return rt_error(rt, RT_EINVAL, "orthant: width %d is %g; widths must be >= 0", i, w[i]);
  return RT_OK;
}

RtStatus orthant_mass(Rt *rt, const LogitLaw *L, const double *w, int nw,
                      const OrthantOpts *o, double *mass, double *err,
                      char *method, size_t method_len)
{
  RtStatus st = check_widths(rt, w, nw, mass);
  if (st)
    return st;
  Work k;
  st = work_begin(rt, L, o, &k);
  for (int i = 0; i < nw && !st; i++) {
    double e = 0;
    st = mass_one(rt, &k, w[i], &mass[i], &e);
    if (err)
      err[i] = e;
  }
  if (!st)
    describe_mass(&k, method, method_len);
  work_end(rt, &k);
  return st;
}

/* --------------------------------------------------------------- density */

/* 2 φ_ij(0) P(A_j >= A_k ∀k | A_i = A_j) for pair t = i·K + j. */
static RtStatus density_term(Rt *rt, Work *k, int t, double *val, double *se)
{
  int K = k->g.K, i = t / K, j = t % K;
  double c = tie_coef(&k->g, i, j), p, e;
  pair_cond(k, i, j);
  for (int x = 0; x < K - 2; x++) {
    k->lo[x] = -k->c0[x];
    k->hi[x] = INFINITY;
  }
  RtStatus st = run_mvn(rt, k, K - 2, k->share / c, &p, &e);
  *val = c * p;
  *se = c * e;
  return st;
}

/* Two identical logits (zero-variance difference with zero mean) tie with
 * positive probability: an atom of Δ at 0, C = ∞.  *pi gets the first such
 * pair (i·K + j) whose probability of being the top two is positive, or -1;
 * *p that probability. */
static RtStatus tie_atom(Rt *rt, Work *k, int *pi, double *p)
{
  int K = k->g.K;
  *pi = -1;
  k->slab = 1;
  k->term_rel = 0;
  for (int i = 0; i < K; i++)
    for (int j = i + 1; j < K; j++) {
      if (dvar(&k->g, i, j) > 0 || dmean(&k->g, i, j) != 0)
        continue;
      pair_cond(k, i, j);
      for (int x = 0; x < K - 2; x++)
        k->lo[x] = -k->c0[x], k->hi[x] = INFINITY;
      double e;
      RtStatus st = run_mvn(rt, k, K - 2, 1e-12, p, &e);
      if (st || *p > 0) {
        *pi = st ? -1 : (int)ix(K, i, j);
        return st;
      }
    }
  return RT_OK;
}

static void describe_density(const Work *k, const Sum *s, char *out, size_t len)
{
  static const char *const exact[] = {"", "", "normal density", "normal distribution function",
                                      "bivariate normal"};
  if (!out || len == 0)
    return;
  int n = 0, K = k->g.K;
  if (k->flags & USED_S_GENZ)
    n = snprintf(out, len, "quadrature (Genz, %ld evaluations", k->evals);
  else
    n = snprintf(out, len, "exact (%s", K <= 4 ? exact[K] : "degenerate conditional orthants");
  if (n >= 0 && (size_t)n < len && s->used < s->cand)
    n += snprintf(out + n, len - (size_t)n, "; %d of %d pairs, the rest bounded by %.2g",
                  s->used, s->cand, s->pruned);
  if (n >= 0 && (size_t)n < len)
    snprintf(out + n, len - (size_t)n, ")");
}

static RtStatus density_pairs(Rt *rt, Work *k, double *C, double *err, Sum *s)
{
  const Geom *g = &k->g;
  int K = g->K;
  for (int i = 0; i < K; i++)
    for (int j = 0; j < K; j++)
      k->bound[ix(K, i, j)] = j <= i ? 0 : tie_coef(g, i, j) * cond_bound(g, i, j, 0, 0);
  k->slab = 1;
  k->budget_abs = k->o.abs_tol;
  k->budget_rel = k->term_rel = k->o.rel_tol;
  RtStatus st = K <= 4 ? RT_OK : relative_budget(rt, k, k->bound, K * K, density_term);
  if (!st)
    st = pruned_sum(rt, k, k->bound, K * K, PRUNE * k->o.abs_tol,
                    K <= 4 ? DBL_EPSILON : PRUNE * k->o.rel_tol, density_term, s);
  *C = s->total;
  *err = sqrt(s->var) + s->pruned;
  return st;
}

static void describe_atom(int K, int atom, double p, char *out, size_t len)
{
  if (out && len)
    snprintf(out, len, "infinite (logits %d and %d are identical and the top two with "
             "probability %.3g: Δ has an atom at 0)", atom / K, atom % K, p);
}

RtStatus orthant_density(Rt *rt, const LogitLaw *L, const OrthantOpts *o, double *C,
                         double *err, char *method, size_t method_len)
{
  Work k;
  double e = 0, p = 0;
  int atom = -1;
  Sum s = {0};
  RtStatus st = work_begin(rt, L, o, &k);
  if (!st && !C)
    st = rt_error(rt, RT_EINVAL, "orthant: C must not be NULL");
  if (!st)
    st = tie_atom(rt, &k, &atom, &p);
  if (!st && atom >= 0) {
    *C = INFINITY;
    describe_atom(L->K, atom, p, method, method_len);
  } else if (!st) {
    k.evals = 0;
    k.flags = 0;
    st = density_pairs(rt, &k, C, &e, &s);
    if (!st)
      describe_density(&k, &s, method, method_len);
  }
  if (err)
    *err = e;
  work_end(rt, &k);
  return st;
}

/* ------------------------------------------------ conditional Monte Carlo */

static void cond_means(const LogitLaw *L, double *m)
{
  for (int k = 0; k < L->K; k++) {
    const double *wk = L->W + (size_t)k * L->d;
    m[k] = L->b ? L->b[k] : 0;
    for (int j = 0; L->mean && j < L->d; j++)
      m[k] += wk[j] * L->mean[j];
  }
}

/* R (K×K upper, row-major) of Gᵀ = Q R, G = W F (or W).  The row-major K×r
 * array of G is Gᵀ in column-major order, as LAPACK wants it; the
 * workspace goes through rt. */
static RtStatus qr_factor(Rt *rt, const LogitLaw *L, double *R)
{
  int K = L->K, r = law_cols(L);
  double *Gt = rt_array(rt, (size_t)K * r, sizeof *Gt), *tau = rt_array(rt, (size_t)K, sizeof *tau);
  double *work = NULL, wq = 0;
  RtStatus st = Gt && tau ? RT_OK : RT_ENOMEM;
  if (!st && L->F)
    la_gemm(K, r, L->d, L->W, L->d, L->F, r, Gt, r);
  else if (!st)
    memcpy(Gt, L->W, (size_t)K * r * sizeof *Gt);
  if (!st && LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, r, K, Gt, r, tau, &wq, -1) != 0)
    st = rt_error(rt, RT_EINVAL, "orthant: QR workspace query failed");
  if (!st && !(work = rt_array(rt, (size_t)wq + 1, sizeof *work)))
    st = RT_ENOMEM;
  if (!st && LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, r, K, Gt, r, tau, work, (lapack_int)wq) != 0)
    st = rt_error(rt, RT_EINVAL, "orthant: QR factorisation of the logit factor failed");
  for (int i = 0; i < K && !st; i++)
    for (int j = 0; j < K; j++)
      R[ix(K, i, j)] = j >= i ? Gt[(size_t)j * r + i] : 0;
  rt_free(rt, Gt);
  rt_free(rt, tau);
  rt_free(rt, work);
  return st;
}

/* Rank K, numerically: every |R_kk| above SINGULAR of the largest. */
static RtStatus check_rank(Rt *rt, const double *R, int K)
{
  double big = 0;
  for (int k = 0; k < K; k++)
    big = fmax(big, fabs(R[ix(K, k, k)]));
  for (int k = 0; k < K; k++)
    if (!(fabs(R[ix(K, k, k)]) > SINGULAR * big))
      return rt_error(rt, RT_EUNSUP, "orthant: the logit covariance is singular or nearly so "
                      "(logit %d is within %.2g of a combination of the others); the "
                      "conditional Monte Carlo needs rank K = %d: use orthant_density",
                      k, fabs(R[ix(K, k, k)]) / (big > 0 ? big : 1), K);
  return RT_OK;
}

/* sq_k = sqrt(Q_kk), Q = (Rᵀ R)^{-1} = R^{-1} R^{-T}: the row norms of
 * R^{-1}.  Row-major upper R is column-major lower Rᵀ, whose inverse
 * (column-major) is R^{-1} row-major. */
static RtStatus cond_precisions(Rt *rt, const double *R, int K, double *sq)
{
  double *Ri = rt_array(rt, (size_t)K * K, sizeof *Ri);
  if (!Ri)
    return RT_ENOMEM;
  memcpy(Ri, R, (size_t)K * K * sizeof *Ri);
  RtStatus st = RT_OK;
  if (LAPACKE_dtrtri_work(LAPACK_COL_MAJOR, 'L', 'N', K, Ri, K) != 0)
    st = rt_error(rt, RT_EUNSUP, "orthant: the logit covariance is singular");
  for (int k = 0; k < K && !st; k++)
    sq[k] = cblas_dnrm2(K, Ri + (size_t)k * K, 1);
  rt_free(rt, Ri);
  return st;
}

void orthant_cond_free(Rt *rt, OrthantCond *c)
{
  rt_free(rt, c->m);
  rt_free(rt, c->R);
  rt_free(rt, c->sq);
  memset(c, 0, sizeof *c);
}

RtStatus orthant_cond_init(Rt *rt, const LogitLaw *L, OrthantCond *c)
{
  memset(c, 0, sizeof *c);
  RtStatus st = check_law(rt, L);
  if (st)
    return st;
  int K = L->K, r = law_cols(L);
  if (r < K || L->d < K)
    return rt_error(rt, RT_EUNSUP, "orthant: the logit covariance has rank <= %s = %d < "
                    "K = %d; the conditional Monte Carlo needs rank K: use orthant_density",
                    r < L->d ? "r" : "d", r < L->d ? r : L->d, K);
  c->K = K;
  c->m = rt_array(rt, (size_t)K, sizeof *c->m);
  c->R = rt_array(rt, (size_t)K * K, sizeof *c->R);
  c->sq = rt_array(rt, (size_t)K, sizeof *c->sq);
  st = c->m && c->R && c->sq ? RT_OK : RT_ENOMEM;
  if (!st)
    st = qr_factor(rt, L, c->R);
  if (!st)
    st = check_rank(rt, c->R, K);
  if (!st)
    st = cond_precisions(rt, c->R, K, c->sq);
  if (st)
    orthant_cond_free(rt, c);
  else
    cond_means(L, c->m);
  return st;
}

size_t orthant_cond_scratch(const OrthantCond *c, size_t n)
{
  return (2 * (size_t)c->K + 4) * n;
}

/* A = m + Rᵀ Z and Y = R^{-1} Z = Q (A - m), both K×n. */
static void cond_logits(const OrthantCond *c, const double *Z, int n, double *A, double *Y)
{
  int K = c->K;
  size_t kn = (size_t)K * n;
  memcpy(A, Z, kn * sizeof *A);
  memcpy(Y, Z, kn * sizeof *Y);
  cblas_dtrmm(CblasRowMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, K, n, 1.0,
              c->R, K, A, n);
  cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, K, n, 1.0,
              c->R, K, Y, n);
  for (int k = 0; k < K; k++)
    for (int s = 0; s < n; s++)
      A[(size_t)k * n + s] += c->m[k];
}

/* Largest (t1, at index arg) and second largest (t2) logit of each sample. */
static void top_two(const double *A, int K, int n, double *t1, double *t2, int *arg)
{
  for (int s = 0; s < n; s++)
    t1[s] = t2[s] = -INFINITY, arg[s] = 0;
  for (int k = 0; k < K; k++) {
    const double *a = A + (size_t)k * n;
    for (int s = 0; s < n; s++) {
      if (a[s] > t1[s])
        t2[s] = t1[s], t1[s] = a[s], arg[s] = k;
      else if (a[s] > t2[s])
        t2[s] = a[s];
    }
  }
}

/* val[s] = Σ_k φ((M_{-k} - c_k)/s_k)/s_k, with the conditional mean
 * c_k = A_k - Y_k/Q_kk and sd s_k = 1/sq_k, so the argument is
 * (M_{-k} - A_k)·sq_k + Y_k/sq_k. */
static void cond_values(const OrthantCond *c, const double *A, const double *Y, int n,
                        const double *t1, const double *t2, const int *arg, double *val)
{
  memset(val, 0, (size_t)n * sizeof *val);
  for (int k = 0; k < c->K; k++) {
    const double *a = A + (size_t)k * n, *y = Y + (size_t)k * n;
    double q = c->sq[k], iq = 1 / q, f = q * INV_SQRT_2PI;
    for (int s = 0; s < n; s++) {
      double t = ((arg[s] == k ? t2[s] : t1[s]) - a[s]) * q + y[s] * iq;
      if (t * t < 1400)
        val[s] += f * exp(-0.5 * t * t);
    }
  }
}

void orthant_cond_block(const OrthantCond *c, const double *Z, size_t n, double *scratch,
                        double *sum, double *sumsq)
{
  int K = c->K, m = (int)n;
  double *A = scratch, *Y = A + (size_t)K * n, *t1 = Y + (size_t)K * n, *t2 = t1 + n;
  double *val = t2 + n;
  int *arg = (int *)(val + n);
  cond_logits(c, Z, m, A, Y);
  top_two(A, K, m, t1, t2, arg);
  cond_values(c, A, Y, m, t1, t2, arg, val);
  double s = 0, ss = 0;
  for (size_t i = 0; i < n; i++)
    s += val[i], ss += val[i] * val[i];
  *sum = s;
  *sumsq = ss;
}

/* Folds a block's (n, Σx, Σx²) into running (count, mean, Σ(x - mean)²). */
static void merge_block(double *cnt, double *mean, double *m2, double n, double sum,
                        double sumsq)
{
  double bm = sum / n, bm2 = fmax(sumsq - sum * bm, 0.0);
  double tot = *cnt + n, dlt = bm - *mean;
  *mean += dlt * n / tot;
  *m2 += bm2 + dlt * dlt * *cnt * n / tot;
  *cnt = tot;
}

static RtStatus mc_blocks(Rt *rt, const OrthantCond *c, uint64_t samples, uint64_t seed,
                          size_t B, double *Z, double *scratch, double *C, double *se)
{
  double cnt = 0, mean = 0, m2 = 0;
  uint64_t done = 0;
  for (uint64_t b = 0; done < samples; b++) {
    if (rt_interrupted(rt))
      return rt_error(rt, RT_EINTR, "orthant: interrupted");
    size_t n = samples - done < B ? (size_t)(samples - done) : B;
    RngStream st;
    double sum, sumsq;
    rng_init(&st, seed, b, 0);
    rng_normal(&st, Z, (size_t)c->K * n);
    orthant_cond_block(c, Z, n, scratch, &sum, &sumsq);
    merge_block(&cnt, &mean, &m2, (double)n, sum, sumsq);
    done += n;
  }
  *C = mean;
  *se = sqrt(m2 / (cnt - 1) / cnt);
  return RT_OK;
}

RtStatus orthant_density_mc(Rt *rt, const LogitLaw *L, uint64_t samples, uint64_t seed,
                            double *C, double *stderr_)
{
  if (samples < 2 || !C || !stderr_)
    return rt_error(rt, RT_EINVAL, "orthant: the Monte Carlo needs samples >= 2 and "
                    "non-NULL outputs");
  OrthantCond c;
  RtStatus st = orthant_cond_init(rt, L, &c);
  if (st)
    return st;
  size_t B = rt->block > 0 && rt->block < (1u << 20) ? rt->block : 2048;
  if (B > samples)
    B = (size_t)samples;
  double *Z = rt_array(rt, (size_t)c.K * B, sizeof *Z);
  double *scratch = rt_array(rt, orthant_cond_scratch(&c, B), sizeof *scratch);
  st = Z && scratch ? mc_blocks(rt, &c, samples, seed, B, Z, scratch, C, stderr_) : RT_ENOMEM;
  rt_free(rt, Z);
  rt_free(rt, scratch);
  orthant_cond_free(rt, &c);
  return st;
}

/* ---------------------------------------------------------- path choice */

static int has_equal_rows(const LogitLaw *L)
{
  size_t d = (size_t)L->d;
  for (int i = 0; i < L->K; i++)
    for (int j = i + 1; j < L->K; j++)
      if (memcmp(L->W + i * d, L->W + j * d, d * sizeof *L->W) == 0)
        return 1;
  return 0;
}

OrthantPath orthant_density_path(const LogitLaw *L)
{
  if (!L || !L->W || L->K <= ORTHANT_SMALL_K || L->d < 1)
    return ORTHANT_PATH_ORTHANTS;
  if (L->d >= L->K && law_cols(L) >= L->K && !has_equal_rows(L))
    return ORTHANT_PATH_COND_MC;
  return L->K <= ORTHANT_MAX_K ? ORTHANT_PATH_ORTHANTS : ORTHANT_PATH_NONE;
}

RtStatus orthant_density_auto(Rt *rt, const LogitLaw *L, const OrthantOpts *o,
                              uint64_t samples, double *C, double *err, char *method,
                              size_t method_len)
{
  OrthantOpts oo;
  RtStatus st = get_opts(rt, o, &oo);
  OrthantPath p = orthant_density_path(L);
  if (!st && p == ORTHANT_PATH_COND_MC) {
    double se = 0;
    st = orthant_density_mc(rt, L, samples, oo.seed, C, &se);
    if (err)
      *err = se;
    if (!st && method && method_len)
      snprintf(method, method_len, "Monte Carlo (conditional, %llu samples)",
               (unsigned long long)samples);
    if (st != RT_EUNSUP || L->K > ORTHANT_MAX_K)
      return st;
    rt_clear(rt);
  }
  if (st)
    return st;
  if (p == ORTHANT_PATH_NONE)
    return rt_error(rt, RT_EUNSUP, "orthant: K = %d logits with a singular covariance: the "
                    "orthant path stops at K = %d and the conditional Monte Carlo needs "
                    "rank K", L->K, ORTHANT_MAX_K);
  return orthant_density(rt, L, &oo, C, err, method, method_len);
}
