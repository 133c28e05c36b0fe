/*
 * train.c — the training loop: initialisation, one gradient evaluation per
 * step on that step's batch, the SGD or Adam update, divergence checks and
 * the log (see train.h).
 */
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "boundary.h"
#include "grad.h"
#include "rng.h"

void train_opts_init(TrainOpts *o)
{
  memset(o, 0, sizeof *o);
  o->batch = 8192;
  o->lr = 0.01;
  o->opt = OPT_ADAM;
  o->beta1 = 0.9;
  o->beta2 = 0.999;
  o->eps = 1e-8;
  o->init = INIT_KEEP;
  o->init_scale = 0.1;
  o->init_samples = 1000000;
  o->w = 0.01;
}

int train_optimizer_parse(const char *s)
{
  if (strcmp(s, "sgd") == 0)
    return OPT_SGD;
  if (strcmp(s, "adam") == 0)
    return OPT_ADAM;
  return -1;
}

int train_init_parse(const char *s)
{
  if (strcmp(s, "zeros") == 0)
    return INIT_ZEROS;
  if (strcmp(s, "normal") == 0)
    return INIT_NORMAL;
  if (strcmp(s, "symmetric") == 0)
    return INIT_SYMMETRIC;
  return -1;
}

/* splitmix64's finaliser: a bijection that scatters nearby inputs. */
static uint64_t mix64(uint64_t z)
{
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Tags that keep the streams of steps, the fixed sample, the initialisation
 * and the least-squares fit apart from each other and from the queries'
 * own (which use the seed itself). */
#define TAG_STEP 0x7472616e00000000ull     /* "tran" */
#define TAG_FIXED 0x6669786564000000ull
#define TAG_INIT 0x696e697400000000ull
#define TAG_LS 0x6c73666974000000ull

uint64_t train_step_seed(uint64_t seed, uint64_t t, int fixed)
{
  return mix64(seed ^ mix64(fixed ? TAG_FIXED : TAG_STEP + t));
}

/* ------------------------------------------------------------ checks */

static RtStatus check_opts(Rt *rt, const TrainOpts *o)
{
  if (o->ntau == 0)
    return rt_error(rt, RT_EINVAL, "the schedule has no temperatures");
  for (size_t i = 0; i < o->ntau; i++)
    if (!(o->tau[i] > 0) || !isfinite(o->tau[i]))
      return rt_error(rt, RT_EINVAL, "tau = %g at step %zu of the schedule; temperatures must "
                      "be finite and > 0", o->tau[i], i);
  if (o->steps < 1)
    return rt_error(rt, RT_EINVAL, "steps must be >= 1");
  if (o->batch < 2)
    return rt_error(rt, RT_EINVAL, "batch must be >= 2 (the risk's standard error needs two "
                    "samples)");
  if (!(o->lr > 0) || !isfinite(o->lr))
    return rt_error(rt, RT_EINVAL, "lr = %g; the learning rate must be finite and > 0", o->lr);
  if (!(o->w > 0) || !isfinite(o->w))
    return rt_error(rt, RT_EINVAL, "w = %g; the boundary width must be finite and > 0", o->w);
  if (!(o->init_scale >= 0) || !isfinite(o->init_scale))
    return rt_error(rt, RT_EINVAL, "init_scale = %g; it must be finite and >= 0", o->init_scale);
  return RT_OK;
}

/* ------------------------------------------------------------ initialisation */

static void add_noise(const TrainOpts *o, double *theta, size_t np, double *tmp)
{
  if (o->init_scale == 0)
    return;
  RngStream s;
  rng_init(&s, mix64(o->seed ^ TAG_INIT), 0, 0);
  rng_normal(&s, tmp, np);
  for (size_t i = 0; i < np; i++)
    theta[i] += o->init_scale * tmp[i];
}

/* θ from another model with the same parametric parts. */
static RtStatus theta_from_model(Rt *rt, const GradProblem *p, const TrainOpts *o, double *theta)
{
  GradProblem q;
  RtStatus st = grad_problem_init(rt, &q, o->init_from, p->y, p->x);
  if (st == RT_ENOMEM)
    return st;
  if (st) {
    rt_clear(rt);
    return rt_error(rt, RT_EINVAL, "init: the model given as init has no parametric parts of "
                    "this dimension");
  }
  int same = q.ps.K == p->ps.K && q.ps.router == p->ps.router && q.ps.naff == p->ps.naff;
  for (int k = 0; same && k < p->ps.K; k++)
    same = q.ps.row_of[k] == p->ps.row_of[k];
  if (same)
    grad_theta_get(&q, theta);
  grad_problem_free(rt, &q);
  if (!same)
    return rt_error(rt, RT_EINVAL, "init: the model given as init does not have the same "
                    "parametric parts (K, a linear router, which experts are affine)");
  return RT_OK;
}

static RtStatus init_theta(Rt *rt, const GradProblem *p, const TrainOpts *o, double *theta,
                           double *tmp)
{
  const ParamSet *ps = &p->ps;
  size_t np = ps->np, row = (size_t)ps->d + 1;
  RtStatus st = RT_OK;
  switch (o->init) {
  case INIT_KEEP:
    grad_theta_get(p, theta);
    return RT_OK;
  case INIT_MODEL:
    return theta_from_model(rt, p, o, theta);
  case INIT_ZEROS:
  case INIT_NORMAL:
    memset(theta, 0, np * sizeof *theta);
    if (o->init == INIT_NORMAL)
      add_noise(o, theta, np, tmp);
    return RT_OK;
  case INIT_SYMMETRIC:
    memset(theta, 0, np * sizeof *theta);
    if (ps->naff)
      st = grad_ls_fit(rt, p, o->init_samples, mix64(o->seed ^ TAG_LS),
                       theta + np - (size_t)ps->naff * row);
    for (int a = 1; !st && a < ps->naff; a++)
      memcpy(theta + np - (size_t)(ps->naff - a) * row, theta + np - (size_t)ps->naff * row,
             row * sizeof *theta);
    if (!st)
      add_noise(o, theta, np, tmp);
    return st;
  }
  return RT_OK;
}

/* ------------------------------------------------------------ optimizers */

typedef struct Opt {
  const TrainOpts *o;
  size_t np;
  double *m, *v;         /* Adam's moment estimates */
  double b1t, b2t;       /* β1^t, β2^t */
} Opt;

static void opt_step(Opt *s, double *theta, const double *g)
{
  const TrainOpts *o = s->o;
  if (o->opt == OPT_SGD) {
    for (size_t i = 0; i < s->np; i++)
      theta[i] -= o->lr * g[i];
    return;
  }
  s->b1t *= o->beta1;
  s->b2t *= o->beta2;
  double c1 = 1 / (1 - s->b1t), c2 = 1 / (1 - s->b2t);
  for (size_t i = 0; i < s->np; i++) {
    s->m[i] = o->beta1 * s->m[i] + (1 - o->beta1) * g[i];
    s->v[i] = o->beta2 * s->v[i] + (1 - o->beta2) * g[i] * g[i];
    theta[i] -= o->lr * (s->m[i] * c1) / (sqrt(s->v[i] * c2) + o->eps);
  }
}

/* ------------------------------------------------------------ the log */

typedef struct Log {
  size_t n, cap;
  double *v;             /* rows of LOG_COLS */
} Log;

enum { LOG_COLS = 7 };
static const char *const log_names[LOG_COLS] = {"step", "tau", "risk", "risk_stderr",
                                                "hard_risk", "boundary_mass", "grad_norm"};

static RtStatus log_row(Rt *rt, Log *l, const double *row)
{
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    double *v = rt_realloc(rt, l->v, cap * LOG_COLS * sizeof *v);
    if (!v)
      return RT_ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  memcpy(l->v + l->n * LOG_COLS, row, LOG_COLS * sizeof *row);
  l->n++;
  return RT_OK;
}

static RtStatus log_result(Rt *rt, const Log *l, const TrainOpts *o, const GradProblem *p,
                           uint64_t samples, Result **out)
{
  Result *res = result_new(rt, "train");
  if (!res)
    return RT_ENOMEM;
  char path[200];
  snprintf(path, sizeof path, "%s, analytic gradient, %s%llu samples per step",
           o->opt == OPT_ADAM ? "Adam" : "SGD", o->fixed ? "one fixed sample of " : "fresh batches of ",
           (unsigned long long)o->batch);
  result_method(res, "mc", path);
  res->samples = samples;
  res->seed = o->seed;
  result_str(res, "optimizer", o->opt == OPT_ADAM ? "adam" : "sgd");
  result_num(res, "lr", o->lr);
  result_int(res, "steps", (double)o->steps);
  result_int(res, "batch", (double)o->batch);
  result_int(res, "parameters", (double)p->ps.np);
  result_num(res, "w", o->w);
  result_num(res, "noise", p->y->noise);
  result_rows(res, l->n);
  for (int c = 0; c < LOG_COLS; c++) {
    double *col = result_col(res, log_names[c], c == 0 ? F_INT : F_NUM, 1);
    for (size_t i = 0; col && i < l->n; i++)
      col[i] = l->v[i * LOG_COLS + c];
  }
  if (result_check(rt, res)) {
    result_unref(res);
    return RT_ENOMEM;
  }
  *out = res;
  return RT_OK;
}

/* ------------------------------------------------------------ the loop */

static double norm2(const double *v, size_t n)
{
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += v[i] * v[i];
  return sqrt(s);
}

static int all_finite(const double *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i]))
      return 0;
  return 1;
}

static RtStatus diverged(Rt *rt, uint64_t t, const char *what, double x, double lr)
{
  return rt_error(rt, RT_EINVAL, "training diverged at step %llu: %s became %s (lr = %g is "
                  "probably too large)", (unsigned long long)t, what,
                  isnan(x) ? "NaN" : "infinite", lr);
}

static double first_bad(const double *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i]))
      return v[i];
  return 0;
}

typedef struct Run {
  Rt *rt;
  const GradProblem *p;
  const TrainOpts *o;
  double *theta, *grad;
  Opt opt;
  Log log;
  uint64_t samples;
} Run;

/* Step t: the loss and gradient at the current θ on step t's batch, a log
 * row if due, then (t < steps) the update. */
static RtStatus step(Run *r, uint64_t t)
{
  const TrainOpts *o = r->o;
  size_t np = r->p->ps.np;
  double tau = o->tau[t < o->ntau ? t : o->ntau - 1];
  int logged = t == o->steps || t % o->log_every == 0;
  GradOut go;
  RtStatus st = grad_eval(r->rt, r->p, r->theta, tau, o->batch,
                          train_step_seed(o->seed, t, o->fixed), logged, o->w, &go, r->grad);
  r->samples += go.done;
  if (st)
    return st;
  if (!isfinite(go.loss))
    return diverged(r->rt, t, "the risk", go.loss, o->lr);
  if (!all_finite(r->grad, np))
    return diverged(r->rt, t, "the gradient", first_bad(r->grad, np), o->lr);
  if (logged) {
    double s2 = r->p->y->noise * r->p->y->noise;
    double row[LOG_COLS] = {(double)t, tau, go.loss + s2, go.loss_se, go.hard + s2, go.mass,
                            norm2(r->grad, np)};
    if ((st = log_row(r->rt, &r->log, row)))
      return st;
  }
  if (t == o->steps)
    return RT_OK;
  opt_step(&r->opt, r->theta, r->grad);
  if (!all_finite(r->theta, np))
    return diverged(r->rt, t, "a parameter", first_bad(r->theta, np), o->lr);
  return RT_OK;
}

static RtStatus run_loop(Run *r)
{
  const TrainOpts *o = r->o;
  RtStatus st = RT_OK;
  for (uint64_t t = 0; !st && t <= o->steps; t++) {
    if (rt_interrupted(r->rt))
      return rt_error(r->rt, RT_EINTR, "interrupted");
    st = step(r, t);
    if (!st && t < o->steps && o->progress)
      o->progress(o->progress_ud, t + 1, o->steps);
  }
  return st;
}

RtStatus train_run(Rt *rt, Model *m, Target *y, const Law *x, const TrainOpts *o,
                   Model **trained, Result **log)
{
  *trained = NULL;
  *log = NULL;
  double t0 = clock_seconds();
  RtStatus st = check_opts(rt, o);
  if (st)
    return st;
  TrainOpts eff = *o;                /* log_every 0: a tenth of the run */
  if (eff.log_every == 0)
    eff.log_every = eff.steps >= 10 ? eff.steps / 10 : 1;
  o = &eff;
  GradProblem p;
  if ((st = grad_problem_init(rt, &p, m, y, x)))
    return st;
  size_t np = p.ps.np;
  Run r;
  memset(&r, 0, sizeof r);
  r.rt = rt;
  r.p = &p;
  r.o = o;
  r.theta = rt_calloc(rt, np, sizeof *r.theta);
  r.grad = rt_calloc(rt, np, sizeof *r.grad);
  r.opt.o = o;
  r.opt.np = np;
  r.opt.m = rt_calloc(rt, np, sizeof *r.opt.m);
  r.opt.v = rt_calloc(rt, np, sizeof *r.opt.v);
  r.opt.b1t = r.opt.b2t = 1;
  st = r.theta && r.grad && r.opt.m && r.opt.v ? RT_OK : RT_ENOMEM;
  if (!st)
    st = init_theta(rt, &p, o, r.theta, r.grad);
  if (!st)
    st = run_loop(&r);
  if (!st)
    st = grad_model_with(rt, &p, r.theta, trained);
  if (!st && (st = log_result(rt, &r.log, o, &p, r.samples, log)) != RT_OK) {
    model_unref(rt, *trained);
    *trained = NULL;
  }
  if (!st)
    (*log)->seconds = clock_seconds() - t0;
  rt_free(rt, r.theta);
  rt_free(rt, r.grad);
  rt_free(rt, r.opt.m);
  rt_free(rt, r.opt.v);
  rt_free(rt, r.log.v);
  grad_problem_free(rt, &p);
  return st;
}
