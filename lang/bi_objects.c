/*
 * bi_objects.c — constructors of laws, routers, experts, targets, models,
 * gates and schedules.  Shapes are checked here, where the message can
 * name the parameter; numeric validity (positive definiteness, K >= 2,
 * tau > 0) is checked by the runtime, whose message the caller positions.
 */
#include <math.h>
#include <string.h>

#include "../runtime/datafile.h"
#include "../runtime/law.h"
#include "../runtime/model.h"
#include "../runtime/router.h"
#include "bi.h"

/* Runs a runtime constructor's status through the call's error path. */
static int rt_check(Call *c, RtStatus st, int at)
{
  return st ? call_rt_error(c, at) : 0;
}

/* A vector parameter of length d: a number is repeated d times. */
static int vec_of_dim(Call *c, int i, long d, double *dst)
{
  const double *v;
  size_t n;
  if (arg_vec(c, i, &v, &n))
    return 1;
  if (c->arg[i].kind == V_NUM) {
    for (long j = 0; j < d; j++)
      dst[j] = v[0];
    return 0;
  }
  if ((long)n != d)
    return call_error(c, i, "'%s' has %zu entries but the dimension is %ld",
                      c->b->params[i].name, n, d);
  memcpy(dst, v, n * sizeof *v);
  return 0;
}

/* The dimension of a normal law: from dim, else the mean's length, else the
 * covariance's size; all given ones must agree. */
static int normal_dim(Call *c, long *d)
{
  long from_dim = -1, from_mean = -1, from_cov = -1;
  if (arg_given(c, 2) && arg_int(c, 2, 0, 1, 100000, &from_dim))
    return 1;
  if (arg_given(c, 0) && c->arg[0].kind == V_VEC)
    from_mean = (long)as_vec(c->arg[0])->n;
  if (arg_given(c, 1) && c->arg[1].kind == V_MAT) {
    const VMat *m = as_mat(c->arg[1]);
    if (m->rows != m->cols)
      return call_error(c, 1, "the covariance must be square, not %zu×%zu", m->rows, m->cols);
    from_cov = (long)m->rows;
  }
  *d = from_dim > 0 ? from_dim : from_mean > 0 ? from_mean : from_cov;
  if (*d <= 0)
    return call_error(c, -1, "normal() needs its dimension: give dim, mean or cov");
  if (from_mean > 0 && from_mean != *d)
    return call_error(c, 0, "the mean has %ld entries but the dimension is %ld", from_mean, *d);
  if (from_cov > 0 && from_cov != *d)
    return call_error(c, 1, "the covariance is %ld×%ld but the dimension is %ld", from_cov,
                      from_cov, *d);
  return 0;
}

int bi_normal(Call *c, Value *out)
{
  long d = 0;
  if (normal_dim(c, &d))
    return 1;
  Rt *rt = &c->I->rt;
  double *mean = rt_calloc(rt, (size_t)d, sizeof *mean);
  double *cov = arg_given(c, 1) && c->arg[1].kind == V_MAT
                    ? rt_calloc(rt, (size_t)d * d, sizeof *cov) : rt_calloc(rt, 1, sizeof *cov);
  int err = !mean || !cov ? call_rt_error(c, -1) : 0;
  if (!err && arg_given(c, 0))
    err = vec_of_dim(c, 0, d, mean);
  /* No cov, or a number: the identity times a variance, stored implicitly. */
  int iso = !arg_given(c, 1) || c->arg[1].kind == V_NUM;
  double var = arg_given(c, 1) && c->arg[1].kind == V_NUM ? c->arg[1].u.num : 1;
  if (!err && !iso)
    memcpy(cov, as_mat(c->arg[1])->v, (size_t)d * d * sizeof *cov);
  if (!err) {
    StrBuf what;
    sb_init(&what, rt);
    sb_puts(&what, "the covariance of ");
    call_what(c, &what, "law");
    Law *l;
    RtStatus st = iso ? law_normal_iso(rt, (int)d, mean, var, &l)
                      : law_normal(rt, (int)d, mean, cov, sb_str(&what), &l);
    err = rt_check(c, st, 1);
    sb_free(&what);
    if (st == RT_EINVAL && strstr(c->I->diags.n ? c->I->diags.v[c->I->diags.n - 1].msg : "",
                                  "not positive definite"))
      diag_hint(&c->I->diags, "a normal law needs a symmetric positive definite covariance; "
                "for a degenerate (singular) law, drop the redundant coordinates or add a "
                "small variance");
    if (!err)
      *out = val_obj(V_LAW, l);
  }
  rt_free(rt, mean);
  rt_free(rt, cov);
  return err;
}

int bi_uniform(Call *c, Value *out)
{
  long d = -1;
  if (arg_given(c, 2) && arg_int(c, 2, 0, 1, 100000, &d))
    return 1;
  for (int i = 0; i < 2 && d < 0; i++)
    if (c->arg[i].kind == V_VEC)
      d = (long)as_vec(c->arg[i])->n;
  if (d < 1)
    d = 1;
  Rt *rt = &c->I->rt;
  double *lo = rt_array(rt, (size_t)d, sizeof *lo), *hi = rt_array(rt, (size_t)d, sizeof *hi);
  int err = !lo || !hi ? call_rt_error(c, -1) : 0;
  if (!err)
    err = vec_of_dim(c, 0, d, lo) || vec_of_dim(c, 1, d, hi);
  Law *l;
  if (!err && !(err = rt_check(c, law_uniform(rt, (int)d, lo, hi, &l), -1)))
    *out = val_obj(V_LAW, l);
  rt_free(rt, lo);
  rt_free(rt, hi);
  return err;
}

int bi_mixture(Call *c, Value *out)
{
  const VList *of = as_list(c->arg[1]);
  const double *w;
  size_t nw;
  if (arg_vec(c, 0, &w, &nw))
    return 1;
  if (nw != of->n)
    return call_error(c, 0, "%zu weight%s for %zu law%s: give one weight per law", nw,
                      nw == 1 ? "" : "s", of->n, of->n == 1 ? "" : "s");
  for (size_t i = 0; i < of->n; i++)
    if (of->v[i].kind != V_LAW)
      return call_error(c, 1, "item %zu of 'of' is %s, not a law", i,
                        kind_article(of->v[i].kind));
  Rt *rt = &c->I->rt;
  Law **comps = rt_calloc(rt, of->n ? of->n : 1, sizeof *comps);
  if (!comps)
    return call_rt_error(c, -1);
  for (size_t i = 0; i < of->n; i++)
    comps[i] = of->v[i].u.p;
  Law *l;
  int err = rt_check(c, law_mixture(rt, (int)of->n, w, comps, &l), -1);
  rt_free(rt, comps);
  if (!err)
    *out = val_obj(V_LAW, l);
  return err;
}

int bi_empirical(Call *c, Value *out)
{
  const char *path;
  int replace;
  if (arg_str(c, 0, &path) || arg_bool(c, 1, 1, &replace) || arg_file_allowed(c, 0, path))
    return 1;
  DataMatrix m;
  if (data_load(&c->I->rt, path, &m))
    return call_rt_error(c, 0);
  Law *l;
  RtStatus st = law_empirical(&c->I->rt, &m, replace, &l);
  data_free(&c->I->rt, &m);
  if (st)
    return call_rt_error(c, 0);
  *out = val_obj(V_LAW, l);
  return 0;
}

int bi_linear_router(Call *c, Value *out)
{
  const double *W, *b = NULL;
  size_t K, d, nb = 0;
  if (arg_mat(c, 0, &W, &K, &d))
    return 1;
  if (arg_given(c, 1)) {
    if (arg_vec(c, 1, &b, &nb))
      return 1;
    if (nb != K)
      return call_error(c, 1, "b has %zu entries but W has %zu rows (one per expert)", nb, K);
  }
  if (K < 2)
    return call_error(c, 0, "a router needs K >= 2 experts, but W has %zu row%s", K,
                      K == 1 ? "" : "s");
  if (d < 1)
    return call_error(c, 0, "W has no columns");
  Router *r;
  if (rt_check(c, router_linear(&c->I->rt, (int)K, (int)d, W, b, &r), 0))
    return 1;
  *out = val_obj(V_ROUTER, r);
  return 0;
}

int bi_affine(Call *c, Value *out)
{
  const double *beta;
  size_t n;
  double c0;
  if (arg_vec(c, 0, &beta, &n) || arg_num(c, 1, 0, &c0))
    return 1;
  if (n == 0)
    return call_error(c, 0, "beta is empty: an affine expert needs one coefficient per input");
  Expert *e;
  if (rt_check(c, expert_affine(&c->I->rt, (int)n, beta, c0, &e), 0))
    return 1;
  *out = val_obj(V_EXPERT, e);
  return 0;
}

/* The experts of a list argument, borrowed from the list. */
static int expert_list(Call *c, int i, Expert ***out, int *n)
{
  const VList *l = as_list(c->arg[i]);
  for (size_t k = 0; k < l->n; k++)
    if (l->v[k].kind != V_EXPERT)
      return call_error(c, i, "item %zu of 'experts' is %s, not an expert", k,
                        kind_article(l->v[k].kind));
  *out = rt_calloc(&c->I->rt, l->n ? l->n : 1, sizeof **out);
  if (!*out)
    return call_rt_error(c, -1);
  for (size_t k = 0; k < l->n; k++)
    (*out)[k] = l->v[k].u.p;
  *n = (int)l->n;
  return 0;
}

int bi_teacher(Call *c, Value *out)
{
  Expert **ex;
  int n;
  if (expert_list(c, 1, &ex, &n))
    return 1;
  Target *t;
  int err = rt_check(c, target_teacher(&c->I->rt, c->arg[0].u.p, n, ex, 0, &t), 1);
  rt_free(&c->I->rt, ex);
  if (!err)
    *out = val_obj(V_TARGET, t);
  return err;
}

int bi_moe(Call *c, Value *out)
{
  Expert **ex;
  int n;
  if (expert_list(c, 1, &ex, &n))
    return 1;
  Gate *g = arg_given(c, 2) ? gate_ref(c->arg[2].u.p) : NULL;
  int err = 0;
  if (!g)
    err = rt_check(c, gate_new(&c->I->rt, GATE_SOFTMAX, 0, &g), -1);
  Model *m;
  if (!err && !(err = rt_check(c, model_new(&c->I->rt, c->arg[0].u.p, n, ex, g, &m), 1)))
    *out = val_obj(V_MODEL, m);
  gate_unref(&c->I->rt, g);
  rt_free(&c->I->rt, ex);
  return err;
}

int bi_softmax(Call *c, Value *out)
{
  Gate *g;
  if (rt_check(c, gate_new(&c->I->rt, GATE_SOFTMAX, 0, &g), -1))
    return 1;
  *out = val_obj(V_GATE, g);
  return 0;
}

int bi_topk(Call *c, Value *out)
{
  long k;
  if (arg_int(c, 0, 1, 1, 1000000, &k))
    return 1;
  Gate *g;
  if (rt_check(c, gate_new(&c->I->rt, GATE_TOPK, (int)k, &g), 0))
    return 1;
  *out = val_obj(V_GATE, g);
  return 0;
}

/* ------------------------------------------------------------ schedules */

typedef double (*SchedFn)(double from, double to, double t, double last);

static double sched_geometric(double a, double b, double t, double last)
{
  return last > 0 ? a * pow(b / a, t / last) : a;
}

static double sched_linear(double a, double b, double t, double last)
{
  return last > 0 ? a + (b - a) * (t / last) : a;
}

static double sched_cosine(double a, double b, double t, double last)
{
  return last > 0 ? b + (a - b) * 0.5 * (1 + cos(M_PI * t / last)) : a;
}

static double sched_exponential(double a, double rate, double t, double last)
{
  (void)last;
  return a * exp(-rate * t);
}

static double sched_inverse(double a, double rate, double t, double last)
{
  (void)last;
  return a / (1 + rate * t);
}

static int family(Call *c, SchedFn f, int endpoints, Value *out)
{
  double from, to;
  long steps;
  if (arg_num(c, 0, 0, &from) || arg_num(c, 1, 0, &to) ||
      arg_int(c, 2, 0, 1, 100000000, &steps))
    return 1;
  if (!(from > 0))
    return call_error(c, 0, "'from' must be > 0 (it is a temperature), not %g", from);
  if (endpoints && !(to > 0))
    return call_error(c, 1, "'to' must be > 0 (it is a temperature), not %g", to);
  if (!endpoints && !(to >= 0))
    return call_error(c, 1, "'rate' must be >= 0, not %g", to);
  Rt *rt = &c->I->rt;
  double *tau = rt_array(rt, (size_t)steps, sizeof *tau);
  if (!tau)
    return call_rt_error(c, -1);
  for (long i = 0; i < steps; i++)
    tau[i] = f(from, to, (double)i, (double)(steps - 1));
  Schedule *s;
  int err = rt_check(c, schedule_new(rt, tau, (size_t)steps, &s), -1);
  rt_free(rt, tau);
  if (!err)
    *out = val_obj(V_SCHED, s);
  return err;
}

int bi_geometric(Call *c, Value *out) { return family(c, sched_geometric, 1, out); }
int bi_linear_sched(Call *c, Value *out) { return family(c, sched_linear, 1, out); }
int bi_cosine(Call *c, Value *out) { return family(c, sched_cosine, 1, out); }
int bi_exponential(Call *c, Value *out) { return family(c, sched_exponential, 0, out); }
int bi_inverse(Call *c, Value *out) { return family(c, sched_inverse, 0, out); }
