/*
 * bexact.h — the exact, quadrature and conditional Monte Carlo paths of the
 * boundary queries for K >= 3 (a linear router over a normal law or a
 * mixture of normals), on top of runtime/orthant.c.
 *
 *   boundary mass     orthant probabilities of the logit differences:
 *                     bivariate normal for K = 3 (exact), Genz's algorithm
 *                     for K >= 4 (quadrature, with its error estimate);
 *   boundary density  conditional orthants (exact to K = 4, Genz beyond),
 *                     or for large K with a full-rank logit covariance the
 *                     conditional density estimator C = Σ_k E φ_{k|-k}(M_{-k})
 *                     (Monte Carlo without width bias), run in blocks on the
 *                     engine's threads.
 */
#ifndef MOE_BEXACT_H
#define MOE_BEXACT_H

#include "boundary.h"

typedef enum BPath {
  BP_MC,                 /* plain Monte Carlo (logit or x space) */
  BP_K2,                 /* K = 2 closed forms */
  BP_ORTHANT,            /* orthant probabilities (exact or Genz) */
  BP_COND                /* conditional density Monte Carlo (density only) */
} BPath;

/* The path for a boundary query (density: 1 for boundary_density).  A
 * method asked for that has no path is RT_EUNSUP with a message naming the
 * path that exists. */
RtStatus boundary_path(Rt *rt, const char *query, const Router *r, const Law *l, MarginSpec ms,
                       Method m, int density, BPath *path);

/* M(w) at nw widths by orthants, summed over the normal components; path
 * gets "exact (...)" or "quadrature (...)". */
RtStatus boundary_orthant_mass(Rt *rt, const Router *r, const Law *l, const double *w, int nw,
                               double *mass, double *err, char *path, size_t len);

/* C by conditional orthants. */
RtStatus boundary_orthant_density(Rt *rt, const Router *r, const Law *l, double *C, double *err,
                                  char *path, size_t len);

/* C by the conditional density Monte Carlo (normal law, full-rank logits). */
RtStatus boundary_cond_density(Rt *rt, const Router *r, const Law *l, const QueryOpts *o,
                               double *C, double *se, uint64_t *done);

#endif
