/*
 * test_train.c — the training engine: analytic gradients and Hessians
 * against central finite differences on common random numbers, the
 * symmetric point's Hessian block against MATH.md's closed form,
 * bit-identical training for 1 and 2 threads, the errors, and the
 * counting allocator's verdict (nothing leaks, on success or failure).
 *
 * Problems mix every kind of part the engine handles: a linear router with
 * biases or an expression router (a host block function), affine experts
 * beside a function expert, a nonlinear function target or a hard-routed
 * teacher, over a correlated normal law.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "align.h"
#include "grad.h"
#include "hessian.h"
#include "train.h"
#include "rt.h"
#include "tap.h"
#include "testalloc.h"

#define PI 3.14159265358979323846

/* ------------------------------------------------------------ host functions */

/* target m(x) = sin(x0) + 0.5 x1² − x2 (for any d >= 3) */
static RtStatus target_eval_fn(const BlockFn *f, size_t n, const double *x, size_t ldx,
                               double *y, size_t ldy, double *scratch, BlockErr *err)
{
  (void)f, (void)ldy, (void)scratch, (void)err;
  for (size_t i = 0; i < n; i++)
    y[i] = sin(x[i]) + 0.5 * x[ldx + i] * x[ldx + i] - x[2 * ldx + i];
  return RT_OK;
}

/* expert f(x) = tanh(x0 + x1) */
static RtStatus expert_eval_fn(const BlockFn *f, size_t n, const double *x, size_t ldx,
                               double *y, size_t ldy, double *scratch, BlockErr *err)
{
  (void)f, (void)ldy, (void)scratch, (void)err;
  for (size_t i = 0; i < n; i++)
    y[i] = tanh(x[i] + x[ldx + i]);
  return RT_OK;
}

/* router a(x) = (x0², x1, −x0 x2) */
static RtStatus router_eval_fn(const BlockFn *f, size_t n, const double *x, size_t ldx,
                               double *y, size_t ldy, double *scratch, BlockErr *err)
{
  (void)f, (void)scratch, (void)err;
  for (size_t i = 0; i < n; i++) {
    y[i] = x[i] * x[i];
    y[ldy + i] = x[ldx + i];
    y[2 * ldy + i] = -x[i] * x[2 * ldx + i];
  }
  return RT_OK;
}

static BlockFn *host_fn(Rt *rt, const char *name, int d, int out,
                        RtStatus (*ev)(const BlockFn *, size_t, const double *, size_t,
                                       double *, size_t, double *, BlockErr *))
{
  BlockFn *f = blockfn_new(rt, name, d, out, NULL, NULL);
  if (f)
    f->eval = ev;
  return f;
}

/* ------------------------------------------------------------ problems */

typedef struct Objs {
  Law *x;
  Model *m;
  Target *y;
} Objs;

static void objs_free(Rt *rt, Objs *o)
{
  law_unref(rt, o->x);
  model_unref(rt, o->m);
  target_unref(rt, o->y);
}

static Law *corr_law(Rt *rt, int d)
{
  double mean[8], cov[64];
  for (int i = 0; i < d; i++) {
    mean[i] = 0.1 * (i + 1) - 0.2;
    for (int j = 0; j < d; j++)
      cov[i * d + j] = (i == j ? 1.0 + 0.2 * i : 0.3 / (1 + abs(i - j)));
  }
  Law *l = NULL;
  law_normal(rt, d, mean, cov, "law", &l);
  return l;
}

/* Kind 0: linear router with biases (K = 3), experts [affine, tanh, affine],
 * a nonlinear target with noise.  Kind 1: K = 2, all affine, a teacher.
 * Kind 2: an expression router, two affine experts and the tanh expert. */
static Objs make(Rt *rt, int kind)
{
  Objs o = {0};
  int d = 3;
  o.x = corr_law(rt, d);
  Router *r = NULL;
  Expert *e[3] = {0};
  double W[9] = {0.8, -0.3, 0.5, -0.6, 0.9, 0.1, 0.2, 0.4, -0.7}, b[3] = {0.1, -0.2, 0.05};
  double b1[3] = {1, -0.5, 0.3}, b2[3] = {-0.4, 0.7, 0.9};
  BlockFn *tf = host_fn(rt, "tanh", d, 1, expert_eval_fn);
  expert_affine(rt, d, b1, 0.2, &e[0]);
  if (kind == 1)
    expert_affine(rt, d, b2, -0.3, &e[1]);
  else
    expert_fn(rt, tf, &e[1]);
  expert_affine(rt, d, b2, -0.1, &e[2]);
  if (kind == 2) {
    BlockFn *rf = host_fn(rt, "router", d, 3, router_eval_fn);
    router_fn(rt, rf, &r);
    blockfn_unref(rt, rf);
  } else {
    router_linear(rt, kind == 1 ? 2 : 3, d, W, b, &r);
  }
  if (kind == 1) {
    double tW[6] = {1, 0.5, -0.2, -1, 0.1, 0.3};
    Router *tr = NULL;
    Expert *te[2] = {0};
    double h1[3] = {1.2, 0, -0.5}, h2[3] = {-0.3, 0.8, 0.2};
    router_linear(rt, 2, d, tW, NULL, &tr);
    expert_affine(rt, d, h1, 0.4, &te[0]);
    expert_affine(rt, d, h2, -0.2, &te[1]);
    target_teacher(rt, tr, 2, te, 0.1, &o.y);
    router_unref(rt, tr);
    expert_unref(rt, te[0]);
    expert_unref(rt, te[1]);
  } else {
    BlockFn *yf = host_fn(rt, "target", d, 1, target_eval_fn);
    target_fn(rt, yf, 0.2, &o.y);
    blockfn_unref(rt, yf);
  }
  Gate *g = NULL;
  gate_new(rt, GATE_SOFTMAX, 0, &g);
  model_new(rt, r, r->K, e, g, &o.m);
  gate_unref(rt, g);
  router_unref(rt, r);
  for (int k = 0; k < 3; k++)
    expert_unref(rt, e[k]);
  blockfn_unref(rt, tf);
  return o;
}

/* ------------------------------------------------------------ gradients */

static double loss_at(Rt *rt, const GradProblem *p, const double *th, double tau, uint64_t N)
{
  GradOut go;
  grad_eval(rt, p, th, tau, N, 11, 0, 1, &go, NULL);
  return go.loss;
}

/* Every ∂R/∂θ_i against (R(θ + h e_i) − R(θ − h e_i)) / 2h on the same
 * samples: agreement to 1e-6 relative. */
static void check_gradient(int kind, double tau)
{
  Rt rt;
  counting_rt(&rt);
  rt.block = 1024;
  Objs o = make(&rt, kind);
  GradProblem p;
  ok(grad_problem_init(&rt, &p, o.m, o.y, o.x) == RT_OK, "problem %d", kind);
  size_t np = p.ps.np;
  double *th = malloc(np * sizeof *th), *g = malloc(np * sizeof *g);
  grad_theta_get(&p, th);
  GradOut go;
  grad_eval(&rt, &p, th, tau, 3000, 11, 0, 1, &go, g);
  double worst = 0, gmax = 0;
  for (size_t i = 0; i < np; i++)
    gmax = fmax(gmax, fabs(g[i]));
  for (size_t i = 0; i < np; i++) {
    double h = 1e-5 * fmax(1, fabs(th[i])), keep = th[i];
    th[i] = keep + h;
    double up = loss_at(&rt, &p, th, tau, 3000);
    th[i] = keep - h;
    double dn = loss_at(&rt, &p, th, tau, 3000);
    th[i] = keep;
    double fd = (up - dn) / (2 * h);
    worst = fmax(worst, fabs(fd - g[i]) / fmax(fabs(g[i]), 1e-3 * gmax));
  }
  ok(worst < 1e-6, "kind %d, tau %g: %zu gradient entries match central differences "
     "(worst relative error %.2e)", kind, tau, np, worst);
  free(th);
  free(g);
  grad_problem_free(&rt, &p);
  objs_free(&rt, &o);
  ok(live_blocks == 0, "kind %d: nothing leaks (%ld blocks)", kind, live_blocks);
}

/* The Hessian against central differences of the analytic gradient. */
static void check_hessian(int kind, double tau)
{
  Rt rt;
  counting_rt(&rt);
  rt.block = 1024;
  Objs o = make(&rt, kind);
  GradProblem p;
  grad_problem_init(&rt, &p, o.m, o.y, o.x);
  size_t np = p.ps.np;
  double *th = malloc(np * sizeof *th), *H = malloc(np * np * sizeof *H);
  double *gu = malloc(np * sizeof *gu), *gd = malloc(np * sizeof *gd);
  grad_theta_get(&p, th);
  ok(hessian_eval(&rt, &p, th, tau, 3000, 11, H, NULL) == RT_OK, "kind %d: hessian", kind);
  double hmax = 0, worst = 0, asym = 0;
  for (size_t i = 0; i < np * np; i++)
    hmax = fmax(hmax, fabs(H[i]));
  GradOut go;
  for (size_t i = 0; i < np; i++) {
    double h = 1e-5 * fmax(1, fabs(th[i])), keep = th[i];
    th[i] = keep + h;
    grad_eval(&rt, &p, th, tau, 3000, 11, 0, 1, &go, gu);
    th[i] = keep - h;
    grad_eval(&rt, &p, th, tau, 3000, 11, 0, 1, &go, gd);
    th[i] = keep;
    for (size_t j = 0; j < np; j++) {
      double fd = (gu[j] - gd[j]) / (2 * h);
      worst = fmax(worst, fabs(fd - H[i * np + j]) / hmax);
      asym = fmax(asym, fabs(H[i * np + j] - H[j * np + i]));
    }
  }
  ok(worst < 1e-6, "kind %d, tau %g: the %zu x %zu Hessian matches differences of the "
     "gradient (worst error %.2e of max |H| = %.3g)", kind, tau, np, np, worst, hmax);
  ok(asym == 0, "kind %d: the Hessian is exactly symmetric", kind);
  free(th);
  free(H);
  free(gu);
  free(gd);
  grad_problem_free(&rt, &p);
  objs_free(&rt, &o);
  ok(live_blocks == 0, "kind %d: nothing leaks", kind);
}

/* ------------------------------------------------------------ the symmetric point */

/* X ~ N(0, I_4), a teacher with separator v (unit) and experts β1, β2 (no
 * intercepts), the model at θ = 0 with both experts w̄ = (β1 + β2)/2 and
 * c = c0.  MATH.md: the (θ, δ) block is −E[r x xᵀ]/τ with r = m − w̄·x − c0
 * and, for c0 = 0, E[r x xᵀ] = √(2/π)[a(I + v vᵀ) + v bᵀ + b vᵀ]; an
 * intercept c0 subtracts c0·I. */
static void check_symmetric(double c0)
{
  Rt rt;
  counting_rt(&rt);
  rt.block = 1024;
  rt.threads = 2;
  enum { D = 4 };
  double v[D] = {0.6, 0.8, 0, 0}, b1[D] = {1.0, 0.2, 0.5, -0.3}, b2[D] = {-0.6, 0.4, 0.1, 0.3};
  double tW[2 * D], zero[2 * D] = {0}, wbar[D], db[D], a = 0, bb[D];
  for (int j = 0; j < D; j++) {
    tW[j] = v[j];
    tW[D + j] = -v[j];
    wbar[j] = 0.5 * (b1[j] + b2[j]);
    db[j] = 0.5 * (b1[j] - b2[j]);
    a += db[j] * v[j];
  }
  for (int j = 0; j < D; j++)
    bb[j] = db[j] - a * v[j];
  Law *x = NULL;
  Router *tr = NULL, *r = NULL;
  Expert *h[2] = {0}, *e = NULL;
  Target *y = NULL;
  Model *m = NULL;
  Gate *g = NULL;
  law_normal_iso(&rt, D, NULL, 1, &x);
  router_linear(&rt, 2, D, tW, NULL, &tr);
  expert_affine(&rt, D, b1, 0, &h[0]);
  expert_affine(&rt, D, b2, 0, &h[1]);
  target_teacher(&rt, tr, 2, h, 0, &y);
  router_linear(&rt, 2, D, zero, NULL, &r);
  expert_affine(&rt, D, wbar, c0, &e);
  Expert *me[2] = {e, e};
  gate_new(&rt, GATE_SOFTMAX, 0, &g);
  model_new(&rt, r, 2, me, g, &m);
  GradProblem p;
  grad_problem_init(&rt, &p, m, y, x);
  size_t np = p.ps.np, R = D + 1;
  double *th = malloc(np * sizeof *th), *H = malloc(np * np * sizeof *H);
  double *se = malloc(np * np * sizeof *se);
  grad_theta_get(&p, th);
  double tau = 0.5;
  hessian_eval(&rt, &p, th, tau, 1 << 21, 5, H, se);
  /* θ: w1 = θ/2, w2 = −θ/2; δ: β1 = w̄ + δ, β2 = w̄ − δ */
  double worst = 0, tol = 0;
  for (int i = 0; i < D; i++)
    for (int j = 0; j < D; j++) {
      size_t w1 = (size_t)i, w2 = R + (size_t)i, f1 = 2 * R + (size_t)j, f2 = 3 * R + (size_t)j;
      double blk = 0.5 * (H[w1 * np + f1] - H[w1 * np + f2] - H[w2 * np + f1] + H[w2 * np + f2]);
      double s = 0.5 * (se[w1 * np + f1] + se[w1 * np + f2] + se[w2 * np + f1] + se[w2 * np + f2]);
      double M = sqrt(2 / PI) * (a * ((i == j) + v[i] * v[j]) + v[i] * bb[j] + bb[i] * v[j]) -
                 c0 * (i == j);
      worst = fmax(worst, fabs(blk + M / tau) / s);
      tol = fmax(tol, s);
    }
  ok(worst < 5, "c0 = %g: the (theta, delta) block is -E[r x x^T]/tau of MATH.md's closed "
     "form (worst %.2f standard errors, se ~ %.1e)", c0, worst, tol);
  free(th);
  free(H);
  free(se);
  grad_problem_free(&rt, &p);
  law_unref(&rt, x);
  router_unref(&rt, tr);
  router_unref(&rt, r);
  expert_unref(&rt, h[0]);
  expert_unref(&rt, h[1]);
  expert_unref(&rt, e);
  target_unref(&rt, y);
  model_unref(&rt, m);
  gate_unref(&rt, g);
  ok(live_blocks == 0, "symmetric point: nothing leaks");
}

/* ------------------------------------------------------------ training */

static Model *train_with(Rt *rt, const Objs *o, int threads, Optimizer opt, Result **log,
                         RtStatus *st)
{
  double tau[3] = {1, 0.5, 0.2};
  TrainOpts to;
  train_opts_init(&to);
  to.tau = tau;
  to.ntau = 3;
  to.steps = 12;
  to.batch = 3000;
  to.lr = 0.05;
  to.opt = opt;
  to.log_every = 5;
  to.seed = 9;
  to.init = INIT_NORMAL;
  rt->threads = threads;
  Model *out = NULL;
  *st = train_run(rt, o->m, o->y, o->x, &to, &out, log);
  return out;
}

static int same_params(const Model *a, const Model *b)
{
  int d = a->router->dim, K = a->nexp, same = 1;
  if (a->router->kind == ROUTER_LINEAR)
    same &= memcmp(a->router->W, b->router->W, (size_t)K * d * sizeof(double)) == 0 &&
            memcmp(a->router->b, b->router->b, (size_t)K * sizeof(double)) == 0;
  for (int k = 0; k < K; k++)
    if (a->experts[k]->kind == EXPERT_AFFINE)
      same &= memcmp(a->experts[k]->beta, b->experts[k]->beta, (size_t)d * sizeof(double)) == 0 &&
              a->experts[k]->c == b->experts[k]->c;
  return same;
}

static void check_determinism(int kind, Optimizer opt)
{
  Rt rt;
  counting_rt(&rt);
  rt.block = 1024;
  Objs o = make(&rt, kind);
  Result *l1 = NULL, *l2 = NULL;
  RtStatus s1, s2;
  Model *m1 = train_with(&rt, &o, 1, opt, &l1, &s1);
  Model *m2 = train_with(&rt, &o, 2, opt, &l2, &s2);
  ok(s1 == RT_OK && s2 == RT_OK, "kind %d: training runs (%s)", kind, rt.msg);
  ok(m1 && m2 && same_params(m1, m2), "kind %d, %s: 1 and 2 threads give bit-identical "
     "parameters", kind, opt == OPT_ADAM ? "adam" : "sgd");
  const Column *c1 = l1 ? result_column(l1, "risk") : NULL, *c2 = l2 ? result_column(l2, "risk") : NULL;
  ok(c1 && c2 && l1->nrows == 4 && memcmp(c1->data, c2->data, 4 * sizeof(double)) == 0,
     "kind %d: logs at steps 0, 5, 10 and the last, identical", kind);
  ok(c1 && c1->data[3] < c1->data[0], "kind %d: the risk fell (%g -> %g)", kind,
     c1 ? c1->data[0] : 0, c1 ? c1->data[3] : 0);
  ok(m1 && m1->router != o.m->router ? 1 : o.m->router->kind != ROUTER_LINEAR,
     "kind %d: the trained model has its own router; the original is untouched", kind);
  model_unref(&rt, m1);
  model_unref(&rt, m2);
  result_unref(l1);
  result_unref(l2);
  objs_free(&rt, &o);
  ok(live_blocks == 0, "kind %d: nothing leaks after training", kind);
}

/* Errors: exact messages. */
static void check_errors(void)
{
  Rt rt;
  counting_rt(&rt);
  rt.block = 1024;
  Objs o = make(&rt, 1);
  double tau[1] = {0.5};
  TrainOpts to;
  Model *out = NULL;
  Result *log = NULL;
  train_opts_init(&to);
  to.tau = tau;
  to.ntau = 1;
  to.steps = 5;
  to.batch = 1024;
  to.lr = 0;
  ok(train_run(&rt, o.m, o.y, o.x, &to, &out, &log) == RT_EINVAL &&
     strcmp(rt.msg, "lr = 0; the learning rate must be finite and > 0") == 0, "lr = 0: %s", rt.msg);
  to.lr = 0.1;
  to.steps = 0;
  ok(train_run(&rt, o.m, o.y, o.x, &to, &out, &log) == RT_EINVAL &&
     strcmp(rt.msg, "steps must be >= 1") == 0, "steps = 0: %s", rt.msg);
  to.steps = 50;
  to.lr = 1e6;
  to.opt = OPT_SGD;
  RtStatus st = train_run(&rt, o.m, o.y, o.x, &to, &out, &log);
  ok(st == RT_EINVAL && strncmp(rt.msg, "training diverged at step ", 26) == 0 && !out && !log,
     "a huge lr diverges with an error and no model: %s", rt.msg);
  /* a model with no parametric parts */
  Model *m = o.m;
  Gate *g = NULL;
  BlockFn *rf = host_fn(&rt, "router", 3, 3, router_eval_fn);
  BlockFn *tf = host_fn(&rt, "tanh", 3, 1, expert_eval_fn);
  Router *r = NULL;
  Expert *e = NULL;
  router_fn(&rt, rf, &r);
  expert_fn(&rt, tf, &e);
  Expert *ee[3] = {e, e, e};
  gate_new(&rt, GATE_SOFTMAX, 0, &g);
  model_new(&rt, r, 3, ee, g, &m);
  to.lr = 0.1;
  ok(train_run(&rt, m, o.y, o.x, &to, &out, &log) == RT_EINVAL &&
     strcmp(rt.msg, "the model has no parametric parts: its router is not linear and none of "
            "its experts is affine") == 0, "no parametric parts: %s", rt.msg);
  model_unref(&rt, m);
  gate_unref(&rt, g);
  router_unref(&rt, r);
  expert_unref(&rt, e);
  blockfn_unref(&rt, rf);
  blockfn_unref(&rt, tf);
  /* allocation failures anywhere in a short run: an error, never a leak */
  to.lr = 0.05;
  to.steps = 3;
  to.opt = OPT_ADAM;
  int fails = 0, leaks = 0;
  for (long n = 0; n < 200; n++) {
    long before = live_blocks;
    fail_after = n;
    st = train_run(&rt, o.m, o.y, o.x, &to, &out, &log);
    fail_after = -1;
    if (st == RT_OK) {
      model_unref(&rt, out);
      result_unref(log);
      break;
    }
    fails += st == RT_ENOMEM;
    leaks += live_blocks != before;
  }
  ok(fails > 10 && leaks == 0, "%d allocation failures reported, %d leaks", fails, leaks);
  objs_free(&rt, &o);
  ok(live_blocks == 0, "errors: nothing leaks");
}

/* ------------------------------------------------------------ alignment */

static void check_alignment(void)
{
  Rt rt;
  counting_rt(&rt);
  rt.block = 1024;
  Objs o = make(&rt, 1);
  QueryOpts q = {200000, 3, METHOD_AUTO};
  Result *ex = NULL, *mc = NULL;
  ok(query_alignment(&rt, o.m, o.y, o.x, &q, &ex) == RT_OK, "alignment (exact)");
  q.method = METHOD_MC;
  ok(query_alignment(&rt, o.m, o.y, o.x, &q, &mc) == RT_OK, "alignment (mc)");
  const Field *de = ex ? result_field(ex, "disagreement") : NULL;
  const Field *dm = mc ? result_field(mc, "disagreement") : NULL;
  const Field *sm = mc ? result_field(mc, "disagreement_stderr") : NULL;
  ok(de && dm && sm && fabs(de->num - dm->num) < 4 * sm->num,
     "exact disagreement %g within 4 se of Monte Carlo's %g", de ? de->num : 0,
     dm ? dm->num : 0);
  result_unref(ex);
  result_unref(mc);
  /* the teacher against itself, as a model: perfect alignment */
  Model *self = NULL;
  Gate *g = NULL;
  gate_new(&rt, GATE_SOFTMAX, 0, &g);
  Expert *sw[2] = {o.y->experts[1], o.y->experts[0]};    /* swapped labels */
  double tW[6];
  for (int j = 0; j < 3; j++) {
    tW[j] = o.y->router->W[3 + j];
    tW[3 + j] = o.y->router->W[j];
  }
  Router *r = NULL;
  router_linear(&rt, 2, 3, tW, NULL, &r);
  model_new(&rt, r, 2, sw, g, &self);
  q.method = METHOD_AUTO;
  ok(query_alignment(&rt, self, o.y, o.x, &q, &ex) == RT_OK, "alignment of the teacher itself");
  const Field *c = result_field(ex, "cosine"), *d = result_field(ex, "disagreement");
  const Field *e = result_field(ex, "expert_error"), *p = result_field(ex, "permutation");
  ok(c && fabs(c->num - 1) < 1e-15 && d && d->num < 1e-14 && e && e->num == 0 && p &&
     p->vec[0] == 1 && p->vec[1] == 0, "relabelled teacher: cosine 1, disagreement 0, "
     "expert error 0, permutation [1, 0]");
  result_unref(ex);
  model_unref(&rt, self);
  router_unref(&rt, r);
  gate_unref(&rt, g);
  objs_free(&rt, &o);
  ok(live_blocks == 0, "alignment: nothing leaks");
}

int main(void)
{
  check_gradient(0, 0.7);
  check_gradient(0, 0.05);
  check_gradient(1, 0.3);
  check_gradient(2, 0.5);
  check_hessian(0, 0.7);
  check_hessian(1, 0.3);
  check_hessian(2, 0.5);
  check_symmetric(0);
  check_symmetric(0.4);
  check_determinism(0, OPT_ADAM);
  check_determinism(1, OPT_SGD);
  check_determinism(2, OPT_ADAM);
  check_errors();
  check_alignment();
  return tap_done();
}
