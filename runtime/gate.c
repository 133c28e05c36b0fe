/*
 * gate.c — softmax and top-k gates on blocks, and the gate query (gate.h).
 */
#include "gate.h"

#include <math.h>
#include <string.h>

#include "boundary.h"
#include "margin.h"
#include "vmath.h"

size_t gate_scratch(const Gate *g, int K, size_t n)
{
  (void)g;
  return (size_t)(K + 2) * n;
}

/* Top-k: logits outside each sample's k largest become -inf, so the
 * softmax gives them weight 0 and renormalises over the k kept. */
static void mask_topk(int K, int k, size_t n, const double *a, size_t lda, double *masked)
{
  for (int j = 0; j < K; j++)
    memcpy(masked + (size_t)j * n, a + (size_t)j * lda, n * sizeof *masked);
  for (size_t i = 0; i < n; i++)
    for (int j = 0; j < K; j++) {
      /* rank of logit j among the sample's logits (ties: lower index first) */
      double x = a[(size_t)j * lda + i];
      int ahead = 0;
      for (int q = 0; q < K && ahead < k; q++) {
        double y = a[(size_t)q * lda + i];
        ahead += y > x || (y == x && q < j);
      }
      if (ahead >= k)
        masked[(size_t)j * n + i] = -INFINITY;
    }
}

void gate_soft(const Gate *g, int K, size_t n, const double *a, size_t lda, double tau,
               double *out, size_t ldo, double *scratch)
{
  if (g && g->kind == GATE_TOPK && g->k < K) {
    double *masked = scratch + 2 * n;
    mask_topk(K, g->k, n, a, lda, masked);
    a = masked;
    lda = n;
  }
  vm_softmax_cols(K, n, a, lda, 1 / tau, out, ldo, scratch);
}

void gate_shifted(const Gate *g, int K, size_t n, const double *a, size_t lda, double *d,
                  double *scratch)
{
  if (g && g->kind == GATE_TOPK && g->k < K) {
    double *masked = scratch + n;
    mask_topk(K, g->k, n, a, lda, masked);
    a = masked;
    lda = n;
  }
  vm_shift_by_max(K, n, a, lda, d, scratch);
}

size_t gate_shifted_size(int K, size_t n) { return (size_t)K * n; }

void gate_mix(int K, size_t n, const double *d, double tau, const double *f, double *out,
              double *scratch)
{
  vm_softmax_mix(K, n, d, 1 / tau, f, out, scratch);
}

void gate_hard(int K, size_t n, const double *a, size_t lda, double *idx)
{
  for (size_t i = 0; i < n; i++) {
    int best = 0;
    for (int k = 1; k < K; k++)
      if (a[(size_t)k * lda + i] > a[(size_t)best * lda + i])
        best = k;
    idx[i] = best;
  }
}

static RtStatus gate_rows(Rt *rt, const Model *m, const double *x, const double *a, size_t n,
                          int dim, const double *tau, size_t ntau, Result *res)
{
  int K = m->router->K;
  double *soft = rt_array(rt, (size_t)K * n, sizeof *soft);
  double *hard = rt_array(rt, n, sizeof *hard);
  double *scr = rt_array(rt, gate_scratch(m->gate, K, n), sizeof *scr);
  RtStatus st = soft && hard && scr ? RT_OK : RT_ENOMEM;
  result_rows(res, n * ntau);
  double *cx = result_col(res, "x", F_VEC, dim), *ct = result_col(res, "tau", F_NUM, 1);
  double *cs = result_col(res, "soft", F_VEC, K), *ch = result_col(res, "hard", F_INT, 1);
  if (!st && res->failed)
    st = RT_ENOMEM;
  if (!st)
    gate_hard(K, n, a, n, hard);
  for (size_t t = 0; !st && t < ntau; t++) {
    gate_soft(m->gate, K, n, a, n, tau[t], soft, n, scr);
    for (size_t i = 0; i < n; i++) {
      size_t row = i * ntau + t;
      for (int j = 0; j < dim; j++)
        cx[row * dim + j] = x[(size_t)j * n + i];
      ct[row] = tau[t];
      for (int k = 0; k < K; k++)
        cs[row * K + k] = soft[(size_t)k * n + i];
      ch[row] = hard[i];
    }
  }
  rt_free(rt, soft);
  rt_free(rt, hard);
  rt_free(rt, scr);
  return st;
}

RtStatus query_gate(Rt *rt, Model *m0, const double *pts, size_t n, int dim,
                    const double *tau, size_t ntau, Result **out)
{
  *out = NULL;
  double t0 = clock_seconds();
  for (size_t t = 0; t < ntau; t++)
    if (!(tau[t] > 0) || !isfinite(tau[t]))
      return rt_error(rt, RT_EINVAL, "tau = %g; a temperature must be finite and > 0", tau[t]);
  Model *m;
  RtStatus st = model_at_dim(rt, m0, dim, &m);
  if (st)
    return st;
  int K = m->router->K;
  double *x = rt_array(rt, (size_t)dim * n, sizeof *x), *a = rt_array(rt, (size_t)K * n, sizeof *a);
  double *rs = rt_array(rt, router_scratch(m->router, n) + 1, sizeof *rs);
  Result *res = result_new(rt, "gate");
  BlockErr err = {0};
  st = x && a && rs && res ? RT_OK : RT_ENOMEM;
  for (size_t i = 0; !st && i < n; i++)
    for (int j = 0; j < dim; j++)
      x[(size_t)j * n + i] = pts[i * dim + j];
  if (!st && (st = router_logits(m->router, n, x, n, a, n, rs, &err)))
    rt_error(rt, st, "%s", err.msg);
  if (!st) {
    result_method(res, "exact", m->gate->kind == GATE_TOPK ? "top-k softmax of the logits"
                                                           : "softmax of the logits");
    st = gate_rows(rt, m, x, a, n, dim, tau, ntau, res);
  }
  rt_free(rt, x);
  rt_free(rt, a);
  rt_free(rt, rs);
  model_unref(rt, m);
  if (st || result_check(rt, res)) {
    result_unref(res);
    return st ? st : RT_ENOMEM;
  }
  res->seconds = clock_seconds() - t0;
  *out = res;
  return RT_OK;
}
