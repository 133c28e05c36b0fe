/*
 * boundary.h — the boundary queries: margins at points, boundary mass
 * M(w) = P(Δ(X) <= w) and its density C = lim M(w)/w.
 *
 * Each query picks its path (method "auto") or takes the one asked for:
 *   exact       a linear router over a normal law (or a mixture of normals)
 *               with K = 2: closed forms in the logit difference s = a_1 - a_2;
 *   mc          Monte Carlo — in logit space when the router is linear and
 *               the law Gaussian (the K logits are sampled directly, so the
 *               cost depends on K, not on d), else in x space.
 * The result records the method and the path taken; Monte Carlo figures
 * carry standard errors.  Routers are taken non-const because a generic
 * expression router is compiled for the law's dimension (and cached in it).
 */
#ifndef MOE_BOUNDARY_H
#define MOE_BOUNDARY_H

#include "law.h"
#include "msampler.h"
#include "result.h"
#include "router.h"

typedef enum Method { METHOD_AUTO, METHOD_EXACT, METHOD_QUADRATURE, METHOD_MC } Method;

typedef struct QueryOpts {
  uint64_t samples;
  uint64_t seed;
  Method method;
} QueryOpts;

/* "auto", "exact", "quadrature", "mc"; returns -1 for anything else. */
int method_parse(const char *s);
const char *method_name(Method m);

/* Margins at n points (pts is n × dim, row-major): columns x, margin, top,
 * second.  A generic expression router is compiled for dim. */
RtStatus query_margin(Rt *rt, Router *r, const double *pts, size_t n, int dim, MarginSpec ms,
                      Result **out);

/* M(w) at nw widths (each > 0): rows w, mass, stderr, ratio. */
RtStatus query_boundary_mass(Rt *rt, Router *r, const Law *x, const double *w, int nw,
                             MarginSpec ms, const QueryOpts *o, Result **out);

/* C = lim M(w)/w: fields value, stderr (and the bias control used by Monte
 * Carlo). */
RtStatus query_boundary_density(Rt *rt, Router *r, const Law *x, MarginSpec ms,
                                const QueryOpts *o, Result **out);

/* Seconds on a monotonic clock, for result timings. */
double clock_seconds(void);

#endif
