/*
 * linalg.c — Cholesky, PSD factors and eigenvalues through LAPACKE, products
 * through cblas (see linalg.h).
 */
#include "linalg.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

static void set_one_thread(void) { openblas_set_num_threads(1); }

void la_single_threaded(void)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, set_one_thread);
}

double la_asymmetry(int n, const double *a, int *wi, int *wj)
{
  double worst = 0, scale = 0;
  for (int i = 0; i < n * n; i++)
    scale = fmax(scale, fabs(a[i]));
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      double d = fabs(a[i * n + j] - a[j * n + i]);
      if (d > worst) {
        worst = d;
        if (wi) *wi = i;
        if (wj) *wj = j;
      }
    }
  return scale > 0 ? worst / scale : 0;
}

RtStatus la_cholesky(Rt *rt, int n, const double *a, double *l, const char *what)
{
  memcpy(l, a, (size_t)n * n * sizeof *l);
  lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', n, l, n);
  if (info > 0)
    return rt_error(rt, RT_EINVAL,
                    "%s is not positive definite (the leading %d×%d minor is not)",
                    what, (int)info, (int)info);
  if (info < 0)
    return rt_error(rt, RT_EINVAL, "%s: LAPACK dpotrf rejected argument %d", what,
                    (int)-info);
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      l[i * n + j] = 0;
  return RT_OK;
}

RtStatus la_symeig(Rt *rt, int n, const double *a, double *vals, double *vecs)
{
  double *w = vecs ? vecs : rt_array(rt, (size_t)n * n, sizeof *w);
  if (!w)
    return RT_ENOMEM;
  memcpy(w, a, (size_t)n * n * sizeof *w);
  lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, vecs ? 'V' : 'N', 'U', n, w, n, vals);
  if (!vecs)
    rt_free(rt, w);
  if (info != 0)
    return rt_error(rt, info < 0 ? RT_EINVAL : RT_EINVAL,
                    "eigenvalue computation failed (LAPACK dsyevd info %d)", (int)info);
  return RT_OK;
}

RtStatus la_psd_factor(Rt *rt, int n, const double *a, double *f, int *rank,
                       const char *what)
{
  double *vals = rt_array(rt, (size_t)n, sizeof *vals);
  double *vecs = rt_array(rt, (size_t)n * n, sizeof *vecs);
  RtStatus st = vals && vecs ? la_symeig(rt, n, a, vals, vecs) : RT_ENOMEM;
  if (st == RT_OK) {
    double top = fmax(vals[n - 1], 0), tol = 1e-13 * n * top;
    if (vals[0] < -1e-8 * fmax(top, 1e-300) && vals[0] < -tol)
      st = rt_error(rt, RT_EINVAL, "%s is not positive semi-definite (eigenvalue %g)",
                    what, vals[0]);
    int r = 0;
    /* Columns in decreasing eigenvalue order: F[:, r] = sqrt(λ) q. */
    for (int k = n - 1; st == RT_OK && k >= 0; k--) {
      if (vals[k] <= tol)
        break;
      double s = sqrt(vals[k]);
      for (int i = 0; i < n; i++)
        f[i * n + r] = s * vecs[i * n + k];
      r++;
    }
    /* Compact to n×r row-major. */
    for (int i = 0; st == RT_OK && i < n; i++)
      memmove(f + (size_t)i * r, f + (size_t)i * n, (size_t)r * sizeof *f);
    *rank = r;
  }
  rt_free(rt, vals);
  rt_free(rt, vecs);
  return st;
}

void la_gemm(int m, int n, int k, const double *a, int lda, const double *b, int ldb,
             double *c, int ldc)
{
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, lda, b, ldb,
              0.0, c, ldc);
}

void la_gemm_nt(int m, int n, int k, const double *a, int lda, const double *b, int ldb,
                double *c, int ldc)
{
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0, a, lda, b, ldb,
              0.0, c, ldc);
}

void la_trmm_lower(int m, int n, const double *L, double *b)
{
  cblas_dtrmm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, m, n, 1.0, L,
              m, b, n);
}

RtStatus la_lower_factor(Rt *rt, int n, double *F, int *ok)
{
  *ok = 0;
  double *t = rt_array(rt, (size_t)n * n, sizeof *t), *tau = rt_array(rt, (size_t)n, sizeof *tau);
  if (!t || !tau) {
    rt_free(rt, t);
    rt_free(rt, tau);
    return RT_ENOMEM;
  }
  /* Fᵀ = Q R  =>  F Fᵀ = Rᵀ R, and Rᵀ is lower triangular. */
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      t[(size_t)j * n + i] = F[(size_t)i * n + j];
  lapack_int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, n, n, t, n, tau);
  double top = 0;
  for (int i = 0; info == 0 && i < n; i++)
    top = fmax(top, fabs(t[(size_t)i * n + i]));
  int full = info == 0 && top > 0;
  for (int i = 0; full && i < n; i++)
    full = fabs(t[(size_t)i * n + i]) > 1e-12 * n * top;
  if (full) {
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++)
        F[(size_t)i * n + j] = j <= i ? t[(size_t)j * n + i] : 0;   /* Rᵀ */
    *ok = 1;
  }
  rt_free(rt, t);
  rt_free(rt, tau);
  return RT_OK;
}

void la_gemv(int m, int n, const double *a, const double *x, double *y)
{
  cblas_dgemv(CblasRowMajor, CblasNoTrans, m, n, 1.0, a, n, x, 1, 0.0, y, 1);
}
