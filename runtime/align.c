/*
 * align.c — student vs teacher: the confusion of hard partitions, the best
 * permutation of experts, separator cosines and expert errors (align.h).
 */
#include "align.h"

#include <math.h>
#include <string.h>

#include "est.h"
#include "gate.h"
#include "gauss.h"

typedef struct Pair {
  Model *m;              /* both at the law's dimension */
  Target *t;
  const Law *x;
  int K;
} Pair;

/* ------------------------------------------------------------ checks */

static RtStatus check_pair(Rt *rt, const Model *m, const Target *t, const Law *x)
{
  if (t->kind != TARGET_TEACHER)
    return rt_error(rt, RT_EINVAL, "alignment needs a teacher (a target built with "
                    "teacher(router, experts)), not a target written as an expression");
  if (m->nexp != t->nexp)
    return rt_error(rt, RT_EINVAL, "the model has %d experts but the teacher has %d", m->nexp,
                    t->nexp);
  if (m->nexp > ALIGN_MAX_K)
    return rt_error(rt, RT_EINVAL, "alignment searches the permutations of at most %d "
                    "experts; the model has %d", ALIGN_MAX_K, m->nexp);
  int dm = model_dim(m), dt = t->dim;
  if (dm >= 0 && dt >= 0 && dm != dt)
    return rt_error(rt, RT_EINVAL, "the model takes inputs of dimension %d but the teacher "
                    "takes %d", dm, dt);
  if (x && ((dm >= 0 && dm != x->dim) || (dt >= 0 && dt != x->dim)))
    return rt_error(rt, RT_EINVAL, "the %s takes inputs of dimension %d but the law has "
                    "dimension %d", dm >= 0 && dm != x->dim ? "model" : "teacher",
                    dm >= 0 && dm != x->dim ? dm : dt, x->dim);
  if (!x && dm < 0 && dt < 0)
    return rt_error(rt, RT_EINVAL, "neither the model nor the teacher fixes the input "
                    "dimension; give the law: alignment(m, t, law = X)");
  return RT_OK;
}

/* Both routers linear and every expert affine: what the cosine and the
 * expert error need. */
static RtStatus check_parametric(Rt *rt, const Pair *p)
{
  if (p->m->router->kind != ROUTER_LINEAR || p->t->router->kind != ROUTER_LINEAR)
    return rt_error(rt, RT_EINVAL, "alignment compares separators, so the model's and the "
                    "teacher's routers must be linear");
  for (int k = 0; k < p->K; k++)
    if (p->m->experts[k]->kind != EXPERT_AFFINE || p->t->experts[k]->kind != EXPERT_AFFINE)
      return rt_error(rt, RT_EINVAL, "alignment compares expert parameters, so every expert "
                      "of the model and of the teacher must be affine (expert %d is not)", k);
  return RT_OK;
}

/* ------------------------------------------------------------ confusion */

typedef struct ConfCtx {
  const Pair *p;
  double *conf;          /* K × K: [student k][teacher j] */
} ConfCtx;

static size_t conf_rest(const Pair *p, size_t n)
{
  size_t r = law_scratch(p->x, n), a = router_scratch(p->m->router, n),
         b = router_scratch(p->t->router, n);
  r = r > a ? r : a;
  return r > b ? r : b;
}

static RtStatus conf_block(void *ctx, EstThread *th, const SampleBlock *sb, double *acc)
{
  ConfCtx *c = ctx;
  const Pair *p = c->p;
  size_t n = sb->n, Kn = (size_t)p->K * n;
  double *x = th->scratch, *am = x + (size_t)p->x->dim * n, *at = am + Kn, *im = at + Kn,
         *it = im + n, *rest = it + n;
  law_sample(p->x, sb, x, n, rest);
  RtStatus st = router_logits(p->m->router, n, x, n, am, n, rest, &th->err);
  if (!st)
    st = router_logits(p->t->router, n, x, n, at, n, rest, &th->err);
  if (st)
    return st;
  gate_hard(p->K, n, am, n, im);
  gate_hard(p->K, n, at, n, it);
  for (size_t i = 0; i < n; i++)
    acc[(size_t)im[i] * p->K + (size_t)it[i]] += 1;
  return RT_OK;
}

static void conf_reduce(void *ctx, const SampleBlock *sb, const double *acc)
{
  ConfCtx *c = ctx;
  (void)sb;
  for (int i = 0; i < c->p->K * c->p->K; i++)
    c->conf[i] += acc[i];
}

static RtStatus confusion(Rt *rt, const Pair *p, const QueryOpts *o, double *conf,
                          uint64_t *done)
{
  ConfCtx c = {p, conf};
  size_t B = rt->block;
  memset(conf, 0, (size_t)p->K * p->K * sizeof *conf);
  EstKernel k = {&c, ((size_t)(p->x->dim + 2 * p->K + 2) * B + conf_rest(p, B)) * sizeof(double),
                 (size_t)p->K * p->K, conf_block, conf_reduce};
  return est_run(rt, &k, o->samples, o->seed, done);
}

/* ------------------------------------------------------------ permutations */

typedef struct Best {
  int K;
  const double *conf;
  int perm[ALIGN_MAX_K], cur[ALIGN_MAX_K];
  double agree;
} Best;

/* Every permutation in lexicographic order; the first best one is kept. */
static void search(Best *b, int j, unsigned used, double agree)
{
  if (j == b->K) {
    if (agree > b->agree) {
      b->agree = agree;
      memcpy(b->perm, b->cur, sizeof b->perm);
    }
    return;
  }
  for (int k = 0; k < b->K; k++)
    if (!(used & (1u << k))) {
      b->cur[j] = k;
      search(b, j + 1, used | (1u << k), agree + b->conf[(size_t)k * b->K + j]);
    }
}

/* ------------------------------------------------------------ exact, K = 2 */

/* s = (w_0 − w_1)·x + b_0 − b_1 for a linear router of two rows: its mean
 * and the loading Fᵀ(w_0 − w_1) on the law's factor. */
static double sep_loading(const Law *x, const Router *r, double *u, double *load)
{
  int d = x->dim;
  double mu = r->b ? r->b[0] - r->b[1] : 0;
  for (int j = 0; j < d; j++) {
    u[j] = r->W[j] - r->W[d + j];
    mu += u[j] * (x->mean ? x->mean[j] : 0);
  }
  law_factor_t(x, u, load);
  return mu;
}

/* P(both pick expert 0) + P(both pick expert 1) for K = 2 linear routers
 * over a normal law, from the bivariate normal law of the two logit
 * differences.  *ok = 0 when a difference is degenerate. */
static RtStatus exact_agree(Rt *rt, const Pair *p, double *agree, int *ok)
{
  const Law *x = p->x;
  int d = x->dim, rank = x->iso > 0 ? d : x->rank;
  double *u = rt_array(rt, (size_t)d, sizeof *u);
  double *lm = rt_array(rt, (size_t)(rank > 0 ? rank : 1), sizeof *lm);
  double *lt = rt_array(rt, (size_t)(rank > 0 ? rank : 1), sizeof *lt);
  RtStatus st = u && lm && lt ? RT_OK : RT_ENOMEM;
  *ok = 0;
  if (!st) {
    double mm = sep_loading(x, p->m->router, u, lm), mt = sep_loading(x, p->t->router, u, lt);
    double vm = 0, vt = 0, c = 0;
    for (int q = 0; q < rank; q++) {
      vm += lm[q] * lm[q];
      vt += lt[q] * lt[q];
      c += lm[q] * lt[q];
    }
    if (vm > 0 && vt > 0) {
      double sm = sqrt(vm), s2 = sqrt(vt), rho = fmax(-1, fmin(1, c / (sm * s2)));
      /* Parallel separators give |ρ| = 1 only up to rounding, and near
       * |ρ| = 1 the orthant probabilities move like sqrt(1 − |ρ|): a few
       * ulps would read as a disagreement of 1e-8. */
      if (1 - fabs(rho) < 1e-14)
        rho = rho > 0 ? 1 : -1;
      *agree = bvn_upper(-mm / sm, -mt / s2, rho) + bvn_cdf(-mm / sm, -mt / s2, rho);
      *ok = 1;
    }
  }
  rt_free(rt, u);
  rt_free(rt, lm);
  rt_free(rt, lt);
  return st;
}

/* ------------------------------------------------------------ the query */

static double cosine(const double *a, const double *b, int d)
{
  double ab = 0, aa = 0, bb = 0;
  for (int j = 0; j < d; j++) {
    ab += a[j] * b[j];
    aa += a[j] * a[j];
    bb += b[j] * b[j];
  }
  return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
}

/* The mean over pairs j < l of cos(w_π(j) − w_π(l), v_j − v_l). */
static double separator_cosine(const Pair *p, const int *perm, double *u, double *v)
{
  int d = p->x->dim, K = p->K, n = 0;
  const double *W = p->m->router->W, *V = p->t->router->W;
  double sum = 0;
  for (int j = 0; j < K; j++)
    for (int l = j + 1; l < K; l++, n++) {
      for (int q = 0; q < d; q++) {
        u[q] = W[(size_t)perm[j] * d + q] - W[(size_t)perm[l] * d + q];
        v[q] = V[(size_t)j * d + q] - V[(size_t)l * d + q];
      }
      sum += cosine(u, v, d);
    }
  return sum / n;
}

static double expert_errors(const Pair *p, const int *perm, double *err)
{
  int d = p->x->dim;
  double worst = 0;
  for (int j = 0; j < p->K; j++) {
    const Expert *s = p->m->experts[perm[j]], *t = p->t->experts[j];
    double e = (s->c - t->c) * (s->c - t->c);
    for (int q = 0; q < d; q++)
      e += (s->beta[q] - t->beta[q]) * (s->beta[q] - t->beta[q]);
    err[j] = sqrt(e);
    worst = fmax(worst, err[j]);
  }
  return worst;
}

/* The best permutation and its disagreement: exact for K = 2 linear
 * routers over a normal law, else from the Monte Carlo confusion matrix. */
static RtStatus disagreement(Rt *rt, const Pair *p, const QueryOpts *o, Result *res, Best *b,
                             double *dis, double *se)
{
  int ok = 0;
  RtStatus st = RT_OK;
  if (p->K == 2 && p->x->kind == LAW_NORMAL && o->method != METHOD_MC)
    st = exact_agree(rt, p, &b->agree, &ok);
  if (st)
    return st;
  if (ok) {
    int swap = b->agree < 0.5;
    b->perm[0] = swap;
    b->perm[1] = !swap;
    *dis = swap ? b->agree : 1 - b->agree;
    *se = 1e-15;
    result_method(res, "exact", "K = 2: the two logit differences are jointly normal; "
                  "bivariate normal orthant probabilities");
    return RT_OK;
  }
  if (o->method == METHOD_EXACT || o->method == METHOD_QUADRATURE)
    return rt_error(rt, RT_EUNSUP, "no %s path for alignment here (it needs K = 2 and linear "
                    "routers over a normal law); the Monte Carlo path exists: method = \"mc\"",
                    method_name(o->method));
  double conf[ALIGN_MAX_K * ALIGN_MAX_K];
  uint64_t done = 0;
  if ((st = confusion(rt, p, o, conf, &done)))
    return st;
  b->conf = conf;
  b->agree = -1;
  search(b, 0, 0, 0);
  double N = (double)done, q = 1 - b->agree / N;
  *dis = q;
  *se = sqrt(fmax(q * (1 - q), 1 / N) / N);     /* no disagreement seen: one sample's worth */
  result_method(res, "mc", "hard partitions of the student and the teacher on the same "
                "samples; the permutation maximising the agreement");
  res->samples = done;
  res->seed = o->seed;
  return RT_OK;
}

static RtStatus run_alignment(Rt *rt, const Pair *p, const QueryOpts *o, Result *res)
{
  Best b;
  memset(&b, 0, sizeof b);
  b.K = p->K;
  double dis = 0, se = 0, errs[ALIGN_MAX_K], perm[ALIGN_MAX_K];
  int d = p->x->dim;
  double *u = rt_array(rt, (size_t)d, sizeof *u), *v = rt_array(rt, (size_t)d, sizeof *v);
  RtStatus st = u && v ? check_parametric(rt, p) : RT_ENOMEM;
  if (!st)
    st = disagreement(rt, p, o, res, &b, &dis, &se);
  if (!st) {
    result_num(res, "cosine", separator_cosine(p, b.perm, u, v));
    result_num(res, "disagreement", dis);
    result_num(res, "disagreement_stderr", se);
    result_num(res, "expert_error", expert_errors(p, b.perm, errs));
    result_vec(res, "expert_errors", errs, (size_t)p->K);
    for (int j = 0; j < p->K; j++)
      perm[j] = b.perm[j];
    result_vec(res, "permutation", perm, (size_t)p->K);
  }
  rt_free(rt, u);
  rt_free(rt, v);
  return st;
}

RtStatus query_alignment(Rt *rt, Model *m, Target *t, const Law *x, const QueryOpts *o,
                         Result **out)
{
  *out = NULL;
  double t0 = clock_seconds();
  RtStatus st = check_pair(rt, m, t, x);
  if (st)
    return st;
  Law *own = NULL;
  if (!x) {
    int d = model_dim(m) >= 0 ? model_dim(m) : t->dim;
    if ((st = law_normal_iso(rt, d, NULL, 1, &own)))
      return st;
    x = own;
  }
  Pair p = {NULL, NULL, x, m->nexp};
  Result *res = result_new(rt, "alignment");
  st = res ? RT_OK : RT_ENOMEM;
  if (!st)
    st = model_at_dim(rt, m, x->dim, &p.m);
  if (!st)
    st = target_at_dim(rt, t, x->dim, &p.t);
  if (!st)
    st = run_alignment(rt, &p, o, res);
  model_unref(rt, p.m);
  target_unref(rt, p.t);
  law_unref(rt, own);
  if (!st && result_check(rt, res))
    st = RT_ENOMEM;
  if (st) {
    result_unref(res);
    return st;
  }
  res->seconds = clock_seconds() - t0;
  *out = res;
  return RT_OK;
}
