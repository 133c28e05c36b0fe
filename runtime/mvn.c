/*
 * mvn.c — multivariate normal rectangle probabilities (see mvn.h).
 *
 * Genz (1992), "Numerical computation of multivariate normal
 * probabilities": with Σ = L Lᵀ (L lower triangular) and Y = L Z, the
 * constraints become, one variable at a time,
 *     (a_j - Σ_{l<j} L_jl z_l)/L_jj < z_j < (b_j - Σ_{l<j} L_jl z_l)/L_jj,
 * so P = E[Π_j (Φ(hi_j) - Φ(lo_j))] where z_j = Φ⁻¹(Φ(lo_j) + w_j (Φ(hi_j)
 * - Φ(lo_j))) for w uniform on the (r-1)-cube.  This integrand is smooth,
 * and the estimate converges fast when the variables with the tightest
 * constraints come first (Genz & Bretz 2002): the pivoted Cholesky picks,
 * at every step, the variable whose conditional interval (given the
 * expected values of the variables already taken) has the smallest
 * probability.
 *
 * Singular Σ: a variable whose conditional variance is (numerically) zero
 * is not a pivot; its row of L ends at the last pivot l it really depends
 * on, so its constraint is a second interval for z_l and is intersected with
 * the pivot's own one.  The integrand stays smooth (no indicator) and the
 * dimension is the rank.
 *
 * The cube integral uses a Richtmyer lattice (Kronecker sequence with
 * generators frac(√p) for the first primes) under the tent transform
 * w = |2x - 1| with antithetic pairs (w, 1 - w), randomly shifted SHIFTS
 * times; the shifts are independent, so the spread of the SHIFTS estimates
 * gives an honest standard error.  Stages double the points per shift
 * until the standard error meets the tolerance.
 */
#include "mvn.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "gauss.h"

enum {
  SHIFTS = 12,        /* independent random shifts of the lattice */
  FIRST_STAGE = 32,   /* points per shift in the first stage */
  CHECK_EVERY = 256   /* lattice points between interrupt checks */
};

/* What the integrand needs: the ordered factor and the constraint lists. */
typedef struct Plan {
  int m;            /* active variables */
  int r;            /* pivots taken = rank */
  double *C;        /* m×m correlation matrix */
  double *L;        /* m×m: row = variable, column = pivot step */
  double *a, *b;    /* limits in units of each variable's sd */
  double *v;        /* conditional variances during the factorisation */
  double *ydot;     /* Σ_l L_il y_l with y the expected pivot values */
  int *piv;         /* variable taken at each step */
  int *owner;       /* step whose z a variable constrains (-1 = none yet) */
  int *cons;        /* variables sorted by owner */
  int *start;       /* cons[start[j] .. start[j+1]) are owned by step j */
} Plan;

void mvn_default_opts(MvnOpts *opts)
{
  opts->abs_tol = 1e-6;
  opts->rel_tol = 0;
  opts->max_evals = 1000000;
  opts->seed = 0;
  opts->degen_tol = 1e-10;
}

/* Entry (i, j) of an n×n row-major matrix; size_t so large n cannot
 * overflow the index. */
static inline size_t ix(int n, int i, int j)
{
  return (size_t)i * (size_t)n + (size_t)j;
}

/* ------------------------------------------------------------ checking */

static RtStatus check_opts(Rt *rt, const MvnOpts *o)
{
  if (!(o->abs_tol >= 0) || !(o->rel_tol >= 0))
    return rt_error(rt, RT_EINVAL, "mvn: tolerances must be >= 0");
  if (o->max_evals < 1)
    return rt_error(rt, RT_EINVAL, "mvn: max_evals must be >= 1");
  if (!(o->degen_tol >= 0 && o->degen_tol < 1))
    return rt_error(rt, RT_EINVAL, "mvn: degen_tol must be in [0, 1)");
  return RT_OK;
}

static RtStatus check_entries(Rt *rt, int n, const double *cov, const double *lo,
                              const double *up)
{
  for (int i = 0; i < n; i++) {
    if (isnan(lo[i]) || isnan(up[i]))
      return rt_error(rt, RT_EINVAL, "mvn: limit of variable %d is NaN", i);
    for (int j = 0; j < n; j++)
      if (!isfinite(cov[ix(n, i, j)]))
        return rt_error(rt, RT_EINVAL, "mvn: covariance [%d][%d] is not finite", i, j);
    if (cov[ix(n, i, i)] < 0)
      return rt_error(rt, RT_EINVAL, "mvn: variance of variable %d is negative (%g)",
                      i, cov[ix(n, i, i)]);
  }
  return RT_OK;
}

/* Symmetric to 1e-10 of the geometric mean of the variances, and a
 * zero-variance variable must have zero covariances (else Σ is indefinite). */
static RtStatus check_shape(Rt *rt, int n, const double *cov)
{
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < i; j++) {
      double cij = cov[ix(n, i, j)], cji = cov[ix(n, j, i)];
      double scale = sqrt(cov[ix(n, i, i)] * cov[ix(n, j, j)]);
      if (fabs(cij - cji) > 1e-10 * scale)
        return rt_error(rt, RT_EINVAL, "mvn: covariance not symmetric at [%d][%d] "
                        "(%.17g vs %.17g)", i, j, cij, cji);
      if (scale == 0 && (cij != 0 || cji != 0))
        return rt_error(rt, RT_EINVAL, "mvn: covariance not positive semidefinite: "
                        "variable %d has variance 0 but covariance %g with %d",
                        cov[ix(n, i, i)] == 0 ? i : j, cij, cov[ix(n, i, i)] == 0 ? j : i);
    }
  }
  return RT_OK;
}

/* Picks the variables that matter: those with a finite limit and positive
 * variance (unconstrained ones marginalise out; a zero-variance one is the
 * constant 0 and only decides whether P is 0).  Returns the count, or -1
 * when some constraint is certainly violated. */
static int select_active(int n, const double *cov, const double *lo,
                         const double *up, int *act)
{
  int m = 0;
  for (int i = 0; i < n; i++) {
    if (!(lo[i] < up[i]))
      return -1;
    if (cov[ix(n, i, i)] == 0) {
      if (!(lo[i] < 0 && 0 < up[i]))
        return -1;
    } else if (isfinite(lo[i]) || isfinite(up[i])) {
      act[m++] = i;
    }
  }
  return m;
}

/* Correlation matrix and standardised limits of the active variables. */
static void standardise(Plan *P, int n, const double *cov, const double *lo,
                        const double *up, const int *act)
{
  int m = P->m;
  for (int i = 0; i < m; i++) {
    double si = sqrt(cov[ix(n, act[i], act[i])]);
    P->a[i] = lo[act[i]] / si;
    P->b[i] = up[act[i]] / si;
    for (int j = 0; j < m; j++) {
      double sj = sqrt(cov[ix(n, act[j], act[j])]);
      double c = 0.5 * (cov[ix(n, act[i], act[j])] + cov[ix(n, act[j], act[i])]);
      P->C[ix(m, i, j)] = i == j ? 1.0 : c / (si * sj);
    }
  }
}

/* -------------------------------------------------------- factorisation */

/* E[Z | lo < Z < hi], used only to order the variables. */
static double truncated_mean(double lo, double hi)
{
  double p = gauss_interval(lo, hi);
  if (p > 1e-300)
    return (gauss_pdf(lo) - gauss_pdf(hi)) / p;
  return lo > 0 ? lo : hi < 0 ? hi : 0.0;
}

/* The Genz–Bretz choice: among variables not yet taken and not degenerate,
 * the one whose conditional interval is least likely.  -1 when none. */
static int choose_pivot(const Plan *P, double tol)
{
  int best = -1;
  double bestp = INFINITY;
  for (int i = 0; i < P->m; i++) {
    if (P->owner[i] >= 0 || !(P->v[i] > tol))
      continue;
    double sd = sqrt(P->v[i]);
    double p = gauss_interval((P->a[i] - P->ydot[i]) / sd, (P->b[i] - P->ydot[i]) / sd);
    if (p < bestp)
      bestp = p, best = i;
  }
  return best;
}

/* Step j of the Cholesky factorisation with variable p as pivot: column j
 * of L for every variable not yet taken, and their conditional variances. */
static void take_pivot(Plan *P, int j, int p)
{
  int m = P->m;
  double *Lp = P->L + ix(m, p, 0), d = sqrt(P->v[p]);
  double y = truncated_mean((P->a[p] - P->ydot[p]) / d, (P->b[p] - P->ydot[p]) / d);
  P->owner[p] = j;
  P->piv[j] = p;
  Lp[j] = d;
  for (int i = 0; i < m; i++) {
    if (P->owner[i] >= 0)
      continue;
    double *Li = P->L + ix(m, i, 0), s = P->C[ix(m, i, p)];
    for (int l = 0; l < j; l++)
      s -= Li[l] * Lp[l];
    Li[j] = s / d;
    P->v[i] -= Li[j] * Li[j];
    P->ydot[i] += Li[j] * y;
  }
}

/* After the last pivot the Schur complement of the rest must vanish:
 * conditional variances in [-tol, tol] and cross terms below ~tol. */
static RtStatus check_psd(Rt *rt, const Plan *P, const int *act, double tol)
{
  int m = P->m, r = P->r;
  double cross_tol = 10 * tol + 64 * (r + 1) * DBL_EPSILON;
  for (int i = 0; i < m; i++) {
    if (P->owner[i] >= 0)
      continue;
    if (P->v[i] < -tol)
      return rt_error(rt, RT_EINVAL, "mvn: covariance not positive semidefinite "
                      "(conditional variance %.3g of variable %d)", P->v[i], act[i]);
    for (int k = 0; k < i; k++) {
      if (P->owner[k] >= 0)
        continue;
      double s = P->C[ix(m, i, k)];
      for (int l = 0; l < r; l++)
        s -= P->L[ix(m, i, l)] * P->L[ix(m, k, l)];
      if (fabs(s) > cross_tol)
        return rt_error(rt, RT_EINVAL, "mvn: covariance not positive semidefinite "
                        "(variables %d and %d)", act[k], act[i]);
    }
  }
  return RT_OK;
}

/* A degenerate variable's constraint belongs to the last pivot it depends
 * on.  Coefficients below the rounding noise of their column,
 * 64·(l+1)·eps / L_ll (the numerator's error over the pivot), are zeros
 * that rounding made nonzero.  Returns 0 if a variable with no dependence
 * at all (the constant 0) violates its constraint. */
static int assign_owners(Plan *P)
{
  int m = P->m, r = P->r;
  for (int i = 0; i < m; i++) {
    if (P->owner[i] >= 0)
      continue;
    for (int l = r - 1; l >= 0 && P->owner[i] < 0; l--) {
      double noise = 64 * (l + 1) * DBL_EPSILON / P->L[ix(m, P->piv[l], l)];
      if (fabs(P->L[ix(m, i, l)]) > noise)
        P->owner[i] = l;
    }
    if (P->owner[i] < 0 && !(P->a[i] < 0 && 0 < P->b[i]))
      return 0;
  }
  return 1;
}

/* Counting sort of the variables by owner into cons/start. */
static void group_constraints(Plan *P)
{
  int r = P->r;
  memset(P->start, 0, (size_t)(r + 1) * sizeof *P->start);
  for (int i = 0; i < P->m; i++)
    if (P->owner[i] >= 0)
      P->start[P->owner[i] + 1]++;
  for (int j = 0; j < r; j++)
    P->start[j + 1] += P->start[j];
  int *fill = P->piv;          /* reuse: next free slot per owner */
  for (int j = 0; j < r; j++)
    fill[j] = P->start[j];
  for (int i = 0; i < P->m; i++)
    if (P->owner[i] >= 0)
      P->cons[fill[P->owner[i]]++] = i;
}

/* Factorises, checks semidefiniteness and builds the constraint lists.
 * *zero is set when the probability is certainly 0. */
static RtStatus plan_build(Rt *rt, Plan *P, const int *act, double tol, int *zero)
{
  for (int i = 0; i < P->m; i++)
    P->v[i] = 1, P->ydot[i] = 0, P->owner[i] = -1;
  int j = 0;
  for (int p; j < P->m && (p = choose_pivot(P, tol)) >= 0; j++)
    take_pivot(P, j, p);
  P->r = j;
  RtStatus st = check_psd(rt, P, act, tol);
  if (st)
    return st;
  *zero = !assign_owners(P);
  group_constraints(P);
  return RT_OK;
}

/* ------------------------------------------------------------ integrand */

/* Σ_{k<n} a_k b_k with four partial sums: the O(n²) part of every
 * evaluation, and independent chains let it pipeline. */
static double dot(const double *a, const double *b, int n)
{
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int k = 0;
  for (; k + 4 <= n; k += 4) {
    s0 += a[k] * b[k];
    s1 += a[k + 1] * b[k + 1];
    s2 += a[k + 2] * b[k + 2];
    s3 += a[k + 3] * b[k + 3];
  }
  for (; k < n; k++)
    s0 += a[k] * b[k];
  return (s0 + s1) + (s2 + s3);
}

/* Intersection of the intervals that the constraints owned by step j put
 * on z_j, given z_0 .. z_{j-1}. */
static void step_limits(const Plan *P, int j, const double *z, double *lo, double *hi)
{
  double l = -INFINITY, h = INFINITY;
  for (int c = P->start[j]; c < P->start[j + 1]; c++) {
    int i = P->cons[c];
    const double *row = P->L + ix(P->m, i, 0);
    double s = dot(row, z, j);
    double x = (P->a[i] - s) / row[j], y = (P->b[i] - s) / row[j];
    if (row[j] < 0) {
      double t = x;
      x = y, y = t;
    }
    if (x > l)
      l = x;
    if (y < h)
      h = y;
  }
  *lo = l;
  *hi = h;
}

/* Φ without gauss_cdf's argument-rounding correction: ~x² ulp in the far
 * tail, which is far below the quasi-Monte Carlo error, at half the cost
 * (and none for the infinite limits of one-sided constraints). */
static double cdf_fast(double x)
{
  if (isinf(x))
    return x > 0 ? 1.0 : 0.0;
  return 0.5 * erfc(-x * 0.70710678118654752440);
}

/* Probability of (lo, hi) and, if z is not NULL, the point with
 * Φ(z) = Φ(lo) + w·P.  An interval on the upper side is handled through
 * Φ(-x) so its tail digits survive; z is kept inside the interval and
 * finite (w may be exactly 0 or 1). */
static double segment(double lo, double hi, double w, double *z)
{
  int upper = lo + hi > 0;
  double e0 = upper ? cdf_fast(-lo) : cdf_fast(lo);
  double e1 = upper ? cdf_fast(-hi) : cdf_fast(hi);
  double p = upper ? e0 - e1 : e1 - e0;
  if (z) {
    double t = upper ? -gauss_quantile_fast(e0 - w * p) : gauss_quantile_fast(e0 + w * p);
    *z = fmin(fmax(t, fmax(lo, -40.0)), fmin(hi, 40.0));
  }
  return p;
}

/* Genz's integrand at w in the (r-1)-cube; z is scratch of length r.  The
 * last step needs no point. */
static double integrand(const Plan *P, const double *w, double *z)
{
  double f = 1;
  for (int j = 0; j < P->r; j++) {
    double lo, hi;
    step_limits(P, j, z, &lo, &hi);
    if (!(lo < hi))
      return 0.0;
    int last = j + 1 == P->r;
    f *= segment(lo, hi, last ? 0 : w[j], last ? NULL : &z[j]);
    if (f == 0)
      return 0.0;
  }
  return f;
}

/* ------------------------------------------------------------------ QMC */

static uint64_t splitmix64(uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* Richtmyer generators frac(√p) for the first d primes. */
static void richtmyer(double *q, int d)
{
  int found = 0;
  for (int c = 2; found < d; c++) {
    int prime = 1;
    for (int k = 2; k * k <= c && prime; k++)
      prime = c % k != 0;
    if (prime) {
      double s = sqrt((double)c);
      q[found++] = s - floor(s);
    }
  }
}

/* Scratch for the lattice rule, carved from the plan's allocation. */
typedef struct Lattice {
  int d;              /* dimension r - 1 */
  double *q;          /* generators */
  double *shift;      /* SHIFTS × d uniform shifts */
  double *base;       /* frac(k q) for the current point */
  double *w, *w2;     /* the point and its antithetic partner */
  double *z;          /* integrand scratch (length r) */
  double sums[SHIFTS];
} Lattice;

/* Adds points k = from+1 .. to of every shifted lattice to the sums. */
static RtStatus lattice_points(Rt *rt, const Plan *P, Lattice *T, long from, long to)
{
  int d = T->d;
  for (long k = from + 1; k <= to; k++) {
    if ((k & (CHECK_EVERY - 1)) == 0 && rt_interrupted(rt))
      return rt_error(rt, RT_EINTR, "mvn: interrupted");
    for (int j = 0; j < d; j++) {
      double t = (double)k * T->q[j];
      T->base[j] = t - floor(t);
    }
    for (int s = 0; s < SHIFTS; s++) {
      for (int j = 0; j < d; j++) {
        double t = T->base[j] + T->shift[s * d + j];
        t -= floor(t);
        T->w[j] = fabs(2 * t - 1);
        T->w2[j] = 1 - T->w[j];
      }
      T->sums[s] += 0.5 * (integrand(P, T->w, T->z) + integrand(P, T->w2, T->z));
    }
  }
  return RT_OK;
}

/* Mean of the SHIFTS estimates and its standard error. */
static void shift_stats(const Lattice *T, long n, double *mean, double *se)
{
  double m = 0, ss = 0;
  for (int s = 0; s < SHIFTS; s++)
    m += T->sums[s] / (double)n;
  m /= SHIFTS;
  for (int s = 0; s < SHIFTS; s++) {
    double e = T->sums[s] / (double)n - m;
    ss += e * e;
  }
  *mean = m;
  *se = sqrt(ss / (SHIFTS * (SHIFTS - 1.0)));
}

/* Stages of doubling size until the standard error meets the tolerance
 * or the next stage would exceed max_evals. */
static RtStatus qmc(Rt *rt, const Plan *P, Lattice *T, const MvnOpts *o,
                    double *prob, double *err, MvnInfo *info)
{
  uint64_t state = o->seed;
  richtmyer(T->q, T->d);
  for (int i = 0; i < SHIFTS * T->d; i++)
    T->shift[i] = (double)(splitmix64(&state) >> 11) * 0x1p-53;
  long per = 2 * SHIFTS, n = 0, next = FIRST_STAGE;
  if (next > o->max_evals / per)
    next = o->max_evals / per > 0 ? o->max_evals / per : 1;
  for (;;) {
    RtStatus st = lattice_points(rt, P, T, n, n + next);
    if (st)
      return st;
    n += next;
    info->evals = n * per;
    shift_stats(T, n, prob, err);
    info->converged = *err <= fmax(o->abs_tol, o->rel_tol * *prob);
    long room = (o->max_evals - info->evals) / per;
    if (info->converged || room <= 0)
      return RT_OK;
    next = n < room ? n : room;
  }
}

/* ---------------------------------------------------------- exact paths */

/* P(a0 < X < b0, a1 < Y < b1) for corr ρ from four bvn corners, after
 * reflecting each variable so that its interval lies on the lower side
 * (then the corners that matter are small and the sum cancels least). */
static double rectangle2(double a0, double b0, double a1, double b1, double rho)
{
  if (a0 + b0 > 0) {
    double t = a0;
    a0 = -b0, b0 = -t, rho = -rho;
  }
  if (a1 + b1 > 0) {
    double t = a1;
    a1 = -b1, b1 = -t, rho = -rho;
  }
  double p = bvn_cdf(b0, b1, rho) - bvn_cdf(a0, b1, rho) - bvn_cdf(b0, a1, rho)
             + bvn_cdf(a0, a1, rho);
  return p < 0 ? 0.0 : p > 1 ? 1.0 : p;
}

/* One variable: gauss_interval; two: the bvn rectangle (a correlation
 * beyond ±1 by more than the degeneracy tolerance is indefinite). */
static RtStatus exact_small(Rt *rt, const Plan *P, const int *act, double tol,
                            double *prob, double *err, MvnInfo *info)
{
  info->exact = 1;
  info->rank = 1;
  if (P->m == 1) {
    *prob = gauss_interval(P->a[0], P->b[0]);
    *err = 4 * DBL_EPSILON * *prob;
    return RT_OK;
  }
  double rho = P->C[1];
  if (1 - rho * rho < -tol)
    return rt_error(rt, RT_EINVAL, "mvn: covariance not positive semidefinite "
                    "(correlation %.17g between variables %d and %d)", rho, act[0], act[1]);
  rho = fmax(-1.0, fmin(1.0, rho));
  info->rank = 1 - rho * rho > tol ? 2 : 1;
  *prob = rectangle2(P->a[0], P->b[0], P->a[1], P->b[1], rho);
  *err = 1e-15;
  return RT_OK;
}

/* --------------------------------------------------------------- driver */

/* Carves the plan and lattice arrays out of one double and one int block. */
static void carve(Plan *P, Lattice *T, double *dbl, int *ints, int m)
{
  size_t mm = (size_t)m * (size_t)m;
  P->C = dbl;
  P->L = P->C + mm;
  P->a = P->L + mm;
  P->b = P->a + m;
  P->v = P->b + m;
  P->ydot = P->v + m;
  T->q = P->ydot + m;
  T->shift = T->q + m;
  T->base = T->shift + (size_t)SHIFTS * (size_t)m;
  T->w = T->base + m;
  T->w2 = T->w + m;
  T->z = T->w2 + m;
  P->piv = ints;
  P->owner = P->piv + m;
  P->cons = P->owner + m;
  P->start = P->cons + m;
  memset(P->L, 0, mm * sizeof *P->L);
  memset(T->sums, 0, sizeof T->sums);
}

/* Exact for one or two variables and for rank 1 (no integral left);
 * otherwise the lattice rule. */
static RtStatus dispatch(Rt *rt, Plan *P, Lattice *T, const int *act,
                         const MvnOpts *o, double *prob, double *err, MvnInfo *info)
{
  if (P->m <= 2)
    return exact_small(rt, P, act, o->degen_tol, prob, err, info);
  int zero = 0;
  RtStatus st = plan_build(rt, P, act, o->degen_tol, &zero);
  if (st)
    return st;
  info->rank = P->r;
  T->d = P->r - 1;
  if (zero || P->r == 1) {
    info->exact = 1;
    *prob = zero ? 0.0 : integrand(P, NULL, T->z);
    *err = 4 * P->m * DBL_EPSILON * *prob;
    return RT_OK;
  }
  return qmc(rt, P, T, o, prob, err, info);
}

/* Scratch, standardisation and dispatch for the m >= 1 active variables
 * act[]. */
static RtStatus solve(Rt *rt, int n, const double *cov, const double *lo,
                      const double *up, const int *act, int m, const MvnOpts *o,
                      double *prob, double *err, MvnInfo *info)
{
  size_t mm = (size_t)m * (size_t)m;
  double *dbl = rt_array(rt, 2 * mm + (size_t)(SHIFTS + 10) * (size_t)m, sizeof *dbl);
  int *ints = rt_array(rt, 4 * (size_t)m + 1, sizeof *ints);
  RtStatus st = RT_ENOMEM;
  if (dbl && ints) {
    Plan P = {.m = m};
    Lattice T;
    carve(&P, &T, dbl, ints, m);
    standardise(&P, n, cov, lo, up, act);
    st = dispatch(rt, &P, &T, act, o, prob, err, info);
  }
  rt_free(rt, dbl);
  rt_free(rt, ints);
  return st;
}

static RtStatus check_all(Rt *rt, int n, const double *cov, const double *lower,
                          const double *upper, const MvnOpts *o)
{
  if (n < 1 || !cov || !lower || !upper)
    return rt_error(rt, RT_EINVAL, "mvn: need n >= 1 and non-NULL cov, lower, upper");
  RtStatus st = check_opts(rt, o);
  if (!st)
    st = check_entries(rt, n, cov, lower, upper);
  if (!st)
    st = check_shape(rt, n, cov);
  return st;
}

RtStatus mvn_prob(Rt *rt, int n, const double *cov, const double *lower,
                  const double *upper, const MvnOpts *opts, double *prob,
                  double *err, MvnInfo *info)
{
  MvnOpts o;
  MvnInfo dummy;
  if (!info)
    info = &dummy;
  memset(info, 0, sizeof *info);
  *prob = *err = 0;
  if (opts)
    o = *opts;
  else
    mvn_default_opts(&o);
  RtStatus st = check_all(rt, n, cov, lower, upper, &o);
  if (st)
    return st;
  int *act = rt_array(rt, (size_t)n, sizeof *act);
  if (!act)
    return RT_ENOMEM;
  int m = select_active(n, cov, lower, upper, act);
  if (m <= 0) {                      /* nothing left to integrate */
    *prob = m == 0;
    info->exact = info->converged = 1;
  } else {
    info->dims = m;
    st = solve(rt, n, cov, lower, upper, act, m, &o, prob, err, info);
    info->converged |= info->exact;
  }
  rt_free(rt, act);
  return st;
}
