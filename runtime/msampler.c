/*
 * msampler.c — margins of sampled blocks, in logit or x space (msampler.h).
 */
#include "msampler.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "margin.h"

int msampler_logit_space(const Router *r, const Law *l)
{
  return r->kind == ROUTER_LINEAR && law_is_gaussian(l);
}

RtStatus msampler_init(Rt *rt, MarginSampler *s, const Router *r, const Law *l, MarginSpec ms)
{
  memset(s, 0, sizeof *s);
  s->ms = ms;
  if (msampler_logit_space(r, l)) {
    RtStatus st = law_affine_image(rt, l, r->K, r->W, r->b, &s->law);
    if (!st)
      st = router_identity(rt, r->K, &s->router);
    if (st) {
      msampler_free(rt, s);
      return st;
    }
    s->logit_space = 1;
  } else {
    s->law = law_ref((Law *)l);
    s->router = router_ref((Router *)r);
  }
  return RT_OK;
}

void msampler_free(Rt *rt, MarginSampler *s)
{
  law_unref(rt, s->law);
  router_unref(rt, s->router);
  memset(s, 0, sizeof *s);
}

/* Scratch layout for B samples: x (dim·B), logits (K·B), the law's and the
 * router's own scratch, and the rank buffer of margin_gap (lo·B). */
size_t msampler_scratch(const MarginSampler *s, size_t B)
{
  return (size_t)s->law->dim * B + (size_t)s->router->K * B + law_scratch(s->law, B) +
         router_scratch(s->router, B) + (size_t)s->ms.lo * B;
}

RtStatus msampler_block(const MarginSampler *s, const SampleBlock *sb, double *scratch,
                        double *delta, BlockErr *err)
{
  size_t n = sb->n;
  int K = s->router->K;
  double *x = scratch, *a = x + (size_t)s->law->dim * n;
  double *ls = a + (size_t)K * n, *rs = ls + law_scratch(s->law, n);
  double *ranks = rs + router_scratch(s->router, n);
  law_sample(s->law, sb, x, n, ls);
  const double *logits = x;
  if (s->router->kind != ROUTER_IDENTITY) {
    RtStatus st = router_logits(s->router, n, x, n, a, n, rs, err);
    if (st)
      return st;
    logits = a;
  }
  if (s->ms.hi == 1 && s->ms.lo == 2)
    margin_top2(K, n, logits, n, delta);
  else
    margin_gap(K, s->ms.hi, s->ms.lo, n, logits, n, delta, ranks);
  return RT_OK;
}

void msampler_path(const MarginSampler *s, const Router *r, char *buf, size_t n)
{
  if (s->logit_space)
    snprintf(buf, n, "logit space: A = W X + b is normal in R^%d, sampled directly", r->K);
  else
    snprintf(buf, n, "x space: %s router over the law's samples", router_kind_name(r));
}

/* The median margin from one pilot block (its own stream), which sets the
 * scale of the widths at which M(w)/w is extrapolated to w = 0. */
RtStatus msampler_median(Rt *rt, const MarginSampler *s, uint64_t seed, double *scale)
{
  size_t n = 8192;
  double *delta = rt_array(rt, n + msampler_scratch(s, n), sizeof *delta);
  if (!delta)
    return RT_ENOMEM;
  SampleBlock sb = {seed, UINT64_MAX, 0, 0x70696c74u, n};
  BlockErr err = {0};
  RtStatus st = msampler_block(s, &sb, delta + n, delta, &err);
  if (st) {
    rt_error(rt, st, "%s", err.msg);
  } else {
    /* Median by bisecting on a threshold: no sort, no extra memory. */
    double lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++)
      hi = fmax(hi, delta[i]);
    for (int it = 0; it < 60; it++) {
      double mid = 0.5 * (lo + hi);
      size_t below = 0;
      for (size_t i = 0; i < n; i++)
        below += delta[i] <= mid;
      if (below * 2 < n)
        lo = mid;
      else
        hi = mid;
    }
    *scale = hi;
  }
  rt_free(rt, delta);
  return st;
}

