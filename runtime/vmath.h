/*
 * vmath.h — vectorisable elementary functions over arrays, and the fused
 * softmax of the router's gate.
 *
 * Every vm_X_n(x, out, n) sets out[i] = X(x[i]) for i < n; out may equal x
 * (in place) but must not otherwise overlap it.  The results are the same
 * bits on every machine and SIMD width (AVX-512, AVX2 and baseline clones,
 * -O0 to -O3, gcc or clang) and do not depend on where an element falls in
 * the array: a call on a prefix or a tail gives the values of one long call.
 * The one exception is sin/cos/tan of |x| >= 1e5, inf and NaN, which are
 * glibc's (element by element).
 *
 * Largest error measured against long-double libm, over the sweeps of
 * tests/unit/test_vmath.c and 16M further random points per function (whole
 * domain, near 0, range ends, joins between pieces); the test checks the
 * bound in brackets:
 *
 *   exp      0.81 ulp [1]   x < -745.2 -> +0 (no slow path), x > 709.79 ->
 *                           +inf; subnormal results are produced, 0.82 ulp
 *                           (the mantissa is rounded, then the scaling
 *                           rounds once more to the subnormal grid)
 *   log      0.88 ulp [1]   subnormal x handled; log 0 = -inf, log(<0) NaN
 *   log1p    0.84 ulp [1]   series below 2^-20; log1p(-1) = -inf
 *   sqrt     correctly rounded (IEEE sqrt)
 *   sin      0.78 ulp [1]   |x| < 1e5 vectorised (including the hardest
 *   cos      0.77 ulp [1]   case below it, |x mod pi/2| = 6e-19); larger |x|,
 *   tan      0.90 ulp [1]   inf and NaN go to libm element by element
 *   tanh     0.77 ulp [1]
 *   sigmoid  0.76 ulp [1]   1/(1+e^-x) with no overflow for any x; e^x for
 *                           very negative x, subnormal results included
 *   softplus 0.82 ulp [1]   log(1+e^x): x for x > 40, e^x - e^2x/2 below -20
 *   erf      0.90 ulp [1]
 *
 * NaN in gives NaN out everywhere; ±0 keeps its sign where the function
 * does (sin, tan, tanh, log1p, erf, sqrt).
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

/* d (K × n) = a - max_k a per sample; scratch n doubles. */
void vm_shift_by_max(int K, size_t n, const double *a, size_t lda, double *d, double *scratch);

/* out[i] = Σ_k softmax_k(d/tau) f_k for shifted logits d (<= 0, K × n) and
 * values f (K × n): the soft prediction without storing the gate.  -inf
 * entries of d (masked by a top-k gate) get weight 0.  scratch n doubles. */
void vm_softmax_mix(int K, size_t n, const double *d, double inv_tau, const double *f,
                    double *out, double *scratch);

#endif
