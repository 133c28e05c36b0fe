/*
 * bexact.c — orthant and conditional paths of the boundary queries (see
 * bexact.h).
 */
#include "bexact.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "est.h"
#include "orthant.h"
#include "rng.h"

/* ------------------------------------------------------------ path choice */

static int linear_gaussian(const Router *r, const Law *l, MarginSpec ms)
{
  return r->kind == ROUTER_LINEAR && law_is_gaussian(l) && ms.hi == 1 && ms.lo == 2;
}

static LogitLaw logit_law(const Router *r, const Law *normal)
{
  LogitLaw L = {r->K, r->dim, normal->rank, r->W, r->b, normal->mean, normal->factor};
  return L;
}

/* The logit law of a normal component; an isotropic law (cov = s²I, no
 * stored factor) becomes F = NULL (the identity) with W scaled by s and the
 * mean by 1/s, which gives the same logits.  *tmp is freed by the caller. */
static RtStatus logit_law_of(Rt *rt, const Router *r, const Law *normal, LogitLaw *L,
                             double **tmp)
{
  *L = logit_law(r, normal);
  *tmp = NULL;
  if (!(normal->iso > 0))
    return RT_OK;
  L->F = NULL;
  L->r = normal->dim;
  if (normal->iso == 1)
    return RT_OK;
  int K = r->K, d = r->dim;
  double sd = sqrt(normal->iso), *w = rt_array(rt, (size_t)K * d + (size_t)d, sizeof *w);
  if (!w)
    return RT_ENOMEM;
  for (size_t i = 0; i < (size_t)K * d; i++)
    w[i] = sd * r->W[i];
  for (int j = 0; j < d; j++)
    w[(size_t)K * d + j] = normal->mean[j] / sd;
  L->W = w;
  L->mean = w + (size_t)K * d;
  *tmp = w;
  return RT_OK;
}

/* The orthant paths sum over a mixture's normal components, at most this
 * many; auto takes Monte Carlo beyond it. */
#define MAX_COMPONENTS 256

static int count_components(const Law *l)
{
  if (l->kind != LAW_MIXTURE)
    return 1;
  int n = 0;
  for (int i = 0; i < l->ncomp && n <= MAX_COMPONENTS; i++)
    n += count_components(l->comps[i]);
  return n;
}

/* auto: closed forms for K = 2, orthants up to ORTHANT_SMALL_K logits, then
 * the conditional density (full rank) or Monte Carlo. */
static BPath auto_path(const Router *r, const Law *l, MarginSpec ms, int density)
{
  if (!linear_gaussian(r, l, ms))
    return BP_MC;
  if (r->K == 2)
    return BP_K2;
  if (r->K <= ORTHANT_SMALL_K)
    return count_components(l) <= MAX_COMPONENTS ? BP_ORTHANT : BP_MC;
  if (density && l->kind == LAW_NORMAL) {
    LogitLaw L = logit_law(r, l);
    if (l->iso > 0) {
      L.F = NULL;
      L.r = l->dim;
    }
    if (orthant_density_path(&L) == ORTHANT_PATH_COND_MC)
      return BP_COND;
  }
  return BP_MC;
}

/* The closed forms work with the logit difference's sd (scaled, finite up
 * to about 1e308); the orthant and conditional paths with the logits'
 * covariance, whose entries are squares: logits beyond about 1e150 would
 * overflow it and turn into silent zeros.  Both are refused with a
 * message instead. */
#define LOGIT_SQUARE_MAX 1e150

static RtStatus boundary_path_choose(Rt *rt, const char *query, const Router *r, const Law *l,
                                     MarginSpec ms, Method m, int density, BPath *path);

static RtStatus logits_in_range(Rt *rt, const Router *r, const Law *l, BPath path)
{
  if (l->kind == LAW_MIXTURE) {
    for (int i = 0; i < l->ncomp; i++) {
      RtStatus st = logits_in_range(rt, r, l->comps[i], path);
      if (st)
        return st;
    }
    return RT_OK;
  }
  int d = r->dim;
  for (int k = 0; k < r->K; k++) {
    const double *other = path == BP_K2 ? r->W + (size_t)(1 - k) * d : NULL;
    double mean = r->b[k] - (path == BP_K2 ? r->b[1 - k] : 0);
    for (int j = 0; j < d; j++)
      mean += (r->W[(size_t)k * d + j] - (other ? other[j] : 0)) * l->mean[j];
    double sd = law_sd_diff(l, r->W + (size_t)k * d, other);
    double cap = path == BP_K2 ? DBL_MAX : LOGIT_SQUARE_MAX;
    if (!(fabs(mean) <= cap) || !(sd <= cap)) {
      double v = !(sd <= cap) ? sd : mean;
      char size[64];
      if (isfinite(v))
        snprintf(size, sizeof size, "is %g", v);
      else
        snprintf(size, sizeof size, "overflows");
      return rt_error(rt, RT_EINVAL,
                      "the logits are too large for the exact path (the %s of %s %s): "
                      "rescale the router, or use method = \"mc\"",
                      !(sd <= cap) ? "standard deviation" : "mean",
                      path == BP_K2 ? "a_1 - a_2" : "a logit", size);
    }
    if (path == BP_K2)
      break;
  }
  return RT_OK;
}

RtStatus boundary_path(Rt *rt, const char *query, const Router *r, const Law *l, MarginSpec ms,
                       Method m, int density, BPath *path)
{
  RtStatus st = boundary_path_choose(rt, query, r, l, ms, m, density, path);
  if (!st && *path != BP_MC)
    st = logits_in_range(rt, r, l, *path);
  return st;
}

static RtStatus boundary_path_choose(Rt *rt, const char *query, const Router *r, const Law *l,
                                     MarginSpec ms, Method m, int density, BPath *path)
{
  *path = auto_path(r, l, ms, density);
  if (m == METHOD_MC) {
    *path = BP_MC;
    return RT_OK;
  }
  if (m == METHOD_AUTO)
    return RT_OK;
  /* exact or quadrature asked for: orthants serve up to ORTHANT_MAX_K. */
  if (linear_gaussian(r, l, ms) && r->K > 2 && r->K <= ORTHANT_MAX_K) {
    *path = BP_ORTHANT;
    return RT_OK;
  }
  if (*path == BP_K2)
    return RT_OK;
  const char *why = r->kind != ROUTER_LINEAR    ? "the router is not linear"
                    : !law_is_gaussian(l)       ? "the law is not normal or a mixture of normals"
                    : (ms.hi != 1 || ms.lo != 2) ? "it covers the top-two margin only"
                                                 : "orthant probabilities stop at K = 64";
  return rt_error(rt, RT_EUNSUP,
                  "no %s path for %s here (%s); the Monte Carlo path exists: method = \"mc\"",
                  method_name(m), query, why);
}

/* ------------------------------------------------------------ orthants */

/* The normal components of a Gaussian law and their weights. */
static int flatten(const Law *l, double w, const Law **comp, double *wt, int n, int cap)
{
  if (l->kind == LAW_NORMAL) {
    if (n < cap) {
      comp[n] = l;
      wt[n] = w;
    }
    return n + 1;
  }
  for (int i = 0; i < l->ncomp; i++)
    n = flatten(l->comps[i], w * l->weights[i], comp, wt, n, cap);
  return n;
}

RtStatus boundary_orthant_mass(Rt *rt, const Router *r, const Law *l, const double *w, int nw,
                               double *mass, double *err, char *path, size_t len)
{
  const Law *comp[MAX_COMPONENTS];
  double wt[MAX_COMPONENTS];
  int nc = flatten(l, 1.0, comp, wt, 0, MAX_COMPONENTS);
  if (nc > MAX_COMPONENTS)
    return rt_error(rt, RT_EINVAL, "the exact path takes mixtures of at most %d normals; "
                    "this one has more (method = \"mc\" has no such limit)", MAX_COMPONENTS);
  double *m1 = rt_array(rt, (size_t)nw, sizeof *m1), *e1 = rt_array(rt, (size_t)nw, sizeof *e1);
  RtStatus st = m1 && e1 ? RT_OK : RT_ENOMEM;
  for (int j = 0; j < nw; j++)
    mass[j] = err[j] = 0;
  for (int c = 0; c < nc && !st; c++) {
    LogitLaw L;
    double *tmp;
    if ((st = logit_law_of(rt, r, comp[c], &L, &tmp)))
      break;
    st = orthant_mass(rt, &L, w, nw, NULL, m1, e1, path, len);
    rt_free(rt, tmp);
    for (int j = 0; !st && j < nw; j++) {
      mass[j] += wt[c] * m1[j];
      err[j] = hypot(err[j], wt[c] * e1[j]);
    }
  }
  rt_free(rt, m1);
  rt_free(rt, e1);
  return st;
}

RtStatus boundary_orthant_density(Rt *rt, const Router *r, const Law *l, double *C, double *err,
                                  char *path, size_t len)
{
  const Law *comp[MAX_COMPONENTS];
  double wt[MAX_COMPONENTS];
  int nc = flatten(l, 1.0, comp, wt, 0, MAX_COMPONENTS);
  if (nc > MAX_COMPONENTS)
    return rt_error(rt, RT_EINVAL, "the exact path takes mixtures of at most %d normals; "
                    "this one has more (method = \"mc\" has no such limit)", MAX_COMPONENTS);
  RtStatus st = RT_OK;
  *C = *err = 0;
  for (int c = 0; c < nc && !st; c++) {
    LogitLaw L;
    double v = 0, e = 0, *tmp;
    if ((st = logit_law_of(rt, r, comp[c], &L, &tmp)))
      break;
    st = orthant_density(rt, &L, NULL, &v, &e, path, len);
    rt_free(rt, tmp);
    *C += wt[c] * v;
    *err = hypot(*err, wt[c] * e);
  }
  if (!st && isinf(*C))
    st = rt_error(rt, RT_EINVAL, "two router rows give the same logit everywhere, so the "
                  "boundary density is infinite");
  return st;
}

/* ------------------------------------------------------------ conditional MC */

typedef struct CondCtx {
  const OrthantCond *c;
  Moments m;
} CondCtx;

static RtStatus cond_block(void *ctx, EstThread *th, const SampleBlock *sb, double *acc)
{
  CondCtx *c = ctx;
  size_t n = sb->n;
  int K = c->c->K;
  double *z = th->scratch, sum, sumsq;
  RngStream s;
  rng_init(&s, sb->seed, sb->block, sb->sub);
  rng_normal(&s, z, (size_t)K * n);
  orthant_cond_block(c->c, z, n, z + (size_t)K * n, &sum, &sumsq);
  double mean = sum / (double)n;
  acc[0] = (double)n;
  acc[1] = mean;
  acc[2] = fmax(sumsq - sum * mean, 0);
  return RT_OK;
}

static void cond_reduce(void *ctx, const SampleBlock *sb, const double *acc)
{
  CondCtx *c = ctx;
  (void)sb;
  Moments m = {acc[0], acc[1], acc[2]};
  moments_merge(&c->m, m);
}

RtStatus boundary_cond_density(Rt *rt, const Router *r, const Law *l, const QueryOpts *o,
                               double *C, double *se, uint64_t *done)
{
  LogitLaw L;
  OrthantCond oc;
  double *tmp;
  RtStatus st = logit_law_of(rt, r, l, &L, &tmp);
  if (!st)
    st = orthant_cond_init(rt, &L, &oc);
  rt_free(rt, tmp);
  if (st)
    return st;
  CondCtx c = {&oc, {0, 0, 0}};
  size_t B = rt->block;
  EstKernel k = {&c, ((size_t)r->K * B + orthant_cond_scratch(&oc, B)) * sizeof(double), 3,
                 cond_block, cond_reduce};
  st = est_run(rt, &k, o->samples, o->seed, done);
  *C = c.m.mean;
  *se = moments_stderr(&c.m);
  orthant_cond_free(rt, &oc);
  return st;
}
