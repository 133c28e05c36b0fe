/*
 * iface.h — integrals over the routing interface: ∫ f dν.
 *
 * ν is the boundary measure p/|∇(a_i - a_j)| dH^{d-1} on the interfaces
 * Σ_ij (total mass C/2).  Paths:
 *   exact   K = 2, a linear router over a normal law (or a mixture of
 *           normals) and an affine f: ν = φ_s(0) × the law of X given s = 0,
 *           so ∫ f dν = φ_s(0) E[f(X) | s = 0], a closed form;
 *   mc      same router and law with any f: X sampled exactly on the
 *           interface (the conditional normal given s = 0) — no width bias;
 *           otherwise E[f(X) 1{Δ <= w}] / (2w) extrapolated to w = 0 from
 *           w = h, 2h, 4h (the bias control is reported).
 */
#ifndef MOE_IFACE_H
#define MOE_IFACE_H

#include "boundary.h"
#include "model.h"

/* f is an expert (any kind); fields value, stderr. */
RtStatus query_interface(Rt *rt, Router *r, const Law *x, Expert *f, const QueryOpts *o,
                         Result **out);

#endif
