/*
 * hessian.h — the Hessian of the soft risk R_τ in a model's parametric
 * parameters, its spectrum and its most unstable direction (the
 * `hessian(m, y, X, tau = t)` query; MATH.md, "Training and landscape").
 *
 * The second derivatives are analytic per sample (grad.h's layout: one row
 * of d + 1 parameters per logit or affine expert, so every block of the
 * Hessian is a weighted Gram matrix of x̃ = (x, 1), one GEMM) and averaged
 * over samples by Monte Carlo with the blocks reduced in order.
 *
 * Softmax depends on the logits only through their differences, so adding
 * one vector to every row of a linear router changes nothing: the Hessian
 * is exactly zero along those d + 1 directions.  The spectrum is that of
 * the Hessian restricted to their orthogonal complement, so that a true
 * minimum reads as one; the report says so (`gauge`).
 */
#ifndef MOE_HESSIAN_H
#define MOE_HESSIAN_H

#include "boundary.h"
#include "grad.h"

/* The largest number of parameters the query handles (the Hessian and its
 * per-block partial sums are dense). */
#define HESSIAN_MAX_PARAMS 400

/* H (np × np, row-major) = the Hessian of R_τ at θ from `samples` samples
 * under `seed`; se (may be NULL) the entries' standard errors. */
RtStatus hessian_eval(Rt *rt, const GradProblem *p, const double *theta, double tau,
                      uint64_t samples, uint64_t seed, double *H, double *se);

/* Fields eigenvalues (ascending, of the gauge-reduced Hessian), unstable
 * (the eigenvector of the smallest one, in all parameters), params,
 * classification, tolerance, min_eigenvalue, eigen_stderr, blocks and
 * block_norms (the eigenvector split by parameter block), and for K = 2
 * with a linear router unstable_separator (the direction in which the
 * separator a_1 − a_2 moves). */
RtStatus query_hessian(Rt *rt, Model *m, Target *y, const Law *x, double tau,
                       const QueryOpts *o, Result **out);

#endif
