/*
 * bi_query.c — the query builtins: argument checking and the call into the
 * runtime; the numbers come from runtime/ (boundary.c, ...).
 */
#include <string.h>

#include "../runtime/align.h"
#include "../runtime/boundary.h"
#include "../runtime/gate.h"
#include "../runtime/hessian.h"
#include "../runtime/iface.h"
#include "../runtime/layer.h"
#include "../runtime/risk.h"
#include "../runtime/law.h"
#include "../runtime/model.h"
#include "bi.h"
#include "lower.h"

/* A router argument may also be a model (its router is meant). */
static Router *router_arg(Call *c, int i)
{
  Value v = c->arg[i];
  return v.kind == V_MODEL ? ((Model *)v.u.p)->router : v.u.p;
}

/* order = j, or k = k (for top-k gates; a model's topk gate gives it by
 * default), or the top-two margin. */
static int margin_spec(Call *c, const Router *r, MarginSpec *ms)
{
  int io = builtin_param(c->b, "order"), ik = builtin_param(c->b, "k");
  ms->hi = 1;
  ms->lo = 2;
  if (io >= 0 && ik >= 0 && arg_given(c, io) && arg_given(c, ik))
    return call_error(c, ik, "give either order or k, not both");
  long j;
  if (io >= 0 && arg_given(c, io)) {
    if (arg_int(c, io, 1, 1, r->K - 1, &j))
      return 1;
    ms->lo = (int)j + 1;
    return 0;
  }
  if (ik >= 0 && arg_given(c, ik)) {
    if (arg_int(c, ik, 1, 1, r->K - 1, &j))
      return 1;
    ms->hi = (int)j;
    ms->lo = (int)j + 1;
    return 0;
  }
  if (c->arg[0].kind == V_MODEL) {
    const Gate *g = ((const Model *)c->arg[0].u.p)->gate;
    if (g->kind == GATE_TOPK && g->k < r->K) {
      ms->hi = g->k;
      ms->lo = g->k + 1;
    }
  }
  return 0;
}

static int check_law_dim(Call *c, const Router *r, int ilaw)
{
  const Law *l = c->arg[ilaw].u.p;
  if (r->dim >= 0 && l->dim != r->dim)
    return call_error(c, ilaw, "the router takes inputs of dimension %d but this law has "
                      "dimension %d", r->dim, l->dim);
  return 0;
}

int bi_margin(Call *c, Value *out)
{
  Router *r = router_arg(c, 0);
  MarginSpec ms;
  const double *pts;
  size_t n, d;
  if (margin_spec(c, r, &ms) || arg_mat(c, 1, &pts, &n, &d))
    return 1;
  if (r->dim >= 0 && (int)d != r->dim)
    return call_error(c, 1, "the point%s %s %zu coordinates but the router takes %d",
                      n == 1 ? "" : "s", n == 1 ? "has" : "have", d, r->dim);
  Result *res;
  if (query_margin(&c->I->rt, r, pts, n, (int)d, ms, &res))
    return call_rt_error(c, -1);
  return call_result(c, res, out);
}

/* Runs a runtime query that may be interrupted: a partial result is kept
 * (and marked), any other failure is an error at the call. */
static int finish(Call *c, RtStatus st, Result *res, Value *out)
{
  if (st && st != RT_EINTR)
    return call_rt_error(c, -1);
  rt_clear(&c->I->rt);
  return call_result(c, res, out);
}

int bi_boundary_mass(Call *c, Value *out)
{
  Router *r = router_arg(c, 0);
  MarginSpec ms;
  QueryArgs q;
  const double *w;
  size_t nw;
  if (check_law_dim(c, r, 1) || margin_spec(c, r, &ms) || arg_query(c, &q) ||
      arg_vec(c, 2, &w, &nw))
    return 1;
  Result *res = NULL;
  RtStatus st = query_boundary_mass(&c->I->rt, r, c->arg[1].u.p, w, (int)nw, ms, &q.o, &res);
  return finish(c, st, res, out);
}

int bi_boundary_density(Call *c, Value *out)
{
  Router *r = router_arg(c, 0);
  MarginSpec ms;
  QueryArgs q;
  if (check_law_dim(c, r, 1) || margin_spec(c, r, &ms) || arg_query(c, &q))
    return 1;
  Result *res = NULL;
  RtStatus st = query_boundary_density(&c->I->rt, r, c->arg[1].u.p, ms, &q.o, &res);
  return finish(c, st, res, out);
}

/* A schedule argument: a schedule, a vector of temperatures or one. */
static int taus(Call *c, int i, const double **tau, size_t *n)
{
  Value v = c->arg[i];
  if (v.kind == V_SCHED) {
    *tau = ((Schedule *)v.u.p)->tau;
    *n = ((Schedule *)v.u.p)->n;
    return 0;
  }
  if (arg_vec(c, i, tau, n))
    return 1;
  if (*n == 0)
    return call_error(c, i, "no temperatures: give at least one tau");
  return 0;
}

int bi_layer(Call *c, Value *out)
{
  Router *r = router_arg(c, 0);
  QueryArgs q;
  MarginSpec ms;
  const double *tau;
  size_t nt;
  if (check_law_dim(c, r, 1) || margin_spec(c, r, &ms) || arg_query(c, &q) ||
      taus(c, 2, &tau, &nt))
    return 1;
  Result *res = NULL;
  RtStatus st = query_layer(&c->I->rt, r, c->arg[1].u.p, tau, nt, ms, &q.o, &res);
  return finish(c, st, res, out);
}

/* The input dimension of a model argument, or -1 when its router is
 * generic (then the law or the points fix it). */
static int model_law_dim(Call *c, int im, int il)
{
  const Model *m = c->arg[im].u.p;
  const Law *l = c->arg[il].u.p;
  if (m->router->dim >= 0 && m->router->dim != l->dim)
    return call_error(c, il, "the model takes inputs of dimension %d but this law has "
                      "dimension %d", m->router->dim, l->dim);
  return 0;
}

int bi_gate(Call *c, Value *out)
{
  const double *pts, *tau;
  size_t n, d, nt;
  if (arg_mat(c, 1, &pts, &n, &d) || taus(c, 2, &tau, &nt))
    return 1;
  Model *m = c->arg[0].u.p;
  if (m->router->dim >= 0 && (int)d != m->router->dim)
    return call_error(c, 1, "the point%s %s %zu coordinates but the model takes %d",
                      n == 1 ? "" : "s", n == 1 ? "has" : "have", d, m->router->dim);
  Result *res;
  if (query_gate(&c->I->rt, m, pts, n, (int)d, tau, nt, &res))
    return call_rt_error(c, -1);
  return call_result(c, res, out);
}

int bi_risk(Call *c, Value *out)
{
  QueryArgs q;
  const double *tau;
  size_t nt;
  if (model_law_dim(c, 0, 2) || arg_query(c, &q) || taus(c, 3, &tau, &nt))
    return 1;
  Result *res = NULL;
  RtStatus st = query_risk(&c->I->rt, c->arg[0].u.p, c->arg[1].u.p, c->arg[2].u.p, tau, nt,
                           &q.o, &res);
  return finish(c, st, res, out);
}

int bi_kappa(Call *c, Value *out)
{
  QueryArgs q;
  if (model_law_dim(c, 0, 2) || arg_query(c, &q))
    return 1;
  Result *res = NULL;
  RtStatus st = query_kappa(&c->I->rt, c->arg[0].u.p, c->arg[1].u.p, c->arg[2].u.p, &q.o, &res);
  return finish(c, st, res, out);
}

/* The f of interface_integral: an expert, a one-parameter fn, or a
 * number (a constant function). */
static int function_arg(Call *c, int i, int dim, Expert **f)
{
  Value v = c->arg[i];
  if (v.kind == V_EXPERT) {
    *f = expert_ref(v.u.p);
    return 0;
  }
  if (v.kind == V_FUNC)
    return lower_fn_expert(c->I, as_func(v)->def, c->arg_expr[i], f);
  double *zero = rt_calloc(&c->I->rt, (size_t)dim, sizeof *zero);
  RtStatus st = zero ? expert_affine(&c->I->rt, dim, zero, v.u.num, f) : RT_ENOMEM;
  rt_free(&c->I->rt, zero);
  return st ? call_rt_error(c, i) : 0;
}

int bi_interface_integral(Call *c, Value *out)
{
  Router *r = router_arg(c, 0);
  QueryArgs q;
  Expert *f;
  const Law *l = c->arg[1].u.p;
  if (check_law_dim(c, r, 1) || arg_query(c, &q) || function_arg(c, 2, l->dim, &f))
    return 1;
  Result *res = NULL;
  RtStatus st = query_interface(&c->I->rt, r, l, f, &q.o, &res);
  expert_unref(&c->I->rt, f);
  return finish(c, st, res, out);
}

/* A target's input dimension against the law's (a teacher or a compiled
 * expression has one; a generic expression fits any). */
static int target_law_dim(Call *c, int it, int il)
{
  const Target *y = c->arg[it].u.p;
  const Law *l = c->arg[il].u.p;
  if (y->dim >= 0 && y->dim != l->dim)
    return call_error(c, it, "the %s takes inputs of dimension %d but the law has dimension %d",
                      y->kind == TARGET_TEACHER ? "teacher" : "target", y->dim, l->dim);
  return 0;
}

int bi_hessian(Call *c, Value *out)
{
  QueryArgs q;
  double tau;
  if (model_law_dim(c, 0, 2) || target_law_dim(c, 1, 2) || arg_query(c, &q) ||
      arg_num(c, 3, 0, &tau))
    return 1;
  if (!(tau > 0))
    return call_error(c, 3, "tau must be > 0 (got %g)", tau);
  Result *res = NULL;
  RtStatus st = query_hessian(&c->I->rt, c->arg[0].u.p, c->arg[1].u.p, c->arg[2].u.p, tau,
                              &q.o, &res);
  return finish(c, st, res, out);
}

int bi_alignment(Call *c, Value *out)
{
  QueryArgs q;
  int il = builtin_param(c->b, "law");
  const Law *law = arg_given(c, il) ? c->arg[il].u.p : NULL;
  if (arg_query(c, &q))
    return 1;
  Result *res = NULL;
  RtStatus st = query_alignment(&c->I->rt, c->arg[0].u.p, c->arg[1].u.p, law, &q.o, &res);
  if (st && st != RT_EINTR) {
    const char *m = c->I->rt.msg;
    int at = strstr(m, "teacher") && !strstr(m, "model") ? 1 : strstr(m, "the law") ? il : -1;
    return call_rt_error(c, at);
  }
  return finish(c, st, res, out);
}
