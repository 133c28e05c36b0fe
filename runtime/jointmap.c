/*
 * jointmap.c — stacking the affine maps of a risk problem (jointmap.h).
 */
#include "jointmap.h"

#include <string.h>

#include "vm.h"

int expert_affine_coef(const Expert *e, double *beta, double *c)
{
  if (e->kind == EXPERT_AFFINE) {
    memcpy(beta, e->beta, (size_t)e->dim * sizeof *beta);
    *c = e->c;
    return 1;
  }
  return vm_blockfn_affine(e->fn, 0, beta, c);
}

static int router_rows(const Router *r, double *M, double *g0)
{
  if (r->kind != ROUTER_LINEAR)
    return 0;
  memcpy(M, r->W, (size_t)r->K * r->dim * sizeof *M);
  memcpy(g0, r->b, (size_t)r->K * sizeof *g0);
  return 1;
}

static int expert_rows(Expert *const *ex, int n, int d, double *M, double *g0)
{
  for (int k = 0; k < n; k++)
    if (!expert_affine_coef(ex[k], M + (size_t)k * d, &g0[k]))
      return 0;
  return 1;
}

/* Fills the rows; 0 when some part is not affine. */
static int fill(const Model *m, const Target *y, int d, JointMap *j)
{
  if (!router_rows(m->router, j->M + (size_t)j->off_a * d, j->g0 + j->off_a) ||
      !expert_rows(m->experts, j->K, d, j->M + (size_t)j->off_f * d, j->g0 + j->off_f))
    return 0;
  if (y->kind == TARGET_FN)
    return vm_blockfn_affine(y->fn, 0, j->M + (size_t)j->off_m * d, &j->g0[j->off_m]);
  return router_rows(y->router, j->M + (size_t)j->off_t * d, j->g0 + j->off_t) &&
         expert_rows(y->experts, j->Kt, d, j->M + (size_t)j->off_h * d, j->g0 + j->off_h);
}

RtStatus jointmap_build(Rt *rt, const Model *m, const Target *y, const Law *x, JointMap *j,
                        int *ok)
{
  memset(j, 0, sizeof *j);
  *ok = 0;
  if (!law_is_gaussian(x) || m->router->kind != ROUTER_LINEAR)
    return RT_OK;
  int d = x->dim;
  j->K = m->nexp;
  j->Kt = y->kind == TARGET_TEACHER ? y->nexp : 0;
  j->off_a = 0;
  j->off_f = j->K;
  j->off_m = j->off_t = 2 * j->K;
  j->off_h = 2 * j->K + j->Kt;
  j->R = j->Kt ? 2 * j->K + 2 * j->Kt : 2 * j->K + 1;
  j->M = rt_calloc(rt, (size_t)j->R * d, sizeof *j->M);
  j->g0 = rt_calloc(rt, (size_t)j->R, sizeof *j->g0);
  if (!j->M || !j->g0) {
    jointmap_free(rt, j);
    return RT_ENOMEM;
  }
  if (!fill(m, y, d, j)) {
    jointmap_free(rt, j);
    return RT_OK;
  }
  RtStatus st = law_affine_image(rt, x, j->R, j->M, j->g0, &j->law);
  if (st) {
    jointmap_free(rt, j);
    return st;
  }
  *ok = j->law != NULL;
  return RT_OK;
}

void jointmap_free(Rt *rt, JointMap *j)
{
  rt_free(rt, j->M);
  rt_free(rt, j->g0);
  law_unref(rt, j->law);
  memset(j, 0, sizeof *j);
}
