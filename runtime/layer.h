/*
 * layer.h — the boundary layer L(τ) = E[exp(-Δ(X)/τ)] along a schedule.
 *
 * L controls how far the soft gate is from the hard one (|g^τ - g^0|_1 <=
 * 2(K-1) e^{-Δ/τ}), and L(τ)/τ tends to the boundary density C as τ → 0.
 * K = 2 with a linear router over a normal law (or a mixture of normals) is
 * a closed form through Mills' ratio; everything else is Monte Carlo, one
 * pass of samples serving every τ (common random numbers).
 */
#ifndef MOE_LAYER_H
#define MOE_LAYER_H

#include "boundary.h"

/* Rows tau, value, stderr, over_tau (value / tau); ntau temperatures > 0.
 * ms picks the margin (the top-two margin is the boundary layer proper). */
RtStatus query_layer(Rt *rt, Router *r, const Law *x, const double *tau, size_t ntau,
                     MarginSpec ms, const QueryOpts *o, Result **out);

#endif
