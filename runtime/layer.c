/*
 * layer.c — L(τ) exactly for K = 2 and by Monte Carlo otherwise (layer.h).
 */
#include "layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "est.h"
#include "gauss.h"

/* ------------------------------------------------------------ exact, K = 2
 * With s = a_1 - a_2 ~ N(m, σ²) and Δ = |s|,
 *   E e^{-|s|/τ} = φ(m/σ) [R(σ/τ - m/σ) + R(σ/τ + m/σ)],
 * R Mills' ratio Φ(-x)/φ(x): the two half-lines s > 0 and s < 0, each a
 * Gaussian integral completed to a square.  In logs it holds for every τ
 * from 1e-300 to 1e300 without overflow. */
static double layer_k2(double m, double sd, double tau)
{
  if (sd == 0)
    return exp(-fabs(m) / tau);
  double z = m / sd, q = sd / tau;
  double lp = -0.5 * z * z - 0.91893853320467274178;
  return exp(lp + gauss_log_mills(q - z)) + exp(lp + gauss_log_mills(q + z));
}

typedef struct Comp {
  double weight, mean, sd;
} Comp;

/* The logit difference of each normal component of a Gaussian law. */
static int components(const Router *r, const Law *l, double w, Comp *out, int n, int cap)
{
  if (l->kind == LAW_MIXTURE) {
    for (int i = 0; i < l->ncomp; i++)
      n = components(r, l->comps[i], w * l->weights[i], out, n, cap);
    return n;
  }
  if (n >= cap)
    return n + 1;
  int d = l->dim;
  double mean = r->b[0] - r->b[1];
  for (int j = 0; j < d; j++)
    mean += (r->W[j] - r->W[d + j]) * l->mean[j];
  out[n] = (Comp){w, mean, law_sd_diff(l, r->W, r->W + d)};
  return n + 1;
}

static RtStatus layer_exact(Rt *rt, const Router *r, const Law *l, const double *tau,
                            size_t ntau, double *val)
{
  Comp stack[64], *c = stack;
  int n = components(r, l, 1.0, stack, 0, 64);
  if (n > 64) {
    c = rt_array(rt, (size_t)n, sizeof *c);
    if (!c)
      return RT_ENOMEM;
    components(r, l, 1.0, c, 0, n);
  }
  for (size_t t = 0; t < ntau; t++) {
    val[t] = 0;
    for (int i = 0; i < n; i++)
      val[t] += c[i].weight * layer_k2(c[i].mean, c[i].sd, tau[t]);
  }
  if (c != stack)
    rt_free(rt, c);
  return RT_OK;
}

/* ------------------------------------------------------------ Monte Carlo */

typedef struct LayerCtx {
  const MarginSampler *s;
  const double *tau;
  size_t ntau;
  Moments *m;            /* per τ, reduced in block order */
} LayerCtx;

static RtStatus layer_block(void *ctx, EstThread *th, const SampleBlock *sb, double *acc)
{
  LayerCtx *c = ctx;
  size_t n = sb->n;
  double *delta = th->scratch, *v = delta + n;
  RtStatus st = msampler_block(c->s, sb, v + n, delta, &th->err);
  for (size_t t = 0; !st && t < c->ntau; t++) {
    double inv = 1 / c->tau[t];
    for (size_t i = 0; i < n; i++) {
      double arg = -delta[i] * inv;
      v[i] = arg < -745.2 ? 0 : exp(arg);
    }
    Moments m = moments_of(v, n);
    acc[3 * t] = m.n;
    acc[3 * t + 1] = m.mean;
    acc[3 * t + 2] = m.m2;
  }
  return st;
}

static void layer_reduce(void *ctx, const SampleBlock *sb, const double *acc)
{
  LayerCtx *c = ctx;
  (void)sb;
  for (size_t t = 0; t < c->ntau; t++) {
    Moments m = {acc[3 * t], acc[3 * t + 1], acc[3 * t + 2]};
    moments_merge(&c->m[t], m);
  }
}

static RtStatus layer_mc(Rt *rt, const MarginSampler *s, const double *tau, size_t ntau,
                         const QueryOpts *o, double *val, double *se, uint64_t *done)
{
  Moments *m = rt_calloc(rt, ntau, sizeof *m);
  if (!m)
    return RT_ENOMEM;
  LayerCtx c = {s, tau, ntau, m};
  size_t B = rt->block;
  EstKernel k = {&c, (2 * B + msampler_scratch(s, B)) * sizeof(double), 3 * ntau,
                 layer_block, layer_reduce};
  RtStatus st = est_run(rt, &k, o->samples, o->seed, done);
  for (size_t t = 0; t < ntau; t++) {
    val[t] = m[t].mean;
    se[t] = moments_stderr(&m[t]);
  }
  rt_free(rt, m);
  return st;
}

/* ------------------------------------------------------------ query */

/* Besides L and L/τ, the bound L implies (MATH.md): |g^τ - g^0|_1 <=
 * 2(K-1) e^{-Δ/τ} pointwise, so E|g^τ - g^0|_1 <= 2(K-1) L(τ) — how far
 * the soft gate can be from the hard one, on average. */
static void layer_rows(Result *res, int K, const double *tau, size_t ntau, const double *val,
                       const double *se)
{
  result_rows(res, ntau);
  double *ct = result_col(res, "tau", F_NUM, 1), *cv = result_col(res, "value", F_NUM, 1);
  double *cs = result_col(res, "stderr", F_NUM, 1), *co = result_col(res, "over_tau", F_NUM, 1);
  double *cb = result_col(res, "gate_bound", F_NUM, 1);
  if (res->failed)
    return;
  for (size_t t = 0; t < ntau; t++) {
    ct[t] = tau[t];
    cv[t] = val[t];
    cs[t] = se[t];
    co[t] = val[t] / tau[t];
    cb[t] = 2.0 * (K - 1) * val[t];
  }
}

static RtStatus layer_at(Rt *rt, const Router *r, const Law *l, const double *tau,
                         size_t ntau, MarginSpec ms, const QueryOpts *o, Result *res)
{
  int exact = r->kind == ROUTER_LINEAR && r->K == 2 && law_is_gaussian(l) && ms.hi == 1 &&
              ms.lo == 2;
  if ((o->method == METHOD_EXACT || o->method == METHOD_QUADRATURE) && !exact)
    return rt_error(rt, RT_EUNSUP,
                    "no %s path for layer here (it needs K = 2, a linear router and a normal "
                    "law); the Monte Carlo path exists: method = \"mc\"", method_name(o->method));
  exact = exact && o->method != METHOD_MC;
  double *val = rt_calloc(rt, ntau, sizeof *val), *se = rt_calloc(rt, ntau, sizeof *se);
  RtStatus st = val && se ? RT_OK : RT_ENOMEM;
  if (!st && exact) {
    st = layer_exact(rt, r, l, tau, ntau, val);
    result_method(res, "exact", "K = 2 closed form through Mills' ratio");
  } else if (!st) {
    MarginSampler s;
    uint64_t done = 0;
    char path[160];
    if (!(st = msampler_init(rt, &s, r, l, ms))) {
      st = layer_mc(rt, &s, tau, ntau, o, val, se, &done);
      msampler_path(&s, r, path, sizeof path);
      result_method(res, "mc", path);
      res->samples = done;
      res->seed = o->seed;
      res->partial = st == RT_EINTR;
      msampler_free(rt, &s);
    }
  }
  if (!st || st == RT_EINTR)
    layer_rows(res, r->K, tau, ntau, val, se);
  rt_free(rt, val);
  rt_free(rt, se);
  return st;
}

RtStatus query_layer(Rt *rt, Router *r0, const Law *l, const double *tau, size_t ntau,
                     MarginSpec ms, const QueryOpts *o, Result **out)
{
  *out = NULL;
  double t0 = clock_seconds();
  for (size_t t = 0; t < ntau; t++)
    if (!(tau[t] > 0) || !isfinite(tau[t]))
      return rt_error(rt, RT_EINVAL, "tau = %g at step %zu; temperatures must be finite and > 0",
                      tau[t], t);
  Router *r;
  RtStatus st = router_at_dim(rt, r0, l->dim, &r);
  if (st)
    return st;
  Result *res = result_new(rt, "layer");
  if (ms.hi < 1 || ms.lo <= ms.hi || ms.lo > r->K)
    st = rt_error(rt, RT_EINVAL, "the margin between ranks %d and %d needs 1 <= %d < %d <= K = %d",
                  ms.hi, ms.lo, ms.hi, ms.lo, r->K);
  else
    st = res ? layer_at(rt, r, l, tau, ntau, ms, o, res) : RT_ENOMEM;
  router_unref(rt, r);
  if ((st && st != RT_EINTR) || result_check(rt, res)) {
    result_unref(res);
    return st ? st : RT_ENOMEM;
  }
  res->seconds = clock_seconds() - t0;
  *out = res;
  return st;
}
