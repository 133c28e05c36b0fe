/*
 * quad.h — adaptive Gauss–Kronrod quadrature in one dimension.
 *
 * The routing analysis integrates smooth functions whose features live at
 * very different scales (a softmax of temperature τ = 1e-10 against a unit
 * Gaussian), so the caller marks the scales with breakpoints and the
 * integrator refines adaptively between them: a 10/21-point Gauss–Kronrod
 * pair on each subinterval, always bisecting the subinterval with the
 * largest error estimate (a max-heap).  An infinite tail starting at the
 * outermost knot c is first cut geometrically (ratio 8) from the local
 * breakpoint spacing up to S = max(1, |c|), then mapped to [0, 1) by
 * x = c' ± S·t/(1-t), so the breakpoint scale, the unit scale and everything
 * between are resolved from the first pass.  Reentrant: nothing global, so
 * an integrand may itself call quad_integrate (2-D integrals by nesting).
 */
#ifndef MOE_QUAD_H
#define MOE_QUAD_H

#include "rt.h"

/* The integrand.  Return NaN (or ±inf) to signal failure; quad_integrate
 * then stops with RT_EINVAL "integrand returned NaN at x = ...". */
typedef double (*QuadFn)(double x, void *ctx);

typedef struct QuadOpts {
  double abs_tol;   /* stop when abserr <= max(abs_tol, rel_tol·|value|) */
  double rel_tol;
  int limit;        /* max subintervals (>= 1, beyond the initial pieces) */
} QuadOpts;

typedef struct QuadResult {
  double value;     /* best estimate (Kronrod sums over all subintervals) */
  double abserr;    /* estimated absolute error (QUADPACK-style heuristic) */
  int evals;        /* integrand evaluations */
  int intervals;    /* subintervals in the final partition */
  int converged;    /* 1 if abserr met the tolerance; 0 if the limit was hit
                       or roundoff stopped refinement (value still usable) */
} QuadResult;

/* Defaults: abs_tol 1e-12, rel_tol 1e-12, limit 2000. */
void quad_default_opts(QuadOpts *opts);

/* ∫_a^b f(x) dx.  a, b may be ±INFINITY; a > b gives -∫_b^a.  breaks (may be
 * NULL when nbreaks == 0) lists points where f has kinks, singularities or a
 * change of scale; those outside (a, b) are ignored, order and repeats do
 * not matter.  opts NULL = defaults.  Not converging is NOT an error: the
 * status is RT_OK and res->converged = 0.  Errors: RT_EINVAL for NaN
 * limits/breakpoints, bad options, or a non-finite integrand value;
 * RT_ENOMEM.  The interval heap is allocated through rt and freed before
 * return on every path. */
RtStatus quad_integrate(Rt *rt, QuadFn f, void *ctx, double a, double b,
                        const double *breaks, int nbreaks, const QuadOpts *opts,
                        QuadResult *res);

#endif
