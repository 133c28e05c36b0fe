/*
 * linalg.h — the few dense linear-algebra steps the engine needs, on top of
 * OpenBLAS (cblas) and LAPACKE.  Matrices are row-major, dense, double.
 */
#ifndef MOE_LINALG_H
#define MOE_LINALG_H

#include <stddef.h>

#include "rt.h"

/* Makes OpenBLAS run single-threaded: the engine's own workers provide the
 * parallelism, and OpenBLAS threads spinning beside them on small GEMMs
 * cost more than they give.  Process-wide; called once by rt_init. */
void la_single_threaded(void);

/* Largest |a_ij - a_ji| relative to the largest |a_ij|; 0 for symmetric. */
double la_asymmetry(int n, const double *a, int *worst_i, int *worst_j);

/* Lower Cholesky factor L of an n×n symmetric positive definite matrix
 * (L Lᵀ = a), into l (n×n, upper part zero).  Returns RT_EINVAL with a
 * message naming `what` if a is not positive definite. */
RtStatus la_cholesky(Rt *rt, int n, const double *a, double *l, const char *what);

/* A factor F (n×r, r <= n) with F Fᵀ = a for a symmetric positive
 * SEMI-definite a, from its eigendecomposition; eigenvalues below
 * tol · λ_max count as zero.  *rank gets r; f must hold n×n.  Negative
 * eigenvalues beyond the tolerance are an error naming `what`. */
RtStatus la_psd_factor(Rt *rt, int n, const double *a, double *f, int *rank,
                       const char *what);

/* Eigenvalues (ascending) and, if vecs != NULL, eigenvectors (columns) of a
 * symmetric n×n matrix, via LAPACKE_dsyevd. */
RtStatus la_symeig(Rt *rt, int n, const double *a, double *vals, double *vecs);

/* c (m×n) = a (m×k) · b (k×n), all row-major with leading dimensions. */
void la_gemm(int m, int n, int k, const double *a, int lda, const double *b, int ldb,
             double *c, int ldc);

/* c (m×n) = a (m×k) · bᵀ where b is n×k. */
void la_gemm_nt(int m, int n, int k, const double *a, int lda, const double *b, int ldb,
                double *c, int ldc);

/* b (m × n, contiguous) := L b for a lower triangular m × m L (in place). */
void la_trmm_lower(int m, int n, const double *L, double *b);

/* Replaces a square n × n factor F by a lower triangular one with the same
 * F Fᵀ (from the QR factorisation of Fᵀ: no product F Fᵀ is formed, so no
 * digits are lost to squaring).  *ok = 0 leaves F as it was (a rank-deficient
 * F, whose triangular factor would not be full). */
RtStatus la_lower_factor(Rt *rt, int n, double *F, int *ok);

/* y = a (m×n) · x */
void la_gemv(int m, int n, const double *a, const double *x, double *y);

#endif
