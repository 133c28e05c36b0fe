/*
 * vmath.h — vectorisable elementary functions over arrays, and the fused
 * softmax of the router's gate.
 *
 * Every vm_X_n(x, out, n) sets out[i] = X(x[i]) for i < n; out may equal x
 * (in place) but must not otherwise overlap it.  The results are the same
 * bits on every machine and every SIMD width, and do not depend on where an
 * element falls in the array (a call on a prefix or a tail gives the same
 * values as one long call).  Accuracy, measured against long-double libm over
 * sweeps by tests/unit/test_vmath.c (bound checked there in brackets):
 *
 *   exp      0.81 ulp [1]      x < -745.2 -> +0, x > 709.79 -> +inf;
 *                              subnormal results are produced (the last
 *                              rounding to the subnormal grid may add up to
 *                              0.5 ulp of the smallest subnormal)
 *   log      0.6 ulp  [1]      subnormal inputs handled; log 0 = -inf
 *   log1p    0.6 ulp  [1]      log1p(-1) = -inf; accurate near 0
 *   sqrt     correctly rounded (IEEE sqrt)
 *   sin, cos 0.6 ulp  [1]      |x| < 1e5 in vector code; larger |x|, inf
 *   tan      0.9 ulp  [1.5]    and NaN go to libm element by element
 *   tanh     0.6 ulp  [1]
 *   sigmoid  0.6 ulp  [1]      1/(1+e^-x), no overflow for any x
 *   softplus 0.7 ulp  [1]      log(1+e^x): x for large x, e^x for very negative
 *   erf      0.8 ulp  [1.5]
 *
 * (The measured figures above are refreshed in test_vmath.c's output.)
 * NaN in gives NaN out everywhere; ±0 keeps its sign where the function does.
 */
#ifndef MOE_VMATH_H
#define MOE_VMATH_H

#include <stddef.h>

void vm_exp_n(const double *x, double *out, size_t n);
void vm_log_n(const double *x, double *out, size_t n);
void vm_log1p_n(const double *x, double *out, size_t n);
void vm_sqrt_n(const double *x, double *out, size_t n);
void vm_sin_n(const double *x, double *out, size_t n);
void vm_cos_n(const double *x, double *out, size_t n);
void vm_tan_n(const double *x, double *out, size_t n);
void vm_tanh_n(const double *x, double *out, size_t n);
void vm_sigmoid_n(const double *x, double *out, size_t n);
void vm_softplus_n(const double *x, double *out, size_t n);
void vm_erf_n(const double *x, double *out, size_t n);

/* Softmax over K rows for each of n samples (column layout):
 *   g[k*ldg + i] = e_k / sum_j e_j,  e_k = exp((a[k*lda + i] - m_i) * inv_tau),
 *   m_i = max_k a[k*lda + i].
 * The max entry gets exp(0) = 1 exactly, so the sum is >= 1; differences or
 * products that overflow to -inf give 0.  Hence: no NaN for finite logits and
 * finite inv_tau > 0 (up to 1e300 and beyond), ties get equal weights, tiny
 * tau gives the one-hot of the argmax (ties split evenly), huge tau gives 1/K.
 * scratch holds at least 2n doubles; g must not overlap a or scratch.
 * K <= 0 or n == 0 does nothing. */
void vm_softmax_cols(int K, size_t n, const double *a, size_t lda, double inv_tau,
                     double *g, size_t ldg, double *scratch);

#endif
