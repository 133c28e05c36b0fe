/*
 * router.c — building routers and computing logits for blocks (router.h).
 */
#include "router.h"

#include <math.h>
#include <string.h>

#include "linalg.h"

static Router *router_new(Rt *rt, RouterKind kind, int K, int dim)
{
  Router *r = rt_calloc(rt, 1, sizeof *r);
  if (r) {
    r->refs = 1;
    r->kind = kind;
    r->K = K;
    r->dim = dim;
  }
  return r;
}

static RtStatus check_k(Rt *rt, int K)
{
  if (K < 2)
    return rt_error(rt, RT_EINVAL, "a router needs K >= 2 experts (got K = %d)", K);
  return RT_OK;
}

RtStatus router_linear(Rt *rt, int K, int dim, const double *W, const double *b,
                       Router **out)
{
  *out = NULL;
  RtStatus st = check_k(rt, K);
  if (st)
    return st;
  for (size_t i = 0; i < (size_t)K * dim; i++)
    if (!isfinite(W[i]))
      return rt_error(rt, RT_EINVAL, "W[%zu][%zu] is %g; router weights must be finite",
                      i / dim, i % dim, W[i]);
  for (int i = 0; b && i < K; i++)
    if (!isfinite(b[i]))
      return rt_error(rt, RT_EINVAL, "b[%d] is %g; router biases must be finite", i, b[i]);
  Router *r = router_new(rt, ROUTER_LINEAR, K, dim);
  if (!r)
    return RT_ENOMEM;
  r->W = rt_array(rt, (size_t)K * dim, sizeof *r->W);
  r->b = rt_calloc(rt, (size_t)K, sizeof *r->b);
  if (!r->W || !r->b) {
    router_unref(rt, r);
    return RT_ENOMEM;
  }
  memcpy(r->W, W, (size_t)K * dim * sizeof *W);
  if (b)
    memcpy(r->b, b, (size_t)K * sizeof *b);
  *out = r;
  return RT_OK;
}

RtStatus router_fn(Rt *rt, BlockFn *fn, Router **out)
{
  *out = NULL;
  RtStatus st = check_k(rt, fn->out_dim);
  if (st)
    return st;
  Router *r = router_new(rt, ROUTER_FN, fn->out_dim, fn->in_dim);
  if (!r)
    return RT_ENOMEM;
  r->fn = blockfn_ref(fn);
  *out = r;
  return RT_OK;
}

RtStatus router_at_dim(Rt *rt, Router *r, int dim, Router **out)
{
  *out = NULL;
  if (r->dim == dim) {
    *out = router_ref(r);
    return RT_OK;
  }
  if (r->kind != ROUTER_FN || r->dim >= 0)
    return rt_error(rt, RT_EINVAL,
                    "the router takes inputs of dimension %d but the law has dimension %d",
                    r->dim, dim);
  BlockFn *f;
  RtStatus st = blockfn_at_dim(rt, r->fn, dim, &f);
  if (st)
    return st;
  if (f->out_dim != r->K)
    st = rt_error(rt, RT_EINVAL, "%s gives %d logits for inputs of dimension %d but %d "
                  "where it was declared", r->fn->name, f->out_dim, dim, r->K);
  else
    st = router_fn(rt, f, out);
  blockfn_unref(rt, f);
  return st;
}

RtStatus router_identity(Rt *rt, int K, Router **out)
{
  *out = NULL;
  RtStatus st = check_k(rt, K);
  if (st)
    return st;
  *out = router_new(rt, ROUTER_IDENTITY, K, K);
  return *out ? RT_OK : RT_ENOMEM;
}

Router *router_ref(Router *r)
{
  if (r)
    r->refs++;
  return r;
}

void router_unref(Rt *rt, Router *r)
{
  if (!r || --r->refs > 0)
    return;
  rt_free(rt, r->W);
  rt_free(rt, r->b);
  blockfn_unref(rt, r->fn);
  rt_free(rt, r);
}

size_t router_scratch(const Router *r, size_t n)
{
  return r->kind == ROUTER_FN ? blockfn_scratch(r->fn, n) : 0;
}

/* A NaN logit would silently become "no winner" in the margin: catch it. */
static RtStatus check_logits(const Router *r, size_t n, const double *a, size_t lda,
                             BlockErr *err)
{
  for (int k = 0; k < r->K; k++) {
    const double *row = a + (size_t)k * lda;
    double acc = 0;
    for (size_t i = 0; i < n; i++)
      acc += row[i] * 0;        /* NaN or inf anywhere makes acc NaN */
    if (isnan(acc))
      for (size_t i = 0; i < n; i++)
        if (!isfinite(row[i]))
          return block_fail(err, RT_EINVAL, "%s router gave logit %d = %g for a sample",
                            router_kind_name(r), k, row[i]);
  }
  return RT_OK;
}

RtStatus router_logits(const Router *r, size_t n, const double *x, size_t ldx, double *a,
                       size_t lda, double *scratch, BlockErr *err)
{
  switch (r->kind) {
  case ROUTER_LINEAR:
    la_gemm(r->K, (int)n, r->dim, r->W, r->dim, x, (int)ldx, a, (int)lda);
    for (int k = 0; k < r->K; k++) {
      double bk = r->b[k], *row = a + (size_t)k * lda;
      for (size_t i = 0; i < n; i++)
        row[i] += bk;
    }
    return RT_OK;
  case ROUTER_IDENTITY:
    for (int k = 0; k < r->K; k++)
      memcpy(a + (size_t)k * lda, x + (size_t)k * ldx, n * sizeof *a);
    return RT_OK;
  case ROUTER_FN: {
    RtStatus st = r->fn->eval(r->fn, n, x, ldx, a, lda, scratch, err);
    return st ? st : check_logits(r, n, a, lda, err);
  }
  }
  return RT_OK;
}

const char *router_kind_name(const Router *r)
{
  static const char *const names[] = {"linear", "expression", "identity"};
  return names[r->kind];
}
