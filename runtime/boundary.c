/*
 * boundary.c — margins, boundary mass and boundary density (boundary.h).
 *
 * Layout: path selection and the exact K = 2 forms first, then the Monte
 * Carlo kernels (one block function shared by mass and density: sample,
 * logits, margin, count into width shells), then the query entry points.
 */
#include "boundary.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bexact.h"
#include "est.h"
#include "gauss.h"
#include "margin.h"

double clock_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int method_parse(const char *s)
{
  static const char *const names[] = {"auto", "exact", "quadrature", "mc"};
  for (int i = 0; i < 4; i++)
    if (strcmp(s, names[i]) == 0)
      return i;
  return -1;
}

const char *method_name(Method m)
{
  static const char *const names[] = {"auto", "exact", "quadrature", "mc"};
  return names[m];
}

/* ------------------------------------------------------------ the K = 2
 * logit difference s = a_1 - a_2 over a normal law is N(m, v) with
 * m = (w_1 - w_2)·μ + b_1 - b_2 and v = |Lᵀ(w_1 - w_2)|², computed from the
 * difference of the router rows (never from W Σ Wᵀ, which loses about nine
 * digits when the rows are nearly equal). */

typedef struct Diff {
  double mean, sd;
} Diff;

static Diff logit_difference(const Router *r, const Law *l)
{
  int d = l->dim;
  Diff s = {r->b[0] - r->b[1], 0};
  for (int j = 0; j < d; j++)
    s.mean += (r->W[j] - r->W[d + j]) * l->mean[j];
  s.sd = law_sd_diff(l, r->W, r->W + d);
  return s;
}

/* P(c - d < Z < c + d) for a standard normal Z, to full relative precision
 * also when d is tiny: the ends c ± d would round away d, so a narrow slab
 * is integrated around its centre (8-point Gauss–Legendre, exact to
 * rounding for d <= 1/8); a wide one is a difference of Φ. */
static double slab_around(double c, double d)
{
  static const double x[4] = {0.1834346424956498, 0.5255324099163290, 0.7966664774136267,
                               0.9602898564975363};
  static const double wt[4] = {0.3626837833783620, 0.3137066458778873, 0.2223810344533745,
                               0.1012285362903763};
  if (d > 0.125)
    return gauss_interval(c - d, c + d);
  double sum = 0;
  for (int i = 0; i < 4; i++)
    sum += wt[i] * (gauss_pdf(c - d * x[i]) + gauss_pdf(c + d * x[i]));
  return d * sum;
}

/* P(|s| <= w) for s ~ N(m, sd²): the slab (-w, w) is centred at -m/sd in
 * standard units, with half-width w/sd. */
static double slab_mass(Diff s, double w)
{
  if (s.sd == 0)
    return fabs(s.mean) <= w ? 1.0 : 0.0;
  return slab_around(-s.mean / s.sd, w / s.sd);
}

/* Density of |s| at 0+: 2 φ((0 - m)/sd)/sd. */
static double slab_density(Diff s)
{
  return 2 * gauss_pdf(s.mean / s.sd) / s.sd;
}

/* Visits the normal components of a Gaussian law with their weights. */
typedef void (*ComponentFn)(const Law *normal, double weight, void *ctx);

static void each_component(const Law *l, double weight, ComponentFn fn, void *ctx)
{
  if (l->kind == LAW_NORMAL) {
    fn(l, weight, ctx);
    return;
  }
  for (int i = 0; i < l->ncomp; i++)
    each_component(l->comps[i], weight * l->weights[i], fn, ctx);
}

/* ------------------------------------------------------------ Monte Carlo
 * Boundary mass and density count margins into the shells (0, w_0],
 * (w_0, w_1], ... of sorted widths: per block the cumulative counts
 * #{Δ <= w_j}, reduced into per-shell totals in block order. */

typedef struct CountCtx {
  const MarginSampler *s;
  const double *w;           /* sorted widths */
  int nw;
  uint64_t *shells;
} CountCtx;

static RtStatus count_block(void *ctx, EstThread *th, const SampleBlock *sb, double *acc)
{
  CountCtx *c = ctx;
  double *delta = th->scratch;
  RtStatus st = msampler_block(c->s, sb, delta + sb->n, delta, &th->err);
  if (!st)
    margin_count_below(delta, sb->n, c->w, c->nw, acc);
  return st;
}

static void count_reduce(void *ctx, const SampleBlock *sb, const double *acc)
{
  CountCtx *c = ctx;
  (void)sb;
  for (int j = 0; j < c->nw; j++)
    c->shells[j] += (uint64_t)acc[j] - (j ? (uint64_t)acc[j - 1] : 0);
}

/* Shell counts of the margins for widths w (sorted ascending). */
static RtStatus mc_count(Rt *rt, const MarginSampler *s, const double *w, int nw,
                         const QueryOpts *o, uint64_t *shells, uint64_t *done)
{
  CountCtx c = {s, w, nw, shells};
  size_t B = rt->block;
  EstKernel k = {&c, (B + msampler_scratch(s, B)) * sizeof(double), (size_t)nw, count_block,
                 count_reduce};
  memset(shells, 0, (size_t)nw * sizeof *shells);
  return est_run(rt, &k, o->samples, o->seed, done);
}

static RtStatus check_spec(Rt *rt, const Router *r, MarginSpec ms);

/* ------------------------------------------------------------ margin */

static RtStatus margin_at(Rt *rt, const Router *r, const double *pts, size_t n, MarginSpec ms,
                          Result **out);

RtStatus query_margin(Rt *rt, Router *r0, const double *pts, size_t n, int dim, MarginSpec ms,
                      Result **out)
{
  Router *r;
  *out = NULL;
  RtStatus st = router_at_dim(rt, r0, dim, &r);
  if (st)
    return st;
  st = check_spec(rt, r, ms);
  if (!st)
    st = margin_at(rt, r, pts, n, ms, out);
  router_unref(rt, r);
  return st;
}

static RtStatus margin_at(Rt *rt, const Router *r, const double *pts, size_t n, MarginSpec ms,
                          Result **out)
{
  double t0 = clock_seconds();
  int d = r->dim, K = r->K;
  double *x = rt_array(rt, (size_t)d * (n ? n : 1), sizeof *x);
  double *a = rt_array(rt, (size_t)K * (n ? n : 1), sizeof *a);
  double *scr = rt_array(rt, router_scratch(r, n) + 1, sizeof *scr);
  Result *res = result_new(rt, "margin");
  RtStatus st = x && a && scr && res ? RT_OK : RT_ENOMEM;
  for (size_t i = 0; !st && i < n; i++)
    for (int j = 0; j < d; j++)
      x[(size_t)j * n + i] = pts[i * d + j];
  BlockErr err = {0};
  if (!st && (st = router_logits(r, n, x, n, a, n, scr, &err)))
    rt_error(rt, st, "%s", err.msg);
  if (!st) {
    result_method(res, "exact", "logits evaluated at the points");
    result_rows(res, n);
    double *cx = result_col(res, "x", F_VEC, d), *cm = result_col(res, "margin", F_NUM, 1);
    double *ct = result_col(res, "top", F_INT, 1), *cs = result_col(res, "second", F_INT, 1);
    st = result_check(rt, res);
    for (size_t i = 0; !st && i < n; i++) {
      int hi = margin_rank_index(K, a + i, n, ms.hi), lo = margin_rank_index(K, a + i, n, ms.lo);
      memcpy(cx + i * d, pts + i * d, (size_t)d * sizeof *cx);
      cm[i] = a[(size_t)hi * n + i] - a[(size_t)lo * n + i];
      ct[i] = hi;
      cs[i] = lo;
    }
  }
  rt_free(rt, x);
  rt_free(rt, a);
  rt_free(rt, scr);
  if (st) {
    result_unref(res);
    return st;
  }
  res->seconds = clock_seconds() - t0;
  *out = res;
  return RT_OK;
}

/* ------------------------------------------------------------ boundary mass */

typedef struct MassAcc {
  const double *w;
  int nw;
  double *mass;
  const Router *r;
} MassAcc;

static void mass_component(const Law *l, double weight, void *ctx)
{
  MassAcc *m = ctx;
  Diff s = logit_difference(m->r, l);
  for (int j = 0; j < m->nw; j++)
    m->mass[j] += weight * slab_mass(s, m->w[j]);
}

static RtStatus check_widths(Rt *rt, const double *w, int nw)
{
  if (nw < 1)
    return rt_error(rt, RT_EINVAL, "boundary_mass needs at least one width w");
  for (int j = 0; j < nw; j++)
    if (!(w[j] > 0) || !isfinite(w[j]))
      return rt_error(rt, RT_EINVAL, "width w[%d] = %g; widths must be finite and > 0", j,
                      w[j]);
  return RT_OK;
}

static RtStatus mass_exact(Rt *rt, const Router *r, const Law *l, const double *w, int nw,
                           double *mass, double *se)
{
  MassAcc m = {w, nw, mass, r};
  memset(mass, 0, (size_t)nw * sizeof *mass);
  memset(se, 0, (size_t)nw * sizeof *se);
  each_component(l, 1.0, mass_component, &m);
  (void)rt;
  return RT_OK;
}

/* Sorts the widths (with their original positions) for shell counting. */
static void sort_widths(const double *w, int nw, double *sorted, int *order)
{
  for (int j = 0; j < nw; j++)
    order[j] = j;
  for (int j = 1; j < nw; j++)
    for (int i = j; i > 0 && w[order[i]] < w[order[i - 1]]; i--) {
      int t = order[i];
      order[i] = order[i - 1];
      order[i - 1] = t;
    }
  for (int j = 0; j < nw; j++)
    sorted[j] = w[order[j]];
}

static RtStatus mass_mc(Rt *rt, const MarginSampler *s, const double *w, int nw,
                        const QueryOpts *o, double *mass, double *se, uint64_t *done)
{
  double *sorted = rt_array(rt, (size_t)nw, sizeof *sorted);
  int *order = rt_array(rt, (size_t)nw, sizeof *order);
  uint64_t *counts = rt_array(rt, (size_t)nw, sizeof *counts);
  RtStatus st = sorted && order && counts ? RT_OK : RT_ENOMEM;
  if (!st) {
    sort_widths(w, nw, sorted, order);
    st = mc_count(rt, s, sorted, nw, o, counts, done);
  }
  if (!st || st == RT_EINTR) {
    double n = (double)*done, cum = 0;
    for (int j = 0; j < nw && n > 0; j++) {
      cum += (double)counts[j];
      double p = cum / n;
      mass[order[j]] = p;
      se[order[j]] = sqrt(p * (1 - p) / n);
    }
  }
  rt_free(rt, sorted);
  rt_free(rt, order);
  rt_free(rt, counts);
  return st;
}

/* The orthant path's own words say whether it was exact or a quadrature;
 * "exact" asked for where only Genz's quadrature exists is refused. */
static RtStatus orthant_method(Rt *rt, const char *query, Method asked, const char *path,
                               Result *res)
{
  int exact = strncmp(path, "exact", 5) == 0;
  if (asked == METHOD_EXACT && !exact)
    return rt_error(rt, RT_EUNSUP, "no exact path for %s here (for K >= 4 it is Genz's "
                    "quadrature); the quadrature path exists: method = \"quadrature\"", query);
  /* "exact (bivariate normal)" → method exact, path "bivariate normal". */
  const char *open = strchr(path, '(');
  char inner[200];
  snprintf(inner, sizeof inner, "orthant probabilities: %s", open ? open + 1 : path);
  size_t n = strlen(inner);
  if (open && n && inner[n - 1] == ')')
    inner[n - 1] = '\0';
  result_method(res, exact ? "exact" : "quadrature", inner);
  return RT_OK;
}

static RtStatus check_spec(Rt *rt, const Router *r, MarginSpec ms)
{
  if (ms.hi < 1 || ms.lo <= ms.hi || ms.lo > r->K)
    return rt_error(rt, RT_EINVAL, "the margin between ranks %d and %d needs 1 <= %d < %d <= K = %d",
                    ms.hi, ms.lo, ms.hi, ms.lo, r->K);
  return RT_OK;
}

static void mass_rows(Result *res, const double *w, int nw, const double *mass,
                      const double *se)
{
  result_rows(res, (size_t)nw);
  double *cw = result_col(res, "w", F_NUM, 1), *cm = result_col(res, "mass", F_NUM, 1);
  double *cs = result_col(res, "stderr", F_NUM, 1), *cr = result_col(res, "ratio", F_NUM, 1);
  if (res->failed)
    return;
  for (int j = 0; j < nw; j++) {
    cw[j] = w[j];
    cm[j] = mass[j];
    cs[j] = se[j];
    cr[j] = mass[j] / w[j];
  }
}

static RtStatus mass_at(Rt *rt, const Router *r, const Law *l, const double *w, int nw,
                        MarginSpec ms, const QueryOpts *o, Result **out);

RtStatus query_boundary_mass(Rt *rt, Router *r0, const Law *l, const double *w, int nw,
                             MarginSpec ms, const QueryOpts *o, Result **out)
{
  Router *r;
  *out = NULL;
  RtStatus st = router_at_dim(rt, r0, l->dim, &r);
  if (st)
    return st;
  st = mass_at(rt, r, l, w, nw, ms, o, out);
  router_unref(rt, r);
  return st;
}

static RtStatus mass_at(Rt *rt, const Router *r, const Law *l, const double *w, int nw,
                        MarginSpec ms, const QueryOpts *o, Result **out)
{
  double t0 = clock_seconds();
  BPath bp = BP_MC;
  RtStatus st = check_spec(rt, r, ms);
  if (!st)
    st = check_widths(rt, w, nw);
  if (!st)
    st = boundary_path(rt, "boundary_mass", r, l, ms, o->method, 0, &bp);
  if (st)
    return st;
  double *mass = rt_calloc(rt, (size_t)nw, sizeof *mass);
  double *se = rt_calloc(rt, (size_t)nw, sizeof *se);
  Result *res = result_new(rt, "boundary_mass");
  st = mass && se && res ? RT_OK : RT_ENOMEM;
  uint64_t done = 0;
  MarginSampler s;
  char path[200];
  if (!st && bp == BP_K2) {
    st = mass_exact(rt, r, l, w, nw, mass, se);
    result_method(res, "exact", "K = 2 closed form: s = a_1 - a_2 is normal");
  } else if (!st && bp == BP_ORTHANT) {
    st = boundary_orthant_mass(rt, r, l, w, nw, mass, se, path, sizeof path);
    if (!st)
      st = orthant_method(rt, "boundary_mass", o->method, path, res);
  } else if (!st && !(st = msampler_init(rt, &s, r, l, ms))) {
    st = mass_mc(rt, &s, w, nw, o, mass, se, &done);
    msampler_path(&s, r, path, sizeof path);
    result_method(res, "mc", path);
    res->samples = done;
    res->seed = o->seed;
    res->partial = st == RT_EINTR;
    msampler_free(rt, &s);
  }
  if (!st || st == RT_EINTR)
    mass_rows(res, w, nw, mass, se);
  rt_free(rt, mass);
  rt_free(rt, se);
  if ((st && st != RT_EINTR) || result_check(rt, res)) {
    result_unref(res);
    return st ? st : RT_ENOMEM;
  }
  res->seconds = clock_seconds() - t0;
  *out = res;
  return st;
}

/* ------------------------------------------------------------ density */

typedef struct DensAcc {
  const Router *r;
  double value;
  int degenerate;
} DensAcc;

static void density_component(const Law *l, double weight, void *ctx)
{
  DensAcc *m = ctx;
  Diff s = logit_difference(m->r, l);
  if (s.sd == 0) {
    m->degenerate |= s.mean == 0;
    return;            /* a constant margin away from 0 adds no density */
  }
  m->value += weight * slab_density(s);
}

/* Third-order Richardson extrapolation of f(w) = M(w)/w from w = h, 2h, 4h:
 * with f(w) = C + a w + b w² + O(w³), (8 f(h) - 6 f(2h) + f(4h)) / 3 = C +
 * O(h³).  In shell probabilities p1 = P(Δ <= h), p2 = P(h < Δ <= 2h),
 * p3 = P(2h < Δ <= 4h) the estimate is (5.25 p1 - 2.75 p2 + 0.25 p3)/(3h);
 * its variance follows from the multinomial law of the shell counts. */
static void richardson(const uint64_t *counts, double n, double h, double *value,
                       double *se)
{
  static const double c[3] = {5.25 / 3, -2.75 / 3, 0.25 / 3};
  double mean = 0, second = 0;
  for (int j = 0; j < 3; j++) {
    double p = (double)counts[j] / n;
    mean += c[j] * p;
    second += c[j] * c[j] * p;
  }
  *value = mean / h;
  *se = sqrt(fmax(second - mean * mean, 0) / n) / h;
}

static RtStatus density_mc(Rt *rt, const Router *r, const Law *l, MarginSpec ms,
                           const QueryOpts *o, Result *res)
{
  MarginSampler s;
  RtStatus st = msampler_init(rt, &s, r, l, ms);
  if (st)
    return st;
  double scale = 0, value = 0, se = 0;
  uint64_t counts[3], done = 0;
  st = msampler_median(rt, &s, o->seed, &scale);
  if (!st && !(scale > 0))
    st = rt_error(rt, RT_EINVAL,
                  "the margin is 0 for most samples (the router's experts tie on a set of "
                  "positive probability), so the boundary density is infinite");
  double h = scale * pow((double)o->samples, -1.0 / 7) * 0.5;
  double w[3] = {h, 2 * h, 4 * h};
  if (!st || st == RT_EINTR)
    st = mc_count(rt, &s, w, 3, o, counts, &done);
  if ((!st || st == RT_EINTR) && done > 0)
    richardson(counts, (double)done, h, &value, &se);
  char path[200], bias[240];
  msampler_path(&s, r, path, sizeof path);
  snprintf(bias, sizeof bias,
           "Richardson extrapolation of M(w)/w from w = h, 2h, 4h with h = %.4g "
           "(median margin %.4g x N^(-1/7) / 2); bias O(h^3)", h, scale);
  result_method(res, "mc", path);
  result_num(res, "value", value);
  result_num(res, "stderr", se);
  result_str(res, "bias_control", bias);
  result_vec(res, "widths", w, 3);
  res->samples = done;
  res->seed = o->seed;
  res->partial = st == RT_EINTR;
  msampler_free(rt, &s);
  return st;
}

static RtStatus density_at(Rt *rt, const Router *r, const Law *l, MarginSpec ms,
                           const QueryOpts *o, Result **out);

RtStatus query_boundary_density(Rt *rt, Router *r0, const Law *l, MarginSpec ms,
                                const QueryOpts *o, Result **out)
{
  Router *r;
  *out = NULL;
  RtStatus st = router_at_dim(rt, r0, l->dim, &r);
  if (st)
    return st;
  st = density_at(rt, r, l, ms, o, out);
  router_unref(rt, r);
  return st;
}

static RtStatus density_at(Rt *rt, const Router *r, const Law *l, MarginSpec ms,
                           const QueryOpts *o, Result **out)
{
  double t0 = clock_seconds();
  BPath bp = BP_MC;
  RtStatus st = check_spec(rt, r, ms);
  if (!st)
    st = boundary_path(rt, "boundary_density", r, l, ms, o->method, 1, &bp);
  if (st)
    return st;
  Result *res = result_new(rt, "boundary_density");
  if (!res)
    return RT_ENOMEM;
  if (bp == BP_ORTHANT) {
    double v = 0, e = 0;
    char path[200];
    st = boundary_orthant_density(rt, r, l, &v, &e, path, sizeof path);
    if (!st)
      st = orthant_method(rt, "boundary_density", o->method, path, res);
    result_num(res, "value", v);
    result_num(res, "stderr", e);
  } else if (bp == BP_COND) {
    double v = 0, e = 0;
    uint64_t done = 0;
    st = boundary_cond_density(rt, r, l, o, &v, &e, &done);
    result_method(res, "mc", "logit space, conditional density C = sum_k E phi(A_k = runner-up "
                  "| other logits): no width bias");
    result_num(res, "value", v);
    result_num(res, "stderr", e);
    res->samples = done;
    res->seed = o->seed;
    res->partial = st == RT_EINTR;
  } else if (bp == BP_K2) {
    DensAcc m = {r, 0, 0};
    each_component(l, 1.0, density_component, &m);
    if (m.degenerate)
      st = rt_error(rt, RT_EINVAL,
                    "the two router rows give the same logit everywhere (a_1 - a_2 = 0), so "
                    "the interface is not transversal and the boundary density is infinite");
    result_method(res, "exact", "K = 2 closed form: C = 2 phi_s(0)");
    result_num(res, "value", m.value);
    result_num(res, "stderr", 0);
  } else {
    st = density_mc(rt, r, l, ms, o, res);
  }
  if ((st && st != RT_EINTR) || result_check(rt, res)) {
    result_unref(res);
    return st ? st : RT_ENOMEM;
  }
  res->seconds = clock_seconds() - t0;
  *out = res;
  return st;
}
