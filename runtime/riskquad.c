/*
 * riskquad.c — the risk query's quadrature path (K = 2), on top of
 * runtime/risk2.c: a linear router with two logits over a normal law or a
 * mixture of normals (the risk is linear in the law, so components add
 * with their weights), affine experts, and an affine target or a teacher
 * with a two-logit linear router and affine experts.
 */
#include <math.h>
#include <string.h>

#include "jointmap.h"
#include "riskmc.h"
#include "risk2.h"
#include "vm.h"

/* The affine parts shared by every component: router and teacher logit
 * differences, experts, target. */
typedef struct Parts {
  int d, teacher;
  double *u, u0, *v, v0;
  double *beta[4], c[4];     /* f1, f2, then the target or h1, h2 */
} Parts;

static void parts_free(Rt *rt, Parts *p)
{
  rt_free(rt, p->u);
  rt_free(rt, p->v);
  for (int i = 0; i < 4; i++)
    rt_free(rt, p->beta[i]);
}

static int linear_pair(const Router *r, double *u, double *u0)
{
  if (r->kind != ROUTER_LINEAR || r->K != 2)
    return 0;
  for (int j = 0; j < r->dim; j++)
    u[j] = r->W[j] - r->W[r->dim + j];
  *u0 = r->b[0] - r->b[1];
  return 1;
}

static int fill(const Model *m, const Target *y, Parts *p)
{
  if (m->nexp != 2 || !linear_pair(m->router, p->u, &p->u0) ||
      !expert_affine_coef(m->experts[0], p->beta[0], &p->c[0]) ||
      !expert_affine_coef(m->experts[1], p->beta[1], &p->c[1]))
    return 0;
  if (y->kind == TARGET_FN)
    return vm_blockfn_affine(y->fn, 0, p->beta[2], &p->c[2]);
  p->teacher = 1;
  return y->nexp == 2 && linear_pair(y->router, p->v, &p->v0) &&
         expert_affine_coef(y->experts[0], p->beta[2], &p->c[2]) &&
         expert_affine_coef(y->experts[1], p->beta[3], &p->c[3]);
}

static RtStatus parts_of(Rt *rt, const Model *m, const Target *y, int d, Parts *p, int *ok)
{
  memset(p, 0, sizeof *p);
  p->d = d;
  p->u = rt_calloc(rt, (size_t)d, sizeof *p->u);
  p->v = rt_calloc(rt, (size_t)d, sizeof *p->v);
  for (int i = 0; i < 4; i++)
    p->beta[i] = rt_calloc(rt, (size_t)d, sizeof *p->beta[i]);
  if (!p->u || !p->v || !p->beta[0] || !p->beta[1] || !p->beta[2] || !p->beta[3])
    return RT_ENOMEM;        /* the caller frees what was allocated */
  *ok = fill(m, y, p);
  return RT_OK;
}

/* A component as risk2 wants it; an isotropic law gets its factor made
 * explicit (*F, freed by the caller) — affordable up to d = 1024. */
static RtStatus problem(Rt *rt, const Parts *p, const Law *l, double noise, Risk2 *q, double **F)
{
  *F = NULL;
  int d = p->d;
  const double *factor = l->factor;
  if (l->iso > 0) {
    *F = rt_calloc(rt, (size_t)d * d, sizeof **F);
    if (!*F)
      return RT_ENOMEM;
    for (int j = 0; j < d; j++)
      (*F)[(size_t)j * d + j] = sqrt(l->iso);
    factor = *F;
  }
  Affine2 f1 = {p->beta[0], p->c[0]}, f2 = {p->beta[1], p->c[1]};
  Affine2 a = {p->beta[2], p->c[2]}, b = {p->beta[3], p->c[3]};
  *q = (Risk2){d, l->rank, l->mean, factor, p->u, p->u0, f1, f2, p->teacher,
               p->teacher ? (Affine2){NULL, 0} : a, p->v, p->v0, a, b, noise};
  return RT_OK;
}

/* Adds weight × one component's risks into out. */
static RtStatus component(Rt *rt, const Risk2 *q, double w, const double *tau, size_t ntau,
                          RiskOut *out)
{
  double R0, e0, k;
  RtStatus st = risk2_hard(rt, q, &R0, &e0);
  if (!st)
    st = risk2_kappa(rt, q, &k);
  if (st)
    return st;
  out->hard += w * R0;
  out->hard_se = hypot(out->hard_se, w * e0);
  out->kappa += w * k;
  for (size_t t = 0; t < ntau && !st; t++) {
    double g, eg;
    st = risk2_gap(rt, q, tau[t], &g, &eg);
    out->gap[t] += w * g * tau[t];
    out->gap_se[t] = hypot(out->gap_se[t], w * eg * tau[t]);
    out->soft[t] += w * (R0 + g * tau[t]);
    out->soft_se[t] = hypot(out->soft_se[t], w * hypot(e0, eg * tau[t]));
  }
  return st;
}

static RtStatus each_normal(Rt *rt, const Parts *p, const Law *l, double w, double noise,
                            const double *tau, size_t ntau, RiskOut *out)
{
  if (l->kind == LAW_MIXTURE) {
    RtStatus st = RT_OK;
    for (int i = 0; i < l->ncomp && !st; i++)
      st = each_normal(rt, p, l->comps[i], w * l->weights[i], noise, tau, ntau, out);
    return st;
  }
  Risk2 q;
  double *F;
  RtStatus st = problem(rt, p, l, noise, &q, &F);
  if (!st)
    st = component(rt, &q, w, tau, ntau, out);
  rt_free(rt, F);
  return st;
}

static int isotropic_too_big(const Law *l)
{
  if (l->kind == LAW_MIXTURE) {
    for (int i = 0; i < l->ncomp; i++)
      if (isotropic_too_big(l->comps[i]))
        return 1;
    return 0;
  }
  return l->iso > 0 && l->dim > 1024;
}

RtStatus riskquad_run(Rt *rt, const Model *m, const Target *y, const Law *x, const double *tau,
                      size_t ntau, RiskOut *out, int *ok)
{
  *ok = 0;
  if (!law_is_gaussian(x) || isotropic_too_big(x))
    return RT_OK;
  Parts p;
  RtStatus st = parts_of(rt, m, y, x->dim, &p, ok);
  if (!st && *ok) {
    out->hard = out->hard_se = out->kappa = out->kappa_se = 0;
    for (size_t t = 0; t < ntau; t++)
      out->soft[t] = out->soft_se[t] = out->gap[t] = out->gap_se[t] = 0;
    st = each_normal(rt, &p, x, 1.0, y->noise, tau, ntau, out);
  }
  parts_free(rt, &p);
  return st;
}
