/*
 * model.c — building and releasing experts, targets, gates, models and
 * schedules (see model.h).
 */
#include "model.h"

#include <math.h>
#include <string.h>

RtStatus expert_affine(Rt *rt, int dim, const double *beta, double c, Expert **out)
{
  *out = NULL;
  for (int j = 0; j < dim; j++)
    if (!isfinite(beta[j]))
      return rt_error(rt, RT_EINVAL, "beta[%d] is %g; expert coefficients must be finite", j,
                      beta[j]);
  if (!isfinite(c))
    return rt_error(rt, RT_EINVAL, "c is %g; expert coefficients must be finite", c);
  Expert *e = rt_calloc(rt, 1, sizeof *e);
  double *b = rt_array(rt, (size_t)(dim > 0 ? dim : 1), sizeof *b);
  if (!e || !b) {
    rt_free(rt, e);
    rt_free(rt, b);
    return RT_ENOMEM;
  }
  memcpy(b, beta, (size_t)dim * sizeof *b);
  e->refs = 1;
  e->kind = EXPERT_AFFINE;
  e->dim = dim;
  e->beta = b;
  e->c = c;
  *out = e;
  return RT_OK;
}

RtStatus expert_fn(Rt *rt, BlockFn *fn, Expert **out)
{
  *out = NULL;
  if (fn->out_dim != 1)
    return rt_error(rt, RT_EINVAL, "an expert must return a number, not a vector of %d",
                    fn->out_dim);
  Expert *e = rt_calloc(rt, 1, sizeof *e);
  if (!e)
    return RT_ENOMEM;
  e->refs = 1;
  e->kind = EXPERT_FN;
  e->dim = fn->in_dim;
  e->fn = blockfn_ref(fn);
  *out = e;
  return RT_OK;
}

Expert *expert_ref(Expert *e)
{
  if (e)
    e->refs++;
  return e;
}

void expert_unref(Rt *rt, Expert *e)
{
  if (!e || --e->refs > 0)
    return;
  rt_free(rt, e->beta);
  blockfn_unref(rt, e->fn);
  rt_free(rt, e);
}

static RtStatus check_noise(Rt *rt, double noise)
{
  if (!(noise >= 0) || !isfinite(noise))
    return rt_error(rt, RT_EINVAL, "noise = %g; the noise standard deviation must be >= 0",
                    noise);
  return RT_OK;
}

RtStatus target_fn(Rt *rt, BlockFn *fn, double noise, Target **out)
{
  *out = NULL;
  RtStatus st = check_noise(rt, noise);
  if (st)
    return st;
  if (fn->out_dim != 1)
    return rt_error(rt, RT_EINVAL, "a target must return a number, not a vector of %d",
                    fn->out_dim);
  Target *t = rt_calloc(rt, 1, sizeof *t);
  if (!t)
    return RT_ENOMEM;
  t->refs = 1;
  t->kind = TARGET_FN;
  t->dim = fn->in_dim;
  t->fn = blockfn_ref(fn);
  t->noise = noise;
  *out = t;
  return RT_OK;
}

static RtStatus check_experts(Rt *rt, const Router *r, int nexp, Expert *const *ex,
                              const char *what)
{
  if (nexp != r->K)
    return rt_error(rt, RT_EINVAL, "%s has %d experts but its router has K = %d logits", what,
                    nexp, r->K);
  for (int i = 0; i < nexp; i++)
    if (ex[i]->dim >= 0 && r->dim >= 0 && ex[i]->dim != r->dim)
      return rt_error(rt, RT_EINVAL,
                      "expert %d of %s takes inputs of dimension %d but the router takes %d",
                      i, what, ex[i]->dim, r->dim);
  return RT_OK;
}

/* The experts for a router: generic expression experts are compiled for a
 * router of fixed dimension right away, so a mismatch shows when the model
 * is built rather than when it first runs. */
static Expert **copy_experts(Rt *rt, const Router *r, int n, Expert *const *ex)
{
  Expert **v = rt_calloc(rt, (size_t)n, sizeof *v);
  for (int i = 0; v && i < n; i++) {
    if (r->dim >= 0 && ex[i]->dim != r->dim && expert_at_dim(rt, ex[i], r->dim, &v[i])) {
      for (int j = 0; j < i; j++)
        expert_unref(rt, v[j]);
      rt_free(rt, v);
      return NULL;
    }
    if (!v[i])
      v[i] = expert_ref(ex[i]);
  }
  return v;
}

RtStatus target_teacher(Rt *rt, Router *r, int nexp, Expert *const *experts, double noise,
                        Target **out)
{
  *out = NULL;
  RtStatus st = check_noise(rt, noise);
  if (!st)
    st = check_experts(rt, r, nexp, experts, "the teacher");
  if (st)
    return st;
  Expert **v = copy_experts(rt, r, nexp, experts);
  if (!v)
    return rt->status ? rt->status : RT_ENOMEM;
  Target *t = rt_calloc(rt, 1, sizeof *t);
  if (!t) {
    for (int i = 0; i < nexp; i++)
      expert_unref(rt, v[i]);
    rt_free(rt, v);
    return RT_ENOMEM;
  }
  t->refs = 1;
  t->kind = TARGET_TEACHER;
  t->dim = r->dim;
  t->router = router_ref(r);
  t->nexp = nexp;
  t->experts = v;
  t->noise = noise;
  *out = t;
  return RT_OK;
}

RtStatus target_with_noise(Rt *rt, const Target *t, double noise, Target **out)
{
  if (t->kind == TARGET_TEACHER)
    return target_teacher(rt, t->router, t->nexp, t->experts, noise, out);
  return target_fn(rt, t->fn, noise, out);
}

Target *target_ref(Target *t)
{
  if (t)
    t->refs++;
  return t;
}

void target_unref(Rt *rt, Target *t)
{
  if (!t || --t->refs > 0)
    return;
  blockfn_unref(rt, t->fn);
  router_unref(rt, t->router);
  for (int i = 0; i < t->nexp; i++)
    expert_unref(rt, t->experts[i]);
  rt_free(rt, t->experts);
  rt_free(rt, t);
}

RtStatus gate_new(Rt *rt, GateKind kind, int k, Gate **out)
{
  *out = NULL;
  if (kind == GATE_TOPK && k < 1)
    return rt_error(rt, RT_EINVAL, "topk(k) needs k >= 1 (got %d)", k);
  Gate *g = rt_calloc(rt, 1, sizeof *g);
  if (!g)
    return RT_ENOMEM;
  g->refs = 1;
  g->kind = kind;
  g->k = k;
  *out = g;
  return RT_OK;
}

Gate *gate_ref(Gate *g)
{
  if (g)
    g->refs++;
  return g;
}

void gate_unref(Rt *rt, Gate *g)
{
  if (g && --g->refs == 0)
    rt_free(rt, g);
}

RtStatus model_new(Rt *rt, Router *r, int nexp, Expert *const *experts, Gate *g,
                   Model **out)
{
  *out = NULL;
  RtStatus st = check_experts(rt, r, nexp, experts, "the model");
  if (st)
    return st;
  if (g->kind == GATE_TOPK && g->k > r->K)
    return rt_error(rt, RT_EINVAL, "topk(%d) keeps more experts than the model has (K = %d)",
                    g->k, r->K);
  Expert **v = copy_experts(rt, r, nexp, experts);
  if (!v)
    return rt->status ? rt->status : RT_ENOMEM;
  Model *m = rt_calloc(rt, 1, sizeof *m);
  if (!m) {
    for (int i = 0; i < nexp; i++)
      expert_unref(rt, v[i]);
    rt_free(rt, v);
    return RT_ENOMEM;
  }
  m->refs = 1;
  m->router = router_ref(r);
  m->nexp = nexp;
  m->experts = v;
  m->gate = gate_ref(g);
  *out = m;
  return RT_OK;
}

Model *model_ref(Model *m)
{
  if (m)
    m->refs++;
  return m;
}

void model_unref(Rt *rt, Model *m)
{
  if (!m || --m->refs > 0)
    return;
  router_unref(rt, m->router);
  for (int i = 0; i < m->nexp; i++)
    expert_unref(rt, m->experts[i]);
  rt_free(rt, m->experts);
  gate_unref(rt, m->gate);
  rt_free(rt, m);
}

RtStatus schedule_new(Rt *rt, const double *tau, size_t n, Schedule **out)
{
  *out = NULL;
  if (n == 0)
    return rt_error(rt, RT_EINVAL, "a schedule needs at least one temperature");
  for (size_t i = 0; i < n; i++)
    if (!(tau[i] > 0) || !isfinite(tau[i]))
      return rt_error(rt, RT_EINVAL,
                      "step %zu of the schedule has tau = %g; every tau must be finite and > 0",
                      i, tau[i]);
  Schedule *s = rt_calloc(rt, 1, sizeof *s);
  double *v = rt_array(rt, n, sizeof *v);
  if (!s || !v) {
    rt_free(rt, s);
    rt_free(rt, v);
    return RT_ENOMEM;
  }
  memcpy(v, tau, n * sizeof *v);
  s->refs = 1;
  s->n = n;
  s->tau = v;
  *out = s;
  return RT_OK;
}

Schedule *schedule_ref(Schedule *s)
{
  if (s)
    s->refs++;
  return s;
}

void schedule_unref(Rt *rt, Schedule *s)
{
  if (!s || --s->refs > 0)
    return;
  rt_free(rt, s->tau);
  rt_free(rt, s);
}

/* ------------------------------------------------------------ dimensions */

RtStatus expert_at_dim(Rt *rt, Expert *e, int dim, Expert **out)
{
  *out = NULL;
  if (e->dim == dim || (e->kind == EXPERT_AFFINE && e->dim == dim)) {
    *out = expert_ref(e);
    return RT_OK;
  }
  if (e->kind == EXPERT_AFFINE)
    return rt_error(rt, RT_EINVAL,
                    "an affine expert with %d coefficients cannot take inputs of dimension %d",
                    e->dim, dim);
  BlockFn *f;
  RtStatus st = blockfn_at_dim(rt, e->fn, dim, &f);
  if (st)
    return st;
  st = expert_fn(rt, f, out);
  blockfn_unref(rt, f);
  return st;
}

static RtStatus experts_at_dim(Rt *rt, int n, Expert *const *in, int dim, Expert ***out)
{
  Expert **v = rt_calloc(rt, (size_t)n, sizeof *v);
  if (!v)
    return RT_ENOMEM;
  RtStatus st = RT_OK;
  for (int i = 0; i < n && !st; i++)
    st = expert_at_dim(rt, in[i], dim, &v[i]);
  if (st) {
    for (int i = 0; i < n; i++)
      expert_unref(rt, v[i]);
    rt_free(rt, v);
    return st;
  }
  *out = v;
  return RT_OK;
}

static void experts_free(Rt *rt, int n, Expert **v)
{
  for (int i = 0; i < n; i++)
    expert_unref(rt, v[i]);
  rt_free(rt, v);
}

RtStatus target_at_dim(Rt *rt, Target *t, int dim, Target **out)
{
  *out = NULL;
  if (t->dim == dim) {
    *out = target_ref(t);
    return RT_OK;
  }
  RtStatus st;
  if (t->kind == TARGET_FN) {
    BlockFn *f;
    if ((st = blockfn_at_dim(rt, t->fn, dim, &f)))
      return st;
    st = target_fn(rt, f, t->noise, out);
    blockfn_unref(rt, f);
    return st;
  }
  Router *r;
  Expert **ex;
  if ((st = router_at_dim(rt, t->router, dim, &r)))
    return st;
  if (!(st = experts_at_dim(rt, t->nexp, t->experts, dim, &ex))) {
    st = target_teacher(rt, r, t->nexp, ex, t->noise, out);
    experts_free(rt, t->nexp, ex);
  }
  router_unref(rt, r);
  return st;
}

int model_dim(const Model *m) { return m->router->dim; }

RtStatus model_at_dim(Rt *rt, Model *m, int dim, Model **out)
{
  *out = NULL;
  int fixed = m->router->dim == dim;
  for (int i = 0; fixed && i < m->nexp; i++)
    fixed = m->experts[i]->dim == dim;
  if (fixed) {
    *out = model_ref(m);
    return RT_OK;
  }
  Router *r;
  Expert **ex;
  RtStatus st = router_at_dim(rt, m->router, dim, &r);
  if (st)
    return st;
  if (!(st = experts_at_dim(rt, m->nexp, m->experts, dim, &ex))) {
    st = model_new(rt, r, m->nexp, ex, m->gate, out);
    experts_free(rt, m->nexp, ex);
  }
  router_unref(rt, r);
  return st;
}

/* ------------------------------------------------------------ evaluation */

size_t expert_scratch(const Expert *e, size_t n)
{
  return e->kind == EXPERT_FN ? blockfn_scratch(e->fn, n) : 0;
}

RtStatus expert_eval(const Expert *e, size_t n, const double *x, size_t ldx, double *out,
                     double *scratch, BlockErr *err)
{
  if (e->kind == EXPERT_FN)
    return e->fn->eval(e->fn, n, x, ldx, out, n, scratch, err);
  for (size_t i = 0; i < n; i++)
    out[i] = e->c;
  for (int j = 0; j < e->dim; j++) {
    double b = e->beta[j];
    const double *xj = x + (size_t)j * ldx;
    for (size_t i = 0; b != 0 && i < n; i++)
      out[i] += b * xj[i];
  }
  return RT_OK;
}

/* A teacher needs its logits (K×n), its hard choice (n) and one expert's
 * values at a time (n), plus what its router and experts need. */
size_t target_scratch(const Target *t, size_t n)
{
  if (t->kind == TARGET_FN)
    return blockfn_scratch(t->fn, n);
  size_t most = router_scratch(t->router, n);
  for (int k = 0; k < t->nexp; k++) {
    size_t s = expert_scratch(t->experts[k], n);
    most = s > most ? s : most;
  }
  return (size_t)(t->nexp + 2) * n + most;
}

RtStatus target_eval(const Target *t, size_t n, const double *x, size_t ldx, double *out,
                     double *scratch, BlockErr *err)
{
  if (t->kind == TARGET_FN)
    return t->fn->eval(t->fn, n, x, ldx, out, n, scratch, err);
  int K = t->nexp;
  double *a = scratch, *val = a + (size_t)K * n, *pick = val + n, *rest = pick + n;
  RtStatus st = router_logits(t->router, n, x, ldx, a, n, rest, err);
  if (st)
    return st;
  /* Hard routing: the first logit attaining the maximum wins. */
  for (size_t i = 0; i < n; i++)
    pick[i] = 0;
  for (int k = 1; k < K; k++) {
    double *best = val;    /* reused: the running maximum */
    if (k == 1)
      memcpy(best, a, n * sizeof *best);
    for (size_t i = 0; i < n; i++)
      if (a[(size_t)k * n + i] > best[i]) {
        best[i] = a[(size_t)k * n + i];
        pick[i] = k;
      }
  }
  for (int k = 0; k < K && !st; k++) {
    st = expert_eval(t->experts[k], n, x, ldx, val, rest, err);
    for (size_t i = 0; !st && i < n; i++)
      if (pick[i] == k)
        out[i] = val[i];
  }
  return st;
}
