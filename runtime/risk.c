/*
 * risk.c — the risk and kappa queries (see risk.h).
 *
 * Layout: the problem (objects compiled for the law's dimension); the plain
 * Monte Carlo loss provider (x space, or the joint space of the affine maps
 * when the problem is linear-Gaussian); the accumulation driver shared with
 * the Rao–Blackwell provider of riskrb.c; κ's scale; the entry points.
 */
#include "risk.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "est.h"
#include "gate.h"
#include "jointmap.h"
#include "margin.h"
#include "msampler.h"
#include "risklayer.h"
#include "riskmc.h"

typedef struct Problem {
  Model *m;
  Target *y;
  const Law *x;
  JointMap j;
  int joint;             /* sample the maps' joint law instead of x */
} Problem;

static RtStatus problem_init(Rt *rt, Problem *p, Model *m, Target *y, const Law *x)
{
  memset(p, 0, sizeof *p);
  p->x = x;
  RtStatus st = model_at_dim(rt, m, x->dim, &p->m);
  if (!st)
    st = target_at_dim(rt, y, x->dim, &p->y);
  if (!st)
    st = jointmap_build(rt, p->m, p->y, x, &p->j, &p->joint);
  return st;
}

static void problem_free(Rt *rt, Problem *p)
{
  model_unref(rt, p->m);
  target_unref(rt, p->y);
  jointmap_free(rt, &p->j);
}

/* ------------------------------------------------------------ plain MC */

/* Per-thread scratch: x (or the joint maps), logits, experts, target, the
 * shifted logits, and the parts' own scratch. */
typedef struct Scratch {
  double *x, *a, *f, *m, *d, *rest;
} Scratch;

static int plain_rows(const Problem *p) { return p->joint ? p->j.R : p->x->dim; }

static size_t plain_rest(const Problem *p, size_t n)
{
  const Model *m = p->m;
  int K = m->nexp;
  size_t rest = law_scratch(p->joint ? p->j.law : p->x, n);
  size_t parts[4] = {router_scratch(m->router, n), target_scratch(p->y, n),
                     gate_scratch(m->gate, K, n), n};
  for (int k = 0; k < K; k++)
    parts[3] = expert_scratch(m->experts[k], n) > parts[3] ? expert_scratch(m->experts[k], n)
                                                            : parts[3];
  for (int i = 0; i < 4; i++)
    rest = parts[i] > rest ? parts[i] : rest;
  return rest;
}

static size_t plain_scratch(const void *ctx, size_t n)
{
  const Problem *p = ctx;
  int K = p->m->nexp;
  return (size_t)plain_rows(p) * n + 2 * (size_t)K * n + n + gate_shifted_size(K, n) +
         plain_rest(p, n);
}

static Scratch carve(const Problem *p, double *base, size_t n)
{
  int K = p->m->nexp;
  Scratch s;
  s.x = base;
  s.a = s.x + (size_t)plain_rows(p) * n;
  s.f = s.a + (size_t)K * n;
  s.m = s.f + (size_t)K * n;
  s.d = s.m + n;
  s.rest = s.d + gate_shifted_size(K, n);
  if (p->joint) {            /* logits and experts: rows of the sampled maps */
    s.a = s.x + (size_t)p->j.off_a * n;
    s.f = s.x + (size_t)p->j.off_f * n;
  }
  return s;
}

/* In the joint space the block of maps G is sampled directly; logits,
 * experts and target are rows of it. */
static void evaluate_joint(const Problem *p, const SampleBlock *sb, Scratch *s)
{
  const JointMap *j = &p->j;
  size_t n = sb->n;
  double *G = s->x;
  law_sample(j->law, sb, G, n, s->rest);
  if (j->Kt)
    margin_pick_top(j->Kt, n, G + (size_t)j->off_t * n, n, G + (size_t)j->off_h * n, n, s->m);
  else
    memcpy(s->m, G + (size_t)j->off_m * n, n * sizeof *G);
}

static RtStatus plain_prepare(const void *ctx, const SampleBlock *sb, double *scratch,
                              BlockErr *err)
{
  const Problem *p = ctx;
  const Model *m = p->m;
  size_t n = sb->n;
  Scratch s = carve(p, scratch, n);
  RtStatus st = RT_OK;
  if (p->joint) {
    evaluate_joint(p, sb, &s);
  } else {
    law_sample(p->x, sb, s.x, n, s.rest);
    st = router_logits(m->router, n, s.x, n, s.a, n, s.rest, err);
    for (int k = 0; !st && k < m->nexp; k++)
      st = expert_eval(m->experts[k], n, s.x, n, s.f + (size_t)k * n, s.rest, err);
    if (!st)
      st = target_eval(p->y, n, s.x, n, s.m, s.rest, err);
  }
  if (!st)
    gate_shifted(m->gate, m->nexp, n, s.a, n, s.d, s.rest);
  return st;
}

static void plain_hard(const void *ctx, double *scratch, size_t n, double *out)
{
  const Problem *p = ctx;
  Scratch s = carve(p, scratch, n);
  margin_pick_top(p->m->nexp, n, s.a, n, s.f, n, out);      /* F_0 */
  for (size_t i = 0; i < n; i++) {
    double r = s.m[i] - out[i];
    out[i] = r * r;
  }
}

static void plain_soft(const void *ctx, double *scratch, size_t n, double tau, double *out)
{
  const Problem *p = ctx;
  Scratch s = carve(p, scratch, n);
  gate_mix(p->m->nexp, n, s.d, tau, s.f, out, s.rest);
  for (size_t i = 0; i < n; i++) {
    double r = s.m[i] - out[i];
    out[i] = r * r;
  }
}

/* ------------------------------------------------------------ accumulation */

#define KAPPA_TAUS 3

typedef struct AccCtx {
  const LossFns *L;
  const double *tau;
  size_t ntau;
  double kappa_h;
  /* κ = lim G(τ)/τ by Lagrange extrapolation to τ = 0 from three
   * temperatures: three of the schedule's when it has them near h, else
   * three extra passes at h, 2h, 4h.  pass[j] indexes the passes (the
   * schedule's, then the extras); coef[j] multiplies G(τ_j)/τ_j. */
  double ktau[KAPPA_TAUS], kcoef[KAPPA_TAUS];
  size_t kpass[KAPPA_TAUS], extra;
  Moments *soft, *gap, hard, kappa;
} AccCtx;

/* Lagrange weights of g(τ_j) for the value at 0 of the quadratic through
 * the three points: Π_{m≠j} τ_m / (τ_m - τ_j). */
static void lagrange_at_zero(const double *t, double *w)
{
  for (int j = 0; j < KAPPA_TAUS; j++) {
    w[j] = 1;
    for (int m = 0; m < KAPPA_TAUS; m++)
      if (m != j)
        w[j] *= t[m] / (t[m] - t[j]);
  }
}

/* Three schedule temperatures within a factor 4 of h, 2h and 4h (the
 * spacing the extrapolation's error analysis assumes), with ratios of at
 * least 1.5 between them; else the three extra passes. */
static void choose_kappa_taus(AccCtx *c)
{
  const double want[KAPPA_TAUS] = {c->kappa_h, 2 * c->kappa_h, 4 * c->kappa_h};
  int found = 1;
  for (int j = 0; j < KAPPA_TAUS && found; j++) {
    size_t best = 0;
    double bd = INFINITY;
    for (size_t t = 0; t < c->ntau; t++) {
      double dist = fabs(log(c->tau[t] / want[j]));
      if (dist < bd) {
        bd = dist;
        best = t;
      }
    }
    found = bd < log(4.0) && (j == 0 || c->tau[best] > 1.5 * c->ktau[j - 1]);
    c->kpass[j] = best;
    c->ktau[j] = found ? c->tau[best] : 0;
  }
  c->extra = found ? 0 : KAPPA_TAUS;
  for (int j = 0; !found && j < KAPPA_TAUS; j++) {
    c->kpass[j] = c->ntau + (size_t)j;
    c->ktau[j] = want[j];
  }
  lagrange_at_zero(c->ktau, c->kcoef);
}

static void put(double *acc, Moments m)
{
  acc[0] = m.n;
  acc[1] = m.mean;
  acc[2] = m.m2;
}

static Moments get(const double *acc)
{
  Moments m = {acc[0], acc[1], acc[2]};
  return m;
}

/* Per block: hard, κ, then soft and gap for each τ (count, mean, M2 each).
 * Thread scratch: the provider's, then h, s and κ's per-sample sums. */
static RtStatus acc_block(void *ctx, EstThread *th, const SampleBlock *sb, double *acc)
{
  AccCtx *c = ctx;
  const LossFns *L = c->L;
  size_t n = sb->n;
  double *ps = th->scratch, *h = ps + L->scratch(L->ctx, n), *s = h + n, *kap = s + n;
  RtStatus st = L->prepare(L->ctx, sb, ps, &th->err);
  if (st)
    return st;
  L->hard(L->ctx, ps, n, h);
  put(acc, moments_of(h, n));
  for (size_t i = 0; i < n; i++)
    kap[i] = 0;
  for (size_t t = 0; t < c->ntau + c->extra; t++) {
    double tau = t < c->ntau ? c->tau[t] : c->ktau[t - c->ntau];
    L->soft(L->ctx, ps, n, tau, s);
    for (int j = 0; j < KAPPA_TAUS; j++)
      if (c->kpass[j] == t) {
        double k = c->kcoef[j] / tau;
        for (size_t i = 0; i < n; i++)
          kap[i] += k * (s[i] - h[i]);
      }
    if (t >= c->ntau)
      continue;
    put(acc + 6 + 6 * t, moments_of(s, n));
    for (size_t i = 0; i < n; i++)
      s[i] -= h[i];
    put(acc + 9 + 6 * t, moments_of(s, n));
  }
  put(acc + 3, moments_of(kap, n));
  return RT_OK;
}

static void acc_reduce(void *ctx, const SampleBlock *sb, const double *acc)
{
  AccCtx *c = ctx;
  (void)sb;
  moments_merge(&c->hard, get(acc));
  moments_merge(&c->kappa, get(acc + 3));
  for (size_t t = 0; t < c->ntau; t++) {
    moments_merge(&c->soft[t], get(acc + 6 + 6 * t));
    moments_merge(&c->gap[t], get(acc + 9 + 6 * t));
  }
}

RtStatus risk_accumulate(Rt *rt, const LossFns *L, const double *tau, size_t ntau,
                         double kappa_h, double noise, const QueryOpts *o, RiskOut *out)
{
  AccCtx c;
  memset(&c, 0, sizeof c);
  c.L = L;
  c.tau = tau;
  c.ntau = ntau;
  c.kappa_h = kappa_h;
  choose_kappa_taus(&c);
  c.soft = rt_calloc(rt, ntau + 1, sizeof *c.soft);
  c.gap = rt_calloc(rt, ntau + 1, sizeof *c.gap);
  RtStatus st = c.soft && c.gap ? RT_OK : RT_ENOMEM;
  size_t B = rt->block;
  EstKernel k = {&c, (L->scratch(L->ctx, B) + 3 * B) * sizeof(double), 6 + 6 * ntau, acc_block,
                 acc_reduce};
  if (!st)
    st = est_run(rt, &k, o->samples, o->seed, &out->done);
  double sigma2 = noise * noise;
  for (size_t t = 0; c.soft && c.gap && t < ntau; t++) {
    out->soft[t] = c.soft[t].mean + sigma2;
    out->soft_se[t] = moments_stderr(&c.soft[t]);
    out->gap[t] = c.gap[t].mean;
    out->gap_se[t] = moments_stderr(&c.gap[t]);
  }
  out->hard = c.hard.mean + sigma2;
  out->hard_se = moments_stderr(&c.hard);
  out->kappa = c.kappa.mean;
  out->kappa_se = moments_stderr(&c.kappa);
  out->kappa_h = kappa_h;
  for (int j = 0; j < KAPPA_TAUS; j++)
    out->kappa_tau[j] = c.ktau[j];
  rt_free(rt, c.soft);
  rt_free(rt, c.gap);
  return st;
}

/* κ's temperatures sit at the scale of the margin near 0: h = ½ · median
 * margin · N^(-1/7) (as for the boundary density), so the extrapolation's
 * bias O(h³) stays below its standard error. */
static RtStatus kappa_scale(Rt *rt, const Problem *p, const QueryOpts *o, double *h)
{
  MarginSampler s;
  MarginSpec ms = {1, 2};
  double med = 0;
  RtStatus st = msampler_init(rt, &s, p->m->router, p->x, ms);
  if (!st)
    st = msampler_median(rt, &s, o->seed, &med);
  msampler_free(rt, &s);
  *h = 0.5 * med * pow((double)o->samples, -1.0 / 7);
  if (!st && !(*h > 0))
    st = rt_error(rt, RT_EINVAL, "the router's top two logits tie for most samples; the gap "
                  "has no first-order coefficient");
  return st;
}

/* ------------------------------------------------------------ queries */

static RtStatus check_taus(Rt *rt, const double *tau, size_t ntau)
{
  for (size_t t = 0; t < ntau; t++)
    if (!(tau[t] > 0) || !isfinite(tau[t]))
      return rt_error(rt, RT_EINVAL, "tau = %g at step %zu; temperatures must be finite and > 0",
                      tau[t], t);
  return RT_OK;
}

static RtStatus no_exact(Rt *rt, const char *query, Method m)
{
  return rt_error(rt, RT_EUNSUP,
                  "no %s path for %s here (it needs K = 2, a linear router over a normal law, "
                  "affine experts and an affine or two-expert teacher target); the Monte Carlo "
                  "path exists: method = \"mc\"", method_name(m), query);
}

static void kappa_note(Result *res, const RiskOut *r)
{
  char note[260];
  snprintf(note, sizeof note,
           "extrapolation of G(tau)/tau to tau = 0 through tau = %.4g, %.4g, %.4g (a quadratic "
           "in tau, on the same samples), placed near h = %.4g, 2h, 4h with h = median margin "
           "x N^(-1/7) / 2; bias O(h^3)", r->kappa_tau[0], r->kappa_tau[1], r->kappa_tau[2],
           r->kappa_h);
  result_str(res, "kappa_control", note);
}

static RtStatus risk_rows(Result *res, const double *tau, size_t ntau, const RiskOut *r)
{
  result_rows(res, ntau);
  double *ct = result_col(res, "tau", F_NUM, 1), *cs = result_col(res, "soft", F_NUM, 1);
  double *css = result_col(res, "soft_stderr", F_NUM, 1), *cg = result_col(res, "gap", F_NUM, 1);
  double *cgs = result_col(res, "gap_stderr", F_NUM, 1);
  double *co = result_col(res, "gap_over_tau", F_NUM, 1);
  if (res->failed)
    return RT_ENOMEM;
  for (size_t t = 0; t < ntau; t++) {
    ct[t] = tau[t];
    cs[t] = r->soft[t];
    css[t] = r->soft_se[t];
    cg[t] = r->gap[t];
    cgs[t] = r->gap_se[t];
    co[t] = r->gap[t] / tau[t];
  }
  return RT_OK;
}

static RtStatus risk_out_alloc(Rt *rt, RiskOut *r, size_t ntau)
{
  memset(r, 0, sizeof *r);
  r->soft = rt_calloc(rt, ntau + 1, sizeof(double));
  r->soft_se = rt_calloc(rt, ntau + 1, sizeof(double));
  r->gap = rt_calloc(rt, ntau + 1, sizeof(double));
  r->gap_se = rt_calloc(rt, ntau + 1, sizeof(double));
  return r->soft && r->soft_se && r->gap && r->gap_se ? RT_OK : RT_ENOMEM;
}

static void risk_out_free(Rt *rt, RiskOut *r)
{
  rt_free(rt, r->soft);
  rt_free(rt, r->soft_se);
  rt_free(rt, r->gap);
  rt_free(rt, r->gap_se);
}

static void plain_path(const Problem *p, char *path, size_t len)
{
  if (p->joint)
    snprintf(path, len, "common random numbers in the joint space of the %d affine maps "
             "(logits, experts, target), sampled directly", p->j.R);
  else
    snprintf(path, len, "common random numbers in x space: %s router, %d experts",
             router_kind_name(p->m->router), p->m->nexp);
}

/* The boundary layer on top of Rao–Blackwell when they apply and auto
 * asked (plain Rao–Blackwell where the layer does not apply); plain Monte
 * Carlo when "mc" is asked or nothing better exists. */
static RtStatus run_risk(Rt *rt, const Problem *p, const double *tau, size_t ntau,
                         const QueryOpts *o, Result *res, RiskOut *r)
{
  int quad = 0;
  RtStatus qst = RT_OK;
  if (o->method != METHOD_MC)
    qst = riskquad_run(rt, p->m, p->y, p->x, tau, ntau, r, &quad);
  if (qst || quad) {
    result_method(res, "quadrature", "K = 2: adaptive Gauss-Kronrod over s = a_1 - a_2 of the "
                  "squared error's conditional expectation (closed form); kappa in closed form");
    return qst;
  }
  if (o->method == METHOD_EXACT || o->method == METHOD_QUADRATURE)
    return no_exact(rt, res->query, o->method);
  double h = 0;
  LossFns L = {(void *)p, plain_scratch, plain_prepare, plain_hard, plain_soft};
  LayerInfo li = {0};
  int rb = 0;
  char path[240];
  RtStatus st = RT_OK;
  if (o->method == METHOD_AUTO)
    st = riskrb_init(rt, p->m, p->y, p->x, &L, &rb);
  if (!st && rb)
    st = risklayer_run(rt, &L, p->m, tau, ntau, p->y->noise, o, r, &li);
  if (!st && !li.applies)
    st = kappa_scale(rt, p, o, &h);
  if (rb)
    snprintf(path, sizeof path, "Rao-Blackwell: the routing logits sampled, the squared "
             "error's conditional expectation given them in closed form (common random numbers)");
  else
    plain_path(p, path, sizeof path);
  if (!st && !li.applies)
    st = risk_accumulate(rt, &L, tau, ntau, h, p->y->noise, o, r);
  if (rb)
    riskrb_free(rt, &L);
  if (st && st != RT_EINTR)
    return st;
  result_method(res, "mc", li.applies ? li.path : path);
  res->samples = r->done;
  res->seed = o->seed;
  res->partial = st == RT_EINTR;
  if (li.applies)
    result_str(res, "kappa_control", li.kappa_note);
  else
    kappa_note(res, r);
  return st;
}

static RtStatus finish(Rt *rt, RtStatus st, Result *res, double t0, Result **out)
{
  if ((st && st != RT_EINTR) || result_check(rt, res)) {
    result_unref(res);
    return st ? st : RT_ENOMEM;
  }
  res->seconds = clock_seconds() - t0;
  *out = res;
  return st;
}

RtStatus query_risk(Rt *rt, Model *m, Target *y, const Law *x, const double *tau,
                    size_t ntau, const QueryOpts *o, Result **out)
{
  *out = NULL;
  double t0 = clock_seconds();
  Problem p = {0};
  RiskOut r = {0};
  RtStatus st = check_taus(rt, tau, ntau);
  if (st)
    return st;
  Result *res = result_new(rt, "risk");
  if (!res)
    return RT_ENOMEM;
  st = problem_init(rt, &p, m, y, x);
  if (!st)
    st = risk_out_alloc(rt, &r, ntau);
  if (!st)
    st = run_risk(rt, &p, tau, ntau, o, res, &r);
  if (!st || st == RT_EINTR) {
    result_num(res, "hard", r.hard);
    result_num(res, "hard_stderr", r.hard_se);
    result_num(res, "kappa", r.kappa);
    result_num(res, "kappa_stderr", r.kappa_se);
    result_num(res, "noise", p.y->noise);
    if (risk_rows(res, tau, ntau, &r))
      st = RT_ENOMEM;
  }
  risk_out_free(rt, &r);
  problem_free(rt, &p);
  return finish(rt, st, res, t0, out);
}

RtStatus query_kappa(Rt *rt, Model *m, Target *y, const Law *x, const QueryOpts *o,
                     Result **out)
{
  *out = NULL;
  double t0 = clock_seconds();
  Problem p = {0};
  RiskOut r = {0};
  Result *res = result_new(rt, "kappa");
  if (!res)
    return RT_ENOMEM;
  RtStatus st = problem_init(rt, &p, m, y, x);
  if (!st)
    st = risk_out_alloc(rt, &r, 0);
  if (!st)
    st = run_risk(rt, &p, NULL, 0, o, res, &r);
  if (!st || st == RT_EINTR) {
    result_num(res, "value", r.kappa);
    result_num(res, "stderr", r.kappa_se);
  }
  risk_out_free(rt, &r);
  problem_free(rt, &p);
  return finish(rt, st, res, t0, out);
}
