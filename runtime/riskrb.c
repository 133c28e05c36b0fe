/*
 * riskrb.c — the Rao–Blackwell risk estimator (see riskmc.h).
 *
 * X = μ + F z is normal; the routing logits R (the model's K, and a
 * teacher's Kt) and the values V (the model's experts, and the target or the
 * teacher's experts) are affine maps of it.  With G_R = M_R F = U S Wᵀ (its
 * thin SVD, rank q), all that the routing depends on is y = Wᵀz ~ N(0, I_q):
 *   R = μ_R + (U S) y,   E[V | y] = μ_V + (G_V W) y,
 *   Cov(V | y) = G_V G_Vᵀ - (G_V W)(G_V W)ᵀ   (the same for every y).
 * So a sample draws y (q numbers, q <= K + Kt whatever d is) and the
 * squared error's conditional expectation is a closed form:
 *   E[(m - Σ g_k f_k)² | y] = (m̄ - g·f̄)² + Var m - 2 g·Cov(f, m) + gᵀ Cov(f) g,
 * with m the target (or the teacher's chosen expert, whose index is a
 * function of y).  Lower variance than sampling x, and cheaper for large d.
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "gate.h"
#include "jointmap.h"
#include "linalg.h"
#include "margin.h"
#include "riskmc.h"
#include "vm.h"

typedef struct RbCtx {
  int K, Kt;             /* model experts; teacher experts (0: an affine target) */
  int nR, nV, q;
  Law *law;              /* the law of [R; E(V|y)] in R^(nR+nV), factor rank q */
  double *CV;            /* nV × nV: Cov(V | y) */
  double *S;             /* K × K: Cov(f | y), contiguous for the GEMM */
  const Gate *gate;
} RbCtx;

/* ------------------------------------------------------------ set-up */

/* The stacked maps: routing rows (router, teacher router) and value rows
 * (experts, then the target or the teacher's experts).  0 when a part is
 * not affine. */
static int stack(const Model *m, const Target *y, int d, double *MR, double *gR, double *MV,
                 double *gV)
{
  int K = m->nexp;
  if (m->router->kind != ROUTER_LINEAR)
    return 0;
  memcpy(MR, m->router->W, (size_t)K * d * sizeof *MR);
  memcpy(gR, m->router->b, (size_t)K * sizeof *gR);
  for (int k = 0; k < K; k++)
    if (!expert_affine_coef(m->experts[k], MV + (size_t)k * d, &gV[k]))
      return 0;
  if (y->kind == TARGET_FN)
    return vm_blockfn_affine(y->fn, 0, MV + (size_t)K * d, &gV[K]);
  if (y->router->kind != ROUTER_LINEAR)
    return 0;
  memcpy(MR + (size_t)K * d, y->router->W, (size_t)y->nexp * d * sizeof *MR);
  memcpy(gR + K, y->router->b, (size_t)y->nexp * sizeof *gR);
  for (int k = 0; k < y->nexp; k++)
    if (!expert_affine_coef(y->experts[k], MV + (size_t)(K + k) * d, &gV[K + k]))
      return 0;
  return 1;
}

/* G = M F (rows × r) for the law's factor (implicit for isotropic laws). */
static void times_factor(const Law *l, const double *M, int rows, double *G)
{
  int d = l->dim, r = l->rank;
  if (l->iso > 0) {
    double s = sqrt(l->iso);
    for (size_t i = 0; i < (size_t)rows * d; i++)
      G[i] = s * M[i];
    return;
  }
  la_gemm(rows, r, d, M, d, l->factor, r, G, r);
}

/* From G_R and G_V: the factor [U S; G_V W] of [R; E(V|y)] and Cov(V|y). */
static RtStatus condition(Rt *rt, RbCtx *c, int r, double *GR, const double *GV, double *F)
{
  int nR = c->nR, nV = c->nV, m = nR < r ? nR : r;
  double *s = rt_array(rt, (size_t)m, sizeof *s), *U = rt_array(rt, (size_t)nR * m, sizeof *U);
  double *Wt = rt_array(rt, (size_t)m * r, sizeof *Wt), *sup = rt_array(rt, (size_t)m, sizeof *sup);
  RtStatus st = s && U && Wt && sup ? RT_OK : RT_ENOMEM;
  if (!st && LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', nR, r, GR, r, s, U, m, Wt, r, sup))
    st = rt_error(rt, RT_EINVAL, "the SVD of the routing logits failed");
  int q = 0;
  for (int i = 0; !st && i < m; i++)
    q += s[i] > 1e-12 * (nR > r ? nR : r) * s[0];
  c->q = q;
  for (int i = 0; !st && i < nR; i++)
    for (int j = 0; j < q; j++)
      F[(size_t)i * q + j] = U[(size_t)i * m + j] * s[j];
  /* E[V|y] = μ_V + (G_V W) y, W = the first q rows of Wt, transposed. */
  if (!st && q > 0)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nV, q, r, 1.0, GV, r, Wt, r, 0.0,
                F + (size_t)nR * q, q);
  if (!st) {
    la_gemm_nt(nV, nV, r, GV, r, GV, r, c->CV, nV);
    if (q > 0)
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nV, nV, q, -1.0, F + (size_t)nR * q,
                  q, F + (size_t)nR * q, q, 1.0, c->CV, nV);
    for (int i = 0; i < nV; i++)
      c->CV[(size_t)i * nV + i] = fmax(c->CV[(size_t)i * nV + i], 0);
  }
  rt_free(rt, s);
  rt_free(rt, U);
  rt_free(rt, Wt);
  rt_free(rt, sup);
  return st;
}

static RtStatus build(Rt *rt, RbCtx *c, const double *MR, const double *gR, const double *MV,
                      const double *gV, const Law *x)
{
  int d = x->dim, r = x->rank, nR = c->nR, nV = c->nV;
  double *GR = rt_array(rt, (size_t)nR * r, sizeof *GR), *GV = rt_array(rt, (size_t)nV * r, sizeof *GV);
  double *F = rt_calloc(rt, (size_t)(nR + nV) * (nR < r ? nR : r), sizeof *F);
  double *mean = rt_array(rt, (size_t)(nR + nV), sizeof *mean);
  RtStatus st = GR && GV && F && mean ? RT_OK : RT_ENOMEM;
  if (!st) {
    times_factor(x, MR, nR, GR);
    times_factor(x, MV, nV, GV);
    la_gemv(nR, d, MR, x->mean, mean);
    la_gemv(nV, d, MV, x->mean, mean + nR);
    for (int i = 0; i < nR; i++)
      mean[i] += gR[i];
    for (int i = 0; i < nV; i++)
      mean[nR + i] += gV[i];
    st = condition(rt, c, r, GR, GV, F);
  }
  if (!st)
    st = law_normal_factor(rt, nR + nV, mean, F, c->q, &c->law);
  for (int i = 0; !st && i < c->K; i++)
    memcpy(c->S + (size_t)i * c->K, c->CV + (size_t)i * nV, (size_t)c->K * sizeof *c->S);
  rt_free(rt, GR);
  rt_free(rt, GV);
  rt_free(rt, F);
  rt_free(rt, mean);
  return st;
}

/* ------------------------------------------------------------ per block */

/* Scratch: G ((nR+nV) × n), the law's scratch, then m̄, Var m, the top
 * index, c (K × n: Cov(f_k, m)), g (K × n), P = S g (K × n), gate work. */
typedef struct RbScratch {
  double *G, *ls, *mbar, *varm, *top, *c, *g, *P, *work;
} RbScratch;

static RbScratch rb_carve(const RbCtx *c, double *base, size_t n)
{
  RbScratch s;
  size_t K = (size_t)c->K;
  s.G = base;
  s.ls = s.G + (size_t)(c->nR + c->nV) * n;
  s.mbar = s.ls + law_scratch(c->law, n);
  s.varm = s.mbar + n;
  s.top = s.varm + n;
  s.c = s.top + n;
  s.g = s.c + K * n;
  s.P = s.g + K * n;
  s.work = s.P + K * n;
  return s;
}

static size_t rb_scratch(const void *ctx, size_t n)
{
  const RbCtx *c = ctx;
  return (size_t)(c->nR + c->nV) * n + law_scratch(c->law, n) + 3 * n +
         3 * (size_t)c->K * n + gate_scratch(c->gate, c->K, n);
}

/* The target's conditional mean and variance and its covariances with the
 * experts, per sample (a teacher's depend on which expert it picks). */
static void target_moments(const RbCtx *c, RbScratch *s, size_t n)
{
  int K = c->K, nR = c->nR, nV = c->nV;
  const double *V = s->G + (size_t)nR * n;
  if (!c->Kt) {
    memcpy(s->mbar, V + (size_t)K * n, n * sizeof *s->mbar);
    for (size_t i = 0; i < n; i++)
      s->varm[i] = c->CV[(size_t)K * nV + K];
    for (int k = 0; k < K; k++)
      for (size_t i = 0; i < n; i++)
        s->c[(size_t)k * n + i] = c->CV[(size_t)k * nV + K];
    return;
  }
  const double *T = s->G + (size_t)K * n;
  gate_hard(c->Kt, n, T, n, s->top);
  for (size_t i = 0; i < n; i++) {
    int j = K + (int)s->top[i];
    s->mbar[i] = V[(size_t)j * n + i];
    s->varm[i] = c->CV[(size_t)j * nV + j];
    for (int k = 0; k < K; k++)
      s->c[(size_t)k * n + i] = c->CV[(size_t)k * nV + j];
  }
}

static RtStatus rb_prepare(const void *ctx, const SampleBlock *sb, double *scratch,
                           BlockErr *err)
{
  const RbCtx *c = ctx;
  (void)err;
  RbScratch s = rb_carve(c, scratch, sb->n);
  law_sample(c->law, sb, s.G, sb->n, s.ls);
  target_moments(c, &s, sb->n);
  return RT_OK;
}

static void rb_hard(const void *ctx, double *scratch, size_t n, double *out)
{
  const RbCtx *c = ctx;
  RbScratch s = rb_carve(c, scratch, n);
  int K = c->K;
  const double *fbar = s.G + (size_t)c->nR * n;
  gate_hard(K, n, s.G, n, s.top);
  for (size_t i = 0; i < n; i++) {
    size_t k = (size_t)s.top[i];
    double r = s.mbar[i] - fbar[k * n + i];
    out[i] = r * r + s.varm[i] - 2 * s.c[k * n + i] + c->S[k * K + k];
  }
}

static void rb_soft(const void *ctx, double *scratch, size_t n, double tau, double *out)
{
  const RbCtx *c = ctx;
  RbScratch s = rb_carve(c, scratch, n);
  int K = c->K;
  const double *fbar = s.G + (size_t)c->nR * n;
  gate_soft(c->gate, K, n, s.G, n, tau, s.g, n, s.work);
  la_gemm(K, (int)n, K, c->S, K, s.g, (int)n, s.P, (int)n);       /* P = S g */
  for (size_t i = 0; i < n; i++)
    out[i] = 0;
  double *gf = s.top;                    /* reuse: Σ g f̄, then Σ g c */
  for (size_t i = 0; i < n; i++)
    gf[i] = 0;
  for (int k = 0; k < K; k++) {
    const double *gk = s.g + (size_t)k * n, *fk = fbar + (size_t)k * n;
    const double *ck = s.c + (size_t)k * n, *pk = s.P + (size_t)k * n;
    for (size_t i = 0; i < n; i++) {
      gf[i] += gk[i] * fk[i];
      out[i] += gk[i] * (pk[i] - 2 * ck[i]);     /* gᵀSg - 2 g·c */
    }
  }
  for (size_t i = 0; i < n; i++) {
    double r = s.mbar[i] - gf[i];
    out[i] += r * r + s.varm[i];
  }
}

/* ------------------------------------------------------------ init */

RtStatus riskrb_init(Rt *rt, const Model *m, const Target *y, const Law *x, LossFns *out,
                     int *ok)
{
  *ok = 0;
  if (x->kind != LAW_NORMAL || m->router->kind != ROUTER_LINEAR)
    return RT_OK;
  int d = x->dim, K = m->nexp, Kt = y->kind == TARGET_TEACHER ? y->nexp : 0;
  int nR = K + Kt, nV = K + (Kt ? Kt : 1);
  RbCtx *c = rt_calloc(rt, 1, sizeof *c);
  double *MR = rt_calloc(rt, (size_t)nR * d, sizeof *MR), *gR = rt_calloc(rt, (size_t)nR, sizeof *gR);
  double *MV = rt_calloc(rt, (size_t)nV * d, sizeof *MV), *gV = rt_calloc(rt, (size_t)nV, sizeof *gV);
  RtStatus st = c && MR && gR && MV && gV ? RT_OK : RT_ENOMEM;
  int affine = !st && stack(m, y, d, MR, gR, MV, gV);
  if (affine) {
    *c = (RbCtx){K, Kt, nR, nV, 0, NULL, NULL, NULL, m->gate};
    c->CV = rt_array(rt, (size_t)nV * nV, sizeof *c->CV);
    c->S = rt_array(rt, (size_t)K * K, sizeof *c->S);
    st = c->CV && c->S ? build(rt, c, MR, gR, MV, gV, x) : RT_ENOMEM;
  }
  rt_free(rt, MR);
  rt_free(rt, gR);
  rt_free(rt, MV);
  rt_free(rt, gV);
  if (st || !affine) {
    LossFns tmp = {c, NULL, NULL, NULL, NULL};
    riskrb_free(rt, &tmp);
    return st;
  }
  *out = (LossFns){c, rb_scratch, rb_prepare, rb_hard, rb_soft};
  *ok = 1;
  return RT_OK;
}

void riskrb_space(const LossFns *L, RbSpace *out)
{
  const RbCtx *c = L->ctx;
  *out = (RbSpace){c->K, c->Kt, c->q, c->nR, c->nV, c->law->mean, c->law->factor, c->CV};
}

void riskrb_free(Rt *rt, LossFns *L)
{
  RbCtx *c = L->ctx;
  if (!c)
    return;
  law_unref(rt, c->law);
  rt_free(rt, c->CV);
  rt_free(rt, c->S);
  rt_free(rt, c);
  L->ctx = NULL;
}
