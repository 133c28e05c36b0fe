/*
 * law.c — building, sampling and transforming input laws (see law.h).
 */
#include "law.h"

#include <math.h>
#include <string.h>

#include "linalg.h"
#include "rng.h"

static Law *law_new(Rt *rt, LawKind kind, int dim)
{
  Law *l = rt_calloc(rt, 1, sizeof *l);
  if (!l)
    return NULL;
  l->refs = 1;
  l->kind = kind;
  l->dim = dim;
  return l;
}

Law *law_ref(Law *l)
{
  if (l)
    l->refs++;
  return l;
}

void law_unref(Rt *rt, Law *l)
{
  if (!l || --l->refs > 0)
    return;
  rt_free(rt, l->mean);
  rt_free(rt, l->cov);
  rt_free(rt, l->factor);
  rt_free(rt, l->lo);
  rt_free(rt, l->hi);
  rt_free(rt, l->weights);
  for (int i = 0; i < l->ncomp; i++)
    law_unref(rt, l->comps[i]);
  rt_free(rt, l->comps);
  data_free(rt, &l->data);
  rt_free(rt, l);
}

static double *copy_or(Rt *rt, const double *src, size_t n, double fill)
{
  double *d = rt_array(rt, n, sizeof *d);
  if (!d)
    return NULL;
  for (size_t i = 0; i < n; i++)
    d[i] = src ? src[i] : fill;
  return d;
}

static RtStatus check_finite(Rt *rt, const double *v, size_t n, const char *what)
{
  for (size_t i = 0; v && i < n; i++)
    if (!isfinite(v[i]))
      return rt_error(rt, RT_EINVAL, "%s has a non-finite entry (%g at index %zu)", what,
                      v[i], i);
  return RT_OK;
}

/* Symmetry first (its own message names the offending pair), then the
 * Cholesky factor, whose failure means "not positive definite". */
static RtStatus factor_cov(Rt *rt, Law *l, const char *what)
{
  int d = l->dim, wi = 0, wj = 0;
  if (la_asymmetry(d, l->cov, &wi, &wj) > 1e-12)
    return rt_error(rt, RT_EINVAL, "%s is not symmetric (cov[%d][%d] = %g but cov[%d][%d] = %g)",
                    what, wi, wj, l->cov[wi * d + wj], wj, wi, l->cov[wj * d + wi]);
  for (int i = 0; i < d; i++)
    if (!(l->cov[i * d + i] > 0))
      return rt_error(rt, RT_EINVAL,
                      "%s is not positive definite (variance cov[%d][%d] = %g is not > 0)",
                      what, i, i, l->cov[i * d + i]);
  l->factor = rt_array(rt, (size_t)d * d, sizeof *l->factor);
  if (!l->factor)
    return RT_ENOMEM;
  l->rank = d;
  l->tri = 1;
  return la_cholesky(rt, d, l->cov, l->factor, what);
}

RtStatus law_normal_iso(Rt *rt, int dim, const double *mean, double var, Law **out)
{
  *out = NULL;
  if (dim < 1)
    return rt_error(rt, RT_EINVAL, "a normal law needs dimension >= 1 (got %d)", dim);
  if (!(var > 0) || !isfinite(var))
    return rt_error(rt, RT_EINVAL, "the variance of a normal law must be finite and > 0, not %g",
                    var);
  RtStatus st = check_finite(rt, mean, (size_t)dim, "the mean");
  if (st)
    return st;
  Law *l = law_new(rt, LAW_NORMAL, dim);
  if (!l)
    return RT_ENOMEM;
  l->mean = copy_or(rt, mean, (size_t)dim, 0);
  if (!l->mean) {
    law_unref(rt, l);
    return RT_ENOMEM;
  }
  l->iso = var;
  l->rank = dim;
  *out = l;
  return RT_OK;
}

void law_factor_t(const Law *l, const double *v, double *out)
{
  if (l->iso > 0) {
    double s = sqrt(l->iso);
    for (int j = 0; j < l->dim; j++)
      out[j] = s * v[j];
    return;
  }
  for (int q = 0; q < l->rank; q++)
    out[q] = 0;
  for (int j = 0; j < l->dim; j++)
    for (int q = 0; q < l->rank; q++)
      out[q] += l->factor[(size_t)j * l->rank + q] * v[j];
}

void law_factor_apply(const Law *l, const double *v, double *out)
{
  if (l->iso > 0) {
    double s = sqrt(l->iso);
    for (int j = 0; j < l->dim; j++)
      out[j] = s * v[j];
    return;
  }
  for (int j = 0; j < l->dim; j++) {
    out[j] = 0;
    for (int q = 0; q < l->rank; q++)
      out[j] += l->factor[(size_t)j * l->rank + q] * v[q];
  }
}

double law_var_diff(const Law *l, const double *a, const double *b)
{
  double v = 0;
  if (l->iso > 0) {
    for (int j = 0; j < l->dim; j++) {
      double u = a[j] - (b ? b[j] : 0);
      v += u * u;
    }
    return l->iso * v;
  }
  for (int q = 0; q < l->rank; q++) {
    double t = 0;
    for (int j = 0; j < l->dim; j++)
      t += l->factor[(size_t)j * l->rank + q] * (a[j] - (b ? b[j] : 0));
    v += t * t;
  }
  return v;
}

double law_sd_diff(const Law *l, const double *a, const double *b)
{
  /* The components of Fᵀ(a - b), scaled by the largest before squaring,
   * so logits of size 1e300 give sd ≈ 1e300 instead of sqrt(inf). */
  int n = l->iso > 0 ? l->dim : l->rank;
  double big = 0;
  for (int pass = 0; pass < 2; pass++) {
    double v = 0;
    for (int q = 0; q < n; q++) {
      double t = 0;
      if (l->iso > 0)
        t = a[q] - (b ? b[q] : 0);
      else
        for (int j = 0; j < l->dim; j++)
          t += l->factor[(size_t)j * l->rank + q] * (a[j] - (b ? b[j] : 0));
      if (pass == 0) {
        if (!(fabs(t) <= big))
          big = fabs(t);           /* NaN and inf end up here too */
      } else {
        v += (t / big) * (t / big);
      }
    }
    if (pass == 0 && !(big > 0 && isfinite(big)))
      return big;                  /* 0, inf or NaN: nothing to scale */
    if (pass == 1)
      return big * sqrt(l->iso > 0 ? l->iso * v : v);
  }
  return 0;
}

double law_cov(const Law *l, int i, int j)
{
  if (l->iso > 0)
    return i == j ? l->iso : 0;
  return l->cov[(size_t)i * l->dim + j];
}

RtStatus law_normal(Rt *rt, int dim, const double *mean, const double *cov,
                    const char *what, Law **out)
{
  *out = NULL;
  if (dim < 1)
    return rt_error(rt, RT_EINVAL, "a normal law needs dimension >= 1 (got %d)", dim);
  if (!cov)
    return law_normal_iso(rt, dim, mean, 1.0, out);
  RtStatus st = check_finite(rt, mean, (size_t)dim, "the mean");
  if (!st)
    st = check_finite(rt, cov, (size_t)dim * dim, what);
  if (st)
    return st;
  Law *l = law_new(rt, LAW_NORMAL, dim);
  if (!l)
    return RT_ENOMEM;
  l->mean = copy_or(rt, mean, (size_t)dim, 0);
  l->cov = rt_array(rt, (size_t)dim * dim, sizeof *l->cov);
  if (!l->mean || !l->cov) {
    law_unref(rt, l);
    return RT_ENOMEM;
  }
  memcpy(l->cov, cov, (size_t)dim * dim * sizeof *cov);
  st = factor_cov(rt, l, what);
  if (st) {
    law_unref(rt, l);
    return st;
  }
  *out = l;
  return RT_OK;
}

RtStatus law_normal_factor(Rt *rt, int dim, const double *mean, const double *f,
                           int rank, Law **out)
{
  *out = NULL;
  Law *l = law_new(rt, LAW_NORMAL, dim);
  if (!l)
    return RT_ENOMEM;
  l->rank = rank;
  l->mean = copy_or(rt, mean, (size_t)dim, 0);
  l->factor = copy_or(rt, f, (size_t)dim * (rank ? rank : 1), 0);
  l->cov = rt_calloc(rt, (size_t)dim * dim, sizeof *l->cov);
  if (!l->mean || !l->factor || !l->cov) {
    law_unref(rt, l);
    return RT_ENOMEM;
  }
  if (rank > 0)
    la_gemm_nt(dim, dim, rank, f, rank, f, rank, l->cov, dim);
  *out = l;
  return RT_OK;
}

RtStatus law_uniform(Rt *rt, int dim, const double *lo, const double *hi, Law **out)
{
  *out = NULL;
  for (int j = 0; j < dim; j++)
    if (!(lo[j] < hi[j]) || !isfinite(lo[j]) || !isfinite(hi[j]))
      return rt_error(rt, RT_EINVAL,
                      "a uniform law needs finite lo < hi in every coordinate "
                      "(coordinate %d has lo = %g, hi = %g)", j, lo[j], hi[j]);
  Law *l = law_new(rt, LAW_UNIFORM, dim);
  if (!l)
    return RT_ENOMEM;
  l->lo = copy_or(rt, lo, (size_t)dim, 0);
  l->hi = copy_or(rt, hi, (size_t)dim, 0);
  if (!l->lo || !l->hi) {
    law_unref(rt, l);
    return RT_ENOMEM;
  }
  *out = l;
  return RT_OK;
}

RtStatus law_mixture(Rt *rt, int n, const double *weights, Law *const *comps, Law **out)
{
  *out = NULL;
  double total = 0;
  if (n < 1)
    return rt_error(rt, RT_EINVAL, "a mixture needs at least one component");
  for (int i = 0; i < n; i++) {
    if (!(weights[i] >= 0) || !isfinite(weights[i]))
      return rt_error(rt, RT_EINVAL, "mixture weight %d is %g; weights must be >= 0", i,
                      weights[i]);
    if (comps[i]->dim != comps[0]->dim)
      return rt_error(rt, RT_EINVAL,
                      "mixture components differ in dimension (component 0 has %d, "
                      "component %d has %d)", comps[0]->dim, i, comps[i]->dim);
    total += weights[i];
  }
  if (!(total > 0))
    return rt_error(rt, RT_EINVAL, "mixture weights sum to 0");
  Law *l = law_new(rt, LAW_MIXTURE, comps[0]->dim);
  if (!l)
    return RT_ENOMEM;
  l->weights = rt_array(rt, (size_t)n, sizeof *l->weights);
  l->comps = rt_calloc(rt, (size_t)n, sizeof *l->comps);
  if (!l->weights || !l->comps) {
    law_unref(rt, l);
    return RT_ENOMEM;
  }
  l->ncomp = n;
  for (int i = 0; i < n; i++) {
    l->weights[i] = weights[i] / total;
    l->comps[i] = law_ref(comps[i]);
  }
  *out = l;
  return RT_OK;
}

RtStatus law_empirical(Rt *rt, DataMatrix *data, int replace, Law **out)
{
  *out = NULL;
  if (data->rows == 0 || data->cols == 0)
    return rt_error(rt, RT_EINVAL, "an empirical law needs at least one row");
  if (data->cols > 1000000)
    return rt_error(rt, RT_EINVAL, "an empirical law of %zu columns is too wide", data->cols);
  Law *l = law_new(rt, LAW_EMPIRICAL, (int)data->cols);
  if (!l)
    return RT_ENOMEM;
  l->data = *data;
  memset(data, 0, sizeof *data);
  l->replace = replace;
  *out = l;
  return RT_OK;
}

const char *law_kind_name(const Law *l)
{
  static const char *const names[] = {"normal", "uniform", "mixture", "empirical"};
  return names[l->kind];
}

int law_is_gaussian(const Law *l)
{
  if (l->kind == LAW_NORMAL)
    return 1;
  if (l->kind != LAW_MIXTURE)
    return 0;
  for (int i = 0; i < l->ncomp; i++)
    if (!law_is_gaussian(l->comps[i]))
      return 0;
  return 1;
}

/* ------------------------------------------------------------- sampling */

uint32_t law_substream(uint32_t sub, uint32_t i)
{
  uint32_t h = sub * 0x9E3779B1u ^ (i + 1) * 0x85EBCA77u;
  h ^= h >> 16;
  h *= 0x7FEB352Du;
  h ^= h >> 15;
  h *= 0x846CA68Bu;
  h ^= h >> 16;
  return h;
}

size_t law_scratch(const Law *l, size_t n)
{
  switch (l->kind) {
  case LAW_NORMAL: return l->iso > 0 ? 1 : (size_t)(l->rank ? l->rank : 1) * n;
  case LAW_UNIFORM: return n;
  case LAW_EMPIRICAL: return n;
  case LAW_MIXTURE: {
    size_t child = 0;
    for (int i = 0; i < l->ncomp; i++) {
      size_t c = law_scratch(l->comps[i], n);
      child = c > child ? c : child;
    }
    return 2 * n + (size_t)l->dim * n + child;
  }
  }
  return 0;
}

/* X = mean + F Z: normals for block sb, one row of Z per factor column. */
static void sample_normal(const Law *l, const SampleBlock *sb, double *x, size_t ld,
                          double *z)
{
  size_t n = sb->n;
  int d = l->dim, r = l->rank;
  RngStream s;
  rng_init(&s, sb->seed, sb->block, sb->sub);
  if (l->iso > 0) {
    /* x = mean + √iso · z, straight into x */
    double sd = sqrt(l->iso);
    for (int j = 0; j < d; j++) {
      double *row = x + (size_t)j * ld;
      rng_normal(&s, row, n);
      for (size_t i = 0; i < n; i++)
        row[i] = l->mean[j] + sd * row[i];
    }
    return;
  }
  if (r > 0 && l->tri) {
    /* x = mean + L z with L lower triangular: half a GEMM's work, in place
     * when x is one contiguous block */
    double *w = ld == n ? x : z;
    rng_normal(&s, w, (size_t)r * n);
    la_trmm_lower(r, (int)n, l->factor, w);
    for (int j = 0; j < d; j++) {
      double m = l->mean[j], *row = x + (size_t)j * ld, *wj = w + (size_t)j * n;
      for (size_t i = 0; i < n; i++)
        row[i] = m + wj[i];
    }
    return;
  }
  if (r > 0) {
    rng_normal(&s, z, (size_t)r * n);
    la_gemm(d, (int)n, r, l->factor, r, z, (int)n, x, (int)ld);
  }
  for (int j = 0; j < d; j++) {
    double m = l->mean[j], *row = x + (size_t)j * ld;
    if (r == 0)
      for (size_t i = 0; i < n; i++)
        row[i] = m;
    else
      for (size_t i = 0; i < n; i++)
        row[i] += m;
  }
}

static void sample_uniform(const Law *l, const SampleBlock *sb, double *x, size_t ld,
                           double *u)
{
  RngStream s;
  rng_init(&s, sb->seed, sb->block, sb->sub);
  for (int j = 0; j < l->dim; j++) {
    double lo = l->lo[j], w = l->hi[j] - l->lo[j], *row = x + (size_t)j * ld;
    rng_uniform(&s, u, sb->n);
    for (size_t i = 0; i < sb->n; i++)
      row[i] = lo + w * u[i];
  }
}

static void sample_empirical(const Law *l, const SampleBlock *sb, double *x, size_t ld,
                             double *scratch)
{
  size_t n = sb->n, cols = l->data.cols, rows = l->data.rows;
  uint64_t *idx = (uint64_t *)scratch;
  if (l->replace) {
    RngStream s;
    rng_init(&s, sb->seed, sb->block, sb->sub);
    rng_below_n(&s, rows, idx, n);
  } else {
    for (size_t i = 0; i < n; i++)
      idx[i] = (sb->first + i) % rows;
  }
  for (size_t i = 0; i < n; i++) {
    const double *row = l->data.data + idx[i] * cols;
    for (size_t j = 0; j < cols; j++)
      x[j * ld + i] = row[j];
  }
}

/* Each sample picks a component (consumer 0); the samples of component c
 * are drawn together from consumer c + 1 and scattered back in order. */
static void sample_mixture(const Law *l, const SampleBlock *sb, double *x, size_t ld,
                           double *scratch)
{
  size_t n = sb->n;
  int d = l->dim;
  double *u = scratch, *which = scratch + n, *buf = scratch + 2 * n;
  double *child = buf + (size_t)d * n;
  RngStream s;
  rng_init(&s, sb->seed, sb->block, law_substream(sb->sub, 0));
  rng_uniform(&s, u, n);
  for (size_t i = 0; i < n; i++) {
    double acc = 0;
    int c = l->ncomp - 1;
    for (int k = 0; k < l->ncomp - 1; k++) {
      acc += l->weights[k];
      if (u[i] < acc) {
        c = k;
        break;
      }
    }
    which[i] = c;
  }
  for (int c = 0; c < l->ncomp; c++) {
    size_t nc = 0;
    for (size_t i = 0; i < n; i++)
      nc += which[i] == c;
    if (nc == 0)
      continue;
    SampleBlock cb = *sb;
    cb.sub = law_substream(sb->sub, (uint32_t)c + 1);
    cb.n = nc;
    law_sample(l->comps[c], &cb, buf, nc, child);
    for (size_t i = 0, t = 0; i < n; i++)
      if (which[i] == c) {
        for (int j = 0; j < d; j++)
          x[(size_t)j * ld + i] = buf[(size_t)j * nc + t];
        t++;
      }
  }
}

void law_sample(const Law *l, const SampleBlock *sb, double *x, size_t ld, double *scratch)
{
  switch (l->kind) {
  case LAW_NORMAL: sample_normal(l, sb, x, ld, scratch); break;
  case LAW_UNIFORM: sample_uniform(l, sb, x, ld, scratch); break;
  case LAW_EMPIRICAL: sample_empirical(l, sb, x, ld, scratch); break;
  case LAW_MIXTURE: sample_mixture(l, sb, x, ld, scratch); break;
  }
}

/* ------------------------------------------------------------- transforms */

/* The image of a normal law: mean W m + b and factor W F; a factor wider
 * than k is compressed to a k × rank one, so sampling the logits costs
 * O(k²) per sample whatever the input dimension. */
static RtStatus affine_normal(Rt *rt, const Law *l, int k, const double *w,
                              const double *b, Law **out)
{
  int d = l->dim, r = l->rank;
  double *mean = rt_array(rt, (size_t)k, sizeof *mean);
  double *f = rt_array(rt, (size_t)k * (r > k ? (size_t)r : (size_t)k), sizeof *f);
  RtStatus st = mean && f ? RT_OK : RT_ENOMEM;
  if (!st) {
    la_gemv(k, d, w, l->mean, mean);
    for (int i = 0; b && i < k; i++)
      mean[i] += b[i];
    if (l->iso > 0)
      for (size_t i = 0; i < (size_t)k * d; i++)
        f[i] = sqrt(l->iso) * w[i];       /* W (√iso I) */
    else if (r > 0)
      la_gemm(k, r, d, w, d, l->factor, r, f, r);
  }
  if (!st && r > k) {
    double *c = rt_array(rt, (size_t)k * k, sizeof *c);
    if (!c)
      st = RT_ENOMEM;
    if (!st) {
      la_gemm_nt(k, k, r, f, r, f, r, c, k);
      st = la_psd_factor(rt, k, c, f, &r, "the logit covariance");
    }
    rt_free(rt, c);
  }
  int tri = 0;
  if (!st && r == k)
    st = la_lower_factor(rt, k, f, &tri);
  if (!st)
    st = law_normal_factor(rt, k, mean, f, r, out);
  if (!st)
    (*out)->tri = tri;
  rt_free(rt, mean);
  rt_free(rt, f);
  return st;
}

RtStatus law_affine_image(Rt *rt, const Law *l, int k, const double *w, const double *b,
                          Law **out)
{
  *out = NULL;
  if (!law_is_gaussian(l))
    return RT_OK;
  if (l->kind == LAW_NORMAL)
    return affine_normal(rt, l, k, w, b, out);
  Law **imgs = rt_calloc(rt, (size_t)l->ncomp, sizeof *imgs);
  if (!imgs)
    return RT_ENOMEM;
  RtStatus st = RT_OK;
  for (int i = 0; i < l->ncomp && !st; i++)
    st = law_affine_image(rt, l->comps[i], k, w, b, &imgs[i]);
  if (!st)
    st = law_mixture(rt, l->ncomp, l->weights, imgs, out);
  for (int i = 0; i < l->ncomp; i++)
    law_unref(rt, imgs[i]);
  rt_free(rt, imgs);
  return st;
}

/* ------------------------------------------------------------- moments */

static void moments_mixture(const Law *l, double *mean, double *cov, double *m, double *c)
{
  int d = l->dim;
  memset(mean, 0, (size_t)d * sizeof *mean);
  memset(cov, 0, (size_t)d * d * sizeof *cov);
  for (int k = 0; k < l->ncomp; k++) {
    law_moments(l->comps[k], m, c);
    double w = l->weights[k];
    for (int i = 0; i < d; i++) {
      mean[i] += w * m[i];
      for (int j = 0; j < d; j++)
        cov[i * d + j] += w * (c[i * d + j] + m[i] * m[j]);
    }
  }
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++)
      cov[i * d + j] -= mean[i] * mean[j];
}

static void moments_empirical(const Law *l, double *mean, double *cov)
{
  size_t n = l->data.rows, d = l->data.cols;
  const double *x = l->data.data;
  memset(mean, 0, d * sizeof *mean);
  memset(cov, 0, d * d * sizeof *cov);
  for (size_t r = 0; r < n; r++)
    for (size_t i = 0; i < d; i++)
      mean[i] += x[r * d + i] / (double)n;
  for (size_t r = 0; r < n; r++)
    for (size_t i = 0; i < d; i++)
      for (size_t j = 0; j < d; j++)
        cov[i * d + j] += (x[r * d + i] - mean[i]) * (x[r * d + j] - mean[j]) / (double)n;
}

int law_moments(const Law *l, double *mean, double *cov)
{
  int d = l->dim;
  switch (l->kind) {
  case LAW_NORMAL:
    memcpy(mean, l->mean, (size_t)d * sizeof *mean);
    for (int i = 0; i < d; i++)
      for (int j = 0; j < d; j++)
        cov[i * d + j] = law_cov(l, i, j);
    return 1;
  case LAW_UNIFORM:
    for (int i = 0; i < d; i++) {
      mean[i] = 0.5 * (l->lo[i] + l->hi[i]);
      for (int j = 0; j < d; j++) {
        double w = l->hi[i] - l->lo[i];
        cov[i * d + j] = i == j ? w * w / 12 : 0;
      }
    }
    return 1;
  case LAW_EMPIRICAL:
    moments_empirical(l, mean, cov);
    return 0;
  case LAW_MIXTURE: {
    /* Small dims only (tests, exact paths): scratch on the stack. */
    if (d > 64)
      return 0;
    double m[64], c[64 * 64];
    moments_mixture(l, mean, cov, m, c);
    return 1;
  }
  }
  return 0;
}
