/*
 * iface.c — ∫ f dν over the routing interface (see iface.h).
 */
#include "iface.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "est.h"
#include "gauss.h"
#include "jointmap.h"
#include "linalg.h"
#include "margin.h"
#include "msampler.h"

/* ------------------------------------------------------------ K = 2 geometry
 * For a normal law X = μ + F z and s = u·x + u0 (u = w_1 - w_2): s has mean
 * m and variance v = |Fᵀu|², and X given s = 0 is normal with mean
 * μ - (m/v) Σu, Σu = F (Fᵀu). */

typedef struct Slab {
  double m, v, phi0;     /* mean and variance of s; density of s at 0 */
  double *su;            /* Σu (d) */
} Slab;

static RtStatus slab_of(Rt *rt, const Router *r, const Law *l, Slab *s)
{
  int d = l->dim, k = l->rank;
  double *u = rt_array(rt, (size_t)d, sizeof *u);
  double *ftu = rt_calloc(rt, (size_t)(k ? k : 1), sizeof *ftu);
  s->su = rt_calloc(rt, (size_t)d, sizeof *s->su);
  if (!u || !ftu || !s->su) {
    rt_free(rt, u);
    rt_free(rt, ftu);
    rt_free(rt, s->su);
    return RT_ENOMEM;
  }
  s->m = r->b[0] - r->b[1];
  for (int j = 0; j < d; j++) {
    u[j] = r->W[j] - r->W[d + j];
    s->m += u[j] * l->mean[j];
  }
  s->v = law_var_diff(l, r->W, r->W + d);
  law_factor_t(l, u, ftu);
  law_factor_apply(l, ftu, s->su);       /* Σu = F Fᵀu */
  rt_free(rt, u);
  rt_free(rt, ftu);
  s->phi0 = s->v > 0 ? gauss_pdf(s->m / sqrt(s->v)) / sqrt(s->v) : 0;
  return RT_OK;
}

/* φ_s(0) E[f | s = 0] for affine f, summed over the normal components. */
static RtStatus exact_affine(Rt *rt, const Router *r, const Law *l, double w,
                             const double *beta, double c, double *acc)
{
  if (l->kind == LAW_MIXTURE) {
    RtStatus st = RT_OK;
    for (int i = 0; i < l->ncomp && !st; i++)
      st = exact_affine(rt, r, l->comps[i], w * l->weights[i], beta, c, acc);
    return st;
  }
  Slab s;
  RtStatus st = slab_of(rt, r, l, &s);
  if (st)
    return st;
  if (s.v == 0 && s.m == 0)
    st = rt_error(rt, RT_EINVAL, "the two router rows give the same logit everywhere, so the "
                  "interface is not a surface and the integral is infinite");
  double ef = c;
  for (int j = 0; s.v > 0 && j < l->dim; j++)
    ef += beta[j] * (l->mean[j] - s.m / s.v * s.su[j]);
  *acc += w * s.phi0 * ef;
  rt_free(rt, s.su);
  return st;
}

/* ------------------------------------------------------------ on the interface */

typedef struct OnCtx {
  const Law *l;
  const Router *r;
  const Expert *f;
  const Slab *s;
  Moments m;
} OnCtx;

static RtStatus on_block(void *ctx, EstThread *th, const SampleBlock *sb, double *acc)
{
  OnCtx *c = ctx;
  size_t n = sb->n;
  int d = c->l->dim;
  double *x = th->scratch, *sv = x + (size_t)d * n, *fv = sv + n, *rest = fv + n;
  law_sample(c->l, sb, x, n, rest);
  for (size_t i = 0; i < n; i++)
    sv[i] = c->r->b[0] - c->r->b[1];
  for (int j = 0; j < d; j++) {
    double u = c->r->W[j] - c->r->W[d + j];
    for (size_t i = 0; i < n; i++)
      sv[i] += u * x[(size_t)j * n + i];
  }
  /* Project each sample onto s = 0 along Σu: exactly the law of X given s = 0. */
  for (int j = 0; j < d; j++) {
    double k = c->s->su[j] / c->s->v;
    for (size_t i = 0; i < n; i++)
      x[(size_t)j * n + i] -= sv[i] * k;
  }
  RtStatus st = expert_eval(c->f, n, x, n, fv, rest, &th->err);
  if (!st) {
    Moments m = moments_of(fv, n);
    acc[0] = m.n;
    acc[1] = m.mean;
    acc[2] = m.m2;
  }
  return st;
}

static void on_reduce(void *ctx, const SampleBlock *sb, const double *acc)
{
  OnCtx *c = ctx;
  (void)sb;
  Moments m = {acc[0], acc[1], acc[2]};
  moments_merge(&c->m, m);
}

static RtStatus on_interface(Rt *rt, const Router *r, const Law *l, const Expert *f,
                             const QueryOpts *o, double *val, double *se, uint64_t *done)
{
  Slab s;
  RtStatus st = slab_of(rt, r, l, &s);
  if (st)
    return st;
  if (!(s.v > 0)) {
    rt_free(rt, s.su);
    return rt_error(rt, RT_EINVAL, "the logit difference is constant, so there is no interface");
  }
  OnCtx c = {l, r, f, &s, {0, 0, 0}};
  size_t B = rt->block, extra = law_scratch(l, B) > expert_scratch(f, B)
                                    ? law_scratch(l, B) : expert_scratch(f, B);
  EstKernel k = {&c, ((size_t)l->dim * B + 2 * B + extra) * sizeof(double), 3, on_block,
                 on_reduce};
  st = est_run(rt, &k, o->samples, o->seed, done);
  *val = s.phi0 * c.m.mean;
  *se = s.phi0 * moments_stderr(&c.m);
  rt_free(rt, s.su);
  return st;
}

/* ------------------------------------------------------------ near the interface */

typedef struct NearCtx {
  const Law *l;
  const Router *r;
  const Expert *f;
  double h;
  Moments m;
} NearCtx;

/* Per sample f(x) · (8/3·1{Δ<=h}/h - 6/3·1{Δ<=2h}/2h + 1/3·1{Δ<=4h}/4h) / 2:
 * third-order Richardson of E[f 1{Δ <= w}]/(2w) at w = h, 2h, 4h. */
static RtStatus near_block(void *ctx, EstThread *th, const SampleBlock *sb, double *acc)
{
  NearCtx *c = ctx;
  size_t n = sb->n;
  int d = c->l->dim, K = c->r->K;
  double *x = th->scratch, *a = x + (size_t)d * n, *delta = a + (size_t)K * n;
  double *fv = delta + n, *rest = fv + n;
  law_sample(c->l, sb, x, n, rest);
  RtStatus st = router_logits(c->r, n, x, n, a, n, rest, &th->err);
  if (!st)
    st = expert_eval(c->f, n, x, n, fv, rest, &th->err);
  if (st)
    return st;
  margin_top2(K, n, a, n, delta);
  double h = c->h;
  for (size_t i = 0; i < n; i++) {
    double wgt = (8.0 / 3) * (delta[i] <= h) / h - (6.0 / 3) * (delta[i] <= 2 * h) / (2 * h) +
                 (1.0 / 3) * (delta[i] <= 4 * h) / (4 * h);
    fv[i] *= 0.5 * wgt;
  }
  Moments m = moments_of(fv, n);
  acc[0] = m.n;
  acc[1] = m.mean;
  acc[2] = m.m2;
  return RT_OK;
}

static void near_reduce(void *ctx, const SampleBlock *sb, const double *acc)
{
  NearCtx *c = ctx;
  (void)sb;
  Moments m = {acc[0], acc[1], acc[2]};
  moments_merge(&c->m, m);
}

static RtStatus near_interface(Rt *rt, const Router *r, const Law *l, const Expert *f,
                               const QueryOpts *o, double *val, double *se, double *h,
                               uint64_t *done)
{
  MarginSampler ms;
  MarginSpec spec = {1, 2};
  double med = 0;
  RtStatus st = msampler_init(rt, &ms, r, l, spec);
  if (!st)
    st = msampler_median(rt, &ms, o->seed, &med);
  msampler_free(rt, &ms);
  if (st)
    return st;
  *h = 0.5 * med * pow((double)o->samples, -1.0 / 7);
  if (!(*h > 0))
    return rt_error(rt, RT_EINVAL, "the router's top two logits tie for most samples, so the "
                    "interface is not a surface");
  NearCtx c = {l, r, f, *h, {0, 0, 0}};
  size_t B = rt->block;
  size_t extra = law_scratch(l, B);
  size_t more[2] = {router_scratch(r, B), expert_scratch(f, B)};
  for (int i = 0; i < 2; i++)
    extra = more[i] > extra ? more[i] : extra;
  EstKernel k = {&c, (((size_t)l->dim + (size_t)r->K + 2) * B + extra) * sizeof(double), 3,
                 near_block, near_reduce};
  st = est_run(rt, &k, o->samples, o->seed, done);
  *val = c.m.mean;
  *se = moments_stderr(&c.m);
  return st;
}

/* ------------------------------------------------------------ query */

static RtStatus run(Rt *rt, const Router *r, const Law *l, const Expert *f,
                    const QueryOpts *o, Result *res)
{
  int k2 = r->kind == ROUTER_LINEAR && r->K == 2 && law_is_gaussian(l);
  double *beta = rt_calloc(rt, (size_t)l->dim, sizeof *beta), c = 0, val = 0, se = 0, h = 0;
  if (!beta)
    return RT_ENOMEM;
  int affine = expert_affine_coef(f, beta, &c);
  RtStatus st = RT_OK;
  uint64_t done = 0;
  if ((o->method == METHOD_EXACT || o->method == METHOD_QUADRATURE) && !(k2 && affine))
    st = rt_error(rt, RT_EUNSUP, "no %s path for interface_integral here (it needs K = 2, a "
                  "linear router over a normal law and an affine f); the Monte Carlo path "
                  "exists: method = \"mc\"", method_name(o->method));
  else if (k2 && affine && o->method != METHOD_MC) {
    st = exact_affine(rt, r, l, 1.0, beta, c, &val);
    result_method(res, "exact", "K = 2 closed form: phi_s(0) E[f | s = 0]");
  } else if (k2 && l->kind == LAW_NORMAL) {
    st = on_interface(rt, r, l, f, o, &val, &se, &done);
    result_method(res, "mc", "samples drawn exactly on the interface s = 0 (the conditional "
                  "normal law), no width bias");
  } else {
    char note[200];
    st = near_interface(rt, r, l, f, o, &val, &se, &h, &done);
    snprintf(note, sizeof note, "Richardson extrapolation of E[f 1{margin <= w}]/(2w) from "
             "w = h, 2h, 4h with h = %.4g (median margin x N^(-1/7) / 2); bias O(h^3)", h);
    result_method(res, "mc", "samples near the interface in x space");
    result_str(res, "bias_control", note);
  }
  rt_free(rt, beta);
  result_num(res, "value", val);
  result_num(res, "stderr", se);
  res->samples = done;
  res->seed = done ? o->seed : 0;
  res->partial = st == RT_EINTR;
  return st;
}

RtStatus query_interface(Rt *rt, Router *r0, const Law *l, Expert *f0, const QueryOpts *o,
                         Result **out)
{
  *out = NULL;
  double t0 = clock_seconds();
  Router *r = NULL;
  Expert *f = NULL;
  RtStatus st = router_at_dim(rt, r0, l->dim, &r);
  if (!st)
    st = expert_at_dim(rt, f0, l->dim, &f);
  Result *res = st ? NULL : result_new(rt, "interface_integral");
  if (!st && !res)
    st = RT_ENOMEM;
  if (!st)
    st = run(rt, r, l, f, o, res);
  router_unref(rt, r);
  expert_unref(rt, f);
  if ((st && st != RT_EINTR) || result_check(rt, res)) {
    result_unref(res);
    return st ? st : RT_ENOMEM;
  }
  res->seconds = clock_seconds() - t0;
  *out = res;
  return st;
}
