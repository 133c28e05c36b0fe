/*
 * risk.h — soft and hard risk along a schedule, the gap and its first-order
 * coefficient κ (MATH.md, "The first-order coefficient of the gap").
 *
 *   R_τ = E[(Y - F_τ(X))²] = E[(m - F_τ)²] + σ²,   G(τ) = R_τ - R_0 = κτ + o(τ).
 *
 * Paths, best first (method "auto"; the result says which ran):
 *   quadrature  K = 2, a linear router over a normal law (or a mixture of
 *               normals), affine experts, and an affine target or a
 *               two-expert hard-routed affine teacher: R_τ, R_0, G/τ and κ
 *               as one-dimensional integrals (runtime/risk2.c);
 *   mc          Monte Carlo with common random numbers: one pass of samples
 *               serves every τ and R_0, so each gap's standard error is that
 *               of the paired differences.  κ is extrapolated from G(τ)/τ at
 *               three small temperatures on the same samples.
 */
#ifndef MOE_RISK_H
#define MOE_RISK_H

#include "boundary.h"
#include "model.h"

/* Rows tau, soft, soft_stderr, gap, gap_stderr, gap_over_tau; fields hard,
 * hard_stderr, kappa, kappa_stderr, noise. */
RtStatus query_risk(Rt *rt, Model *m, Target *y, const Law *x, const double *tau,
                    size_t ntau, const QueryOpts *o, Result **out);

/* Fields value (κ), stderr. */
RtStatus query_kappa(Rt *rt, Model *m, Target *y, const Law *x, const QueryOpts *o,
                     Result **out);

#endif
