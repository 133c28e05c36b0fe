/*
 * grad.c — the soft risk of a model's parametric parts and its analytic
 * gradient, block by block (see grad.h).
 *
 * Layout: the parameter set; models from and to θ; the forward pass of one
 * block; the gradient kernel for est_run; the least-squares fit used for
 * the symmetric point.
 */
#include "grad.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "est.h"
#include "gate.h"
#include "linalg.h"
#include "margin.h"

/* ------------------------------------------------------------ parameters */

static RtStatus paramset_init(Rt *rt, ParamSet *ps, const Model *m, int d)
{
  memset(ps, 0, sizeof *ps);
  ps->K = m->nexp;
  ps->d = d;
  ps->router = m->router->kind == ROUTER_LINEAR;
  ps->row_of = rt_array(rt, (size_t)ps->K, sizeof *ps->row_of);
  ps->expert_of = rt_array(rt, (size_t)ps->K, sizeof *ps->expert_of);
  if (!ps->row_of || !ps->expert_of)
    return RT_ENOMEM;
  for (int k = 0; k < ps->K; k++) {
    ps->row_of[k] = -1;
    if (m->experts[k]->kind == EXPERT_AFFINE) {
      ps->row_of[k] = ps->naff;
      ps->expert_of[ps->naff++] = k;
    }
  }
  ps->nchan = (ps->router ? ps->K : 0) + ps->naff;
  ps->np = (size_t)ps->nchan * (size_t)(d + 1);
  if (ps->nchan == 0)
    return rt_error(rt, RT_EINVAL, "the model has no parametric parts: its router is not "
                    "linear and none of its experts is affine");
  return RT_OK;
}

RtStatus grad_problem_init(Rt *rt, GradProblem *p, Model *m, Target *y, const Law *x)
{
  memset(p, 0, sizeof *p);
  p->x = x;
  RtStatus st = model_at_dim(rt, m, x->dim, &p->m);
  if (!st)
    st = target_at_dim(rt, y, x->dim, &p->y);
  if (!st)
    st = paramset_init(rt, &p->ps, p->m, x->dim);
  if (st)
    grad_problem_free(rt, p);
  return st;
}

void grad_problem_free(Rt *rt, GradProblem *p)
{
  model_unref(rt, p->m);
  target_unref(rt, p->y);
  rt_free(rt, p->ps.row_of);
  rt_free(rt, p->ps.expert_of);
  memset(p, 0, sizeof *p);
}

/* The start of the affine experts' rows in θ. */
static size_t aff_off(const ParamSet *ps)
{
  return ps->router ? (size_t)ps->K * (size_t)(ps->d + 1) : 0;
}

void grad_theta_get(const GradProblem *p, double *theta)
{
  const ParamSet *ps = &p->ps;
  size_t row = (size_t)ps->d + 1;
  const Router *r = p->m->router;
  for (int k = 0; ps->router && k < ps->K; k++) {
    memcpy(theta + k * row, r->W + (size_t)k * ps->d, (size_t)ps->d * sizeof *theta);
    theta[k * row + ps->d] = r->b ? r->b[k] : 0;
  }
  double *t = theta + aff_off(ps);
  for (int a = 0; a < ps->naff; a++) {
    const Expert *e = p->m->experts[ps->expert_of[a]];
    memcpy(t + a * row, e->beta, (size_t)ps->d * sizeof *t);
    t[a * row + ps->d] = e->c;
  }
}

static RtStatus router_from(Rt *rt, const ParamSet *ps, const double *theta, Router **out)
{
  size_t row = (size_t)ps->d + 1;
  double *W = rt_array(rt, (size_t)ps->K * (size_t)(ps->d ? ps->d : 1), sizeof *W);
  double *b = rt_array(rt, (size_t)ps->K, sizeof *b);
  RtStatus st = W && b ? RT_OK : RT_ENOMEM;
  for (int k = 0; !st && k < ps->K; k++) {
    memcpy(W + (size_t)k * ps->d, theta + k * row, (size_t)ps->d * sizeof *W);
    b[k] = theta[k * row + ps->d];
  }
  if (!st)
    st = router_linear(rt, ps->K, ps->d, W, b, out);
  rt_free(rt, W);
  rt_free(rt, b);
  return st;
}

RtStatus grad_model_with(Rt *rt, const GradProblem *p, const double *theta, Model **out)
{
  const ParamSet *ps = &p->ps;
  size_t row = (size_t)ps->d + 1;
  *out = NULL;
  Router *r = NULL;
  Expert **ex = rt_calloc(rt, (size_t)ps->K, sizeof *ex);
  RtStatus st = ex ? RT_OK : RT_ENOMEM;
  if (!st)
    st = ps->router ? router_from(rt, ps, theta, &r) : (r = router_ref(p->m->router), RT_OK);
  for (int k = 0; !st && k < ps->K; k++) {
    int a = ps->row_of[k];
    if (a < 0)
      ex[k] = expert_ref(p->m->experts[k]);
    else
      st = expert_affine(rt, ps->d, theta + aff_off(ps) + a * row, theta[aff_off(ps) + a * row + ps->d],
                         &ex[k]);
  }
  if (!st)
    st = model_new(rt, r, ps->K, ex, p->m->gate, out);
  for (int k = 0; ex && k < ps->K; k++)
    expert_unref(rt, ex[k]);
  rt_free(rt, ex);
  router_unref(rt, r);
  return st;
}

void grad_param_name(const ParamSet *ps, size_t i, StrBuf *sb)
{
  size_t row = (size_t)ps->d + 1;
  int c = (int)(i / row), j = (int)(i % row);
  if (ps->router && c < ps->K) {
    if (j < ps->d)
      sb_printf(sb, "router.W[%d,%d]", c, j);
    else
      sb_printf(sb, "router.b[%d]", c);
    return;
  }
  int k = ps->expert_of[c - (ps->router ? ps->K : 0)];
  if (j < ps->d)
    sb_printf(sb, "experts[%d].beta[%d]", k, j);
  else
    sb_printf(sb, "experts[%d].c", k);
}

/* ------------------------------------------------------------ forward pass */

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

/* Scratch the parts need while evaluating, and the backward pass after. */
static size_t rest_size(const GradProblem *p, size_t n)
{
  const ParamSet *ps = &p->ps;
  size_t r = law_scratch(p->x, n);
  r = max_sz(r, router_scratch(p->m->router, n));
  r = max_sz(r, target_scratch(p->y, n));
  r = max_sz(r, gate_scratch(p->m->gate, ps->K, n));
  for (int k = 0; k < ps->K; k++)
    r = max_sz(r, expert_scratch(p->m->experts[k], n));
  /* backward: δ of the logits and of the affine experts; stats: margins
   * and the hard model */
  r = max_sz(r, (size_t)(ps->K + ps->naff + 2) * n);
  return r;
}

size_t grad_scratch(const GradProblem *p, size_t n)
{
  const ParamSet *ps = &p->ps;
  return (size_t)(ps->d + 1) * n + 3 * (size_t)ps->K * n + 3 * n + rest_size(p, n);
}

static void carve(const GradProblem *p, double *s, size_t n, Fwd *fw)
{
  const ParamSet *ps = &p->ps;
  size_t Kn = (size_t)ps->K * n;
  fw->n = n;
  fw->x = s;
  fw->a = fw->x + (size_t)(ps->d + 1) * n;
  fw->f = fw->a + Kn;
  fw->g = fw->f + Kn;
  fw->m = fw->g + Kn;
  fw->F = fw->m + n;
  fw->e = fw->F + n;
  fw->rest = fw->e + n;
}

/* Expert values: expression experts first (they use the scratch), then
 * every affine expert in one GEMM of the parameter rows with x̃. */
static RtStatus experts_forward(const GradProblem *p, const double *theta, Fwd *fw,
                                BlockErr *err)
{
  const ParamSet *ps = &p->ps;
  size_t n = fw->n;
  int row = ps->d + 1;
  for (int k = 0; k < ps->K; k++)
    if (ps->row_of[k] < 0) {
      RtStatus st = expert_eval(p->m->experts[k], n, fw->x, n, fw->f + (size_t)k * n, fw->rest,
                                err);
      if (st)
        return st;
    }
  if (ps->naff == 0)
    return RT_OK;
  const double *B = theta + aff_off(ps);
  if (ps->naff == ps->K) {
    la_gemm(ps->K, (int)n, row, B, row, fw->x, (int)n, fw->f, (int)n);
    return RT_OK;
  }
  la_gemm(ps->naff, (int)n, row, B, row, fw->x, (int)n, fw->rest, (int)n);
  for (int a = 0; a < ps->naff; a++)
    memcpy(fw->f + (size_t)ps->expert_of[a] * n, fw->rest + (size_t)a * n, n * sizeof *fw->f);
  return RT_OK;
}

RtStatus grad_forward(const GradProblem *p, const double *theta, double tau,
                      const SampleBlock *sb, double *scratch, BlockErr *err, Fwd *fw)
{
  const ParamSet *ps = &p->ps;
  size_t n = sb->n;
  int K = ps->K, row = ps->d + 1;
  carve(p, scratch, n, fw);
  law_sample(p->x, sb, fw->x, n, fw->rest);
  for (size_t i = 0; i < n; i++)
    fw->x[(size_t)ps->d * n + i] = 1;
  RtStatus st;
  if (ps->router)
    la_gemm(K, (int)n, row, theta, row, fw->x, (int)n, fw->a, (int)n);
  else if ((st = router_logits(p->m->router, n, fw->x, n, fw->a, n, fw->rest, err)))
    return st;
  if ((st = experts_forward(p, theta, fw, err)) ||
      (st = target_eval(p->y, n, fw->x, n, fw->m, fw->rest, err)))
    return st;
  gate_soft(p->m->gate, K, n, fw->a, n, tau, fw->g, n, fw->rest);
  for (size_t i = 0; i < n; i++)
    fw->F[i] = 0;
  for (int k = 0; k < K; k++) {
    const double *g = fw->g + (size_t)k * n, *f = fw->f + (size_t)k * n;
    for (size_t i = 0; i < n; i++)
      fw->F[i] += g[i] * f[i];
  }
  for (size_t i = 0; i < n; i++)
    fw->e[i] = fw->F[i] - fw->m[i];
  return RT_OK;
}

/* ------------------------------------------------------------ the gradient */

typedef struct GradCtx {
  const GradProblem *p;
  const double *theta;
  double tau, w;
  int stats, want_grad;
  Moments loss;
  double hard, mass;
  double *grad;          /* running sum, np */
} GradCtx;

enum { ACC_LOSS = 0, ACC_HARD = 3, ACC_MASS = 4, ACC_GRAD = 5 };

/* The backward pass: δ_a = 2e g_k (f_k − F)/τ for the logits and
 * δ_f = 2e g_k for the affine experts, then one GEMM each with x̃ᵀ. */
static void backward(const GradProblem *p, double tau, const Fwd *fw, double *grad)
{
  const ParamSet *ps = &p->ps;
  size_t n = fw->n;
  int row = ps->d + 1;
  double *dA = fw->rest, *dF = dA + (size_t)ps->K * n, inv = 1 / tau;
  if (ps->router) {
    for (int k = 0; k < ps->K; k++) {
      const double *g = fw->g + (size_t)k * n, *f = fw->f + (size_t)k * n;
      double *d = dA + (size_t)k * n;
      for (size_t i = 0; i < n; i++)
        d[i] = 2 * fw->e[i] * g[i] * (f[i] - fw->F[i]) * inv;
    }
    la_gemm_nt(ps->K, row, (int)n, dA, (int)n, fw->x, (int)n, grad, row);
  }
  for (int a = 0; a < ps->naff; a++) {
    const double *g = fw->g + (size_t)ps->expert_of[a] * n;
    double *d = dF + (size_t)a * n;
    for (size_t i = 0; i < n; i++)
      d[i] = 2 * fw->e[i] * g[i];
  }
  if (ps->naff)
    la_gemm_nt(ps->naff, row, (int)n, dF, (int)n, fw->x, (int)n, grad + aff_off(ps), row);
}

/* The hard model's squared errors summed, and the samples whose top-two
 * margin is at most w. */
static void block_stats(const GradProblem *p, const Fwd *fw, double w, double *acc)
{
  size_t n = fw->n;
  int K = p->ps.K;
  double *delta = fw->rest, *f0 = delta + n, hard = 0;
  margin_pick_top(K, n, fw->a, n, fw->f, n, f0);
  for (size_t i = 0; i < n; i++) {
    double r = f0[i] - fw->m[i];
    hard += r * r;
  }
  margin_top2(K, n, fw->a, n, delta);
  margin_count_below(delta, n, &w, 1, &acc[ACC_MASS]);
  acc[ACC_HARD] = hard;
}

static RtStatus grad_block(void *ctx, EstThread *th, const SampleBlock *sb, double *acc)
{
  GradCtx *c = ctx;
  Fwd fw;
  RtStatus st = grad_forward(c->p, c->theta, c->tau, sb, th->scratch, &th->err, &fw);
  if (st)
    return st;
  double *sq = fw.rest;
  for (size_t i = 0; i < fw.n; i++)
    sq[i] = fw.e[i] * fw.e[i];
  Moments mo = moments_of(sq, fw.n);
  acc[ACC_LOSS] = mo.n;
  acc[ACC_LOSS + 1] = mo.mean;
  acc[ACC_LOSS + 2] = mo.m2;
  if (c->stats)
    block_stats(c->p, &fw, c->w, acc);
  if (c->want_grad)
    backward(c->p, c->tau, &fw, acc + ACC_GRAD);
  return RT_OK;
}

static void grad_reduce(void *ctx, const SampleBlock *sb, const double *acc)
{
  GradCtx *c = ctx;
  (void)sb;
  Moments mo = {acc[ACC_LOSS], acc[ACC_LOSS + 1], acc[ACC_LOSS + 2]};
  moments_merge(&c->loss, mo);
  c->hard += acc[ACC_HARD];
  c->mass += acc[ACC_MASS];
  for (size_t i = 0; c->want_grad && i < c->p->ps.np; i++)
    c->grad[i] += acc[ACC_GRAD + i];
}

RtStatus grad_eval(Rt *rt, const GradProblem *p, const double *theta, double tau,
                   uint64_t samples, uint64_t seed, int stats, double w, GradOut *out,
                   double *grad)
{
  memset(out, 0, sizeof *out);
  if (!(tau > 0) || !isfinite(tau))
    return rt_error(rt, RT_EINVAL, "tau = %g; temperatures must be finite and > 0", tau);
  GradCtx c;
  memset(&c, 0, sizeof c);
  c.p = p;
  c.theta = theta;
  c.tau = tau;
  c.w = w;
  c.stats = stats;
  c.want_grad = grad != NULL;
  c.grad = grad;
  for (size_t i = 0; grad && i < p->ps.np; i++)
    grad[i] = 0;
  EstKernel k = {&c, grad_scratch(p, rt->block) * sizeof(double),
                 ACC_GRAD + (grad ? p->ps.np : 0), grad_block, grad_reduce};
  RtStatus st = est_run(rt, &k, samples, seed, &out->done);
  double N = c.loss.n > 0 ? c.loss.n : 1;
  out->loss = c.loss.mean;
  out->loss_se = moments_stderr(&c.loss);
  out->hard = c.hard / N;
  out->mass = c.mass / N;
  for (size_t i = 0; grad && i < p->ps.np; i++)
    grad[i] /= N;
  return st;
}

/* ------------------------------------------------------------ least squares */

typedef struct LsCtx {
  const GradProblem *p;
  double *xx, *xm;       /* running sums: x̃ x̃ᵀ and x̃ m */
} LsCtx;

static RtStatus ls_block(void *ctx, EstThread *th, const SampleBlock *sb, double *acc)
{
  LsCtx *c = ctx;
  const GradProblem *p = c->p;
  size_t n = sb->n;
  int row = p->ps.d + 1;
  double *x = th->scratch, *m = x + (size_t)row * n, *rest = m + n;
  law_sample(p->x, sb, x, n, rest);
  for (size_t i = 0; i < n; i++)
    x[(size_t)p->ps.d * n + i] = 1;
  RtStatus st = target_eval(p->y, n, x, n, m, rest, &th->err);
  if (st)
    return st;
  la_gemm_nt(row, row, (int)n, x, (int)n, x, (int)n, acc, row);
  cblas_dgemv(CblasRowMajor, CblasNoTrans, row, (int)n, 1.0, x, (int)n, m, 1, 0.0,
              acc + (size_t)row * row, 1);
  return RT_OK;
}

static void ls_reduce(void *ctx, const SampleBlock *sb, const double *acc)
{
  LsCtx *c = ctx;
  (void)sb;
  int row = c->p->ps.d + 1;
  for (int i = 0; i < row * row; i++)
    c->xx[i] += acc[i];
  for (int i = 0; i < row; i++)
    c->xm[i] += acc[row * row + i];
}

RtStatus grad_ls_fit(Rt *rt, const GradProblem *p, uint64_t samples, uint64_t seed,
                     double *coef)
{
  int row = p->ps.d + 1;
  size_t n = rt->block;
  double *xx = rt_calloc(rt, (size_t)row * row, sizeof *xx);
  if (!xx)
    return RT_ENOMEM;
  LsCtx c = {p, xx, coef};
  memset(coef, 0, (size_t)row * sizeof *coef);
  size_t rest = max_sz(law_scratch(p->x, n), target_scratch(p->y, n));
  EstKernel k = {&c, ((size_t)(row + 1) * n + rest) * sizeof(double),
                 (size_t)row * row + (size_t)row, ls_block, ls_reduce};
  RtStatus st = est_run(rt, &k, samples, seed, NULL);
  if (!st && LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', row, 1, xx, row, coef, 1) != 0)
    st = rt_error(rt, RT_EINVAL, "the least-squares fit of the target is singular (the law's "
                  "second moments are degenerate)");
  rt_free(rt, xx);
  return st;
}
