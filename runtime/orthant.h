/*
 * orthant.h — boundary mass M(w) and boundary density C of a linear router
 * over a normal law, computed in logit space.
 *
 * The logits A = W X + b of X = mean + F Z (Z standard normal in R^r) are
 * normal in R^K, so the top-two margin Δ = A_(1) - A_(2) has
 *   M(w) = P(Δ <= w)        (orthant_mass)
 *   C    = lim_{w→0} M(w)/w (orthant_density: pairwise conditional orthants;
 *                            orthant_density_mc: conditional Monte Carlo).
 * Which density path suits a law: orthant_density_path (orthants for small K
 * or a singular logit covariance, the conditional Monte Carlo for large K),
 * or let orthant_density_auto pick.
 *
 * Conventions: F == NULL means F = I (r = d, Σ = I, so G = W F = W and no
 * d×d identity is ever formed); b == NULL and mean == NULL mean zero.
 * Matrices are row-major.  Errors: RT_EINVAL (bad shapes, non-finite
 * entries, negative or NaN widths, bad options), RT_EUNSUP (a path that does
 * not exist for this law: the orthant path beyond ORTHANT_MAX_K, the
 * conditional Monte Carlo for a singular logit covariance), RT_ENOMEM,
 * RT_EINTR.  Nothing here prints, exits or uses threads of its own (BLAS
 * may).  Same inputs and seed ⇒ bitwise identical results.
 */
#ifndef MOE_ORTHANT_H
#define MOE_ORTHANT_H

#include <stddef.h>
#include <stdint.h>

#include "rt.h"

enum {
  ORTHANT_SMALL_K = 12,  /* orthant_density_path: orthants up to here */
  ORTHANT_MAX_K = 64     /* orthant paths refuse (RT_EUNSUP) beyond this */
};

/* The law of A = W X + b for X = mean + F Z. */
typedef struct LogitLaw {
  int K, d, r;                     /* r is ignored (taken = d) when F == NULL */
  const double *W, *b, *mean, *F;  /* W K×d, b K, mean d, F d×r */
} LogitLaw;

/* Targets for the orthant paths: the reported err should end up
 * <= max(abs_tol, rel_tol·|result|) (abs_tol in the result's units: a
 * probability for M, 1/logit-units for C).  Only the Genz paths (K >= 4
 * for M, K >= 5 for C) spend effort on it; the cost grows quickly with the
 * precision (K = 12 density: ~0.2 s at rel_tol 1e-3, ~8 s at 1e-4).
 * max_evals caps each Genz call (hitting it is not an error: err then
 * exceeds the target); seed randomises the Genz lattices. */
typedef struct OrthantOpts {
  double abs_tol, rel_tol;
  uint64_t seed;
  long max_evals;
} OrthantOpts;

/* abs_tol 1e-12, rel_tol 1e-4, seed 0, max_evals 1,000,000 per call. */
void orthant_default_opts(OrthantOpts *o);

/* M(w) at nw widths w[i] >= 0 (+INFINITY allowed) into mass[i]; err[i] (may
 * be NULL) is an error estimate: a rounding bound on the exact paths, else
 * one standard error of the Genz estimates (root-sum-square) PLUS the
 * summed upper bounds of the terms pruned as negligible (those are not
 * standard errors; the true value is below mass + err in practice).
 * Paths: K = 2 a normal interval; K = 3 bivariate normals, or when M < 0.1
 * a 1-D Gauss–Kronrod integral over the slab (relative precision ~1e-13
 * even for w = 1e-13); K >= 4 Genz, on 1 - Σ_i P(i wins by > w) when M is
 * large (absolute error) and on the slab probabilities
 * P(0 <= A_i - A_j <= w, A_j second) when it is small (relative error).
 * method (may be NULL) names the path(s): "exact (normal interval)",
 * "exact (bivariate normal; 1-D Gauss-Kronrod over the slab)",
 * "quadrature (Genz, N evaluations[; slab form for small M])", ...
 * K > ORTHANT_MAX_K: RT_EUNSUP. */
RtStatus orthant_mass(Rt *rt, const LogitLaw *L, const double *w, int nw,
                      const OrthantOpts *o, double *mass, double *err,
                      char *method, size_t method_len);

/* C = 2 Σ_{i<j} φ_ij(0) P(A_i >= A_k ∀k | A_i = A_j), each pair's
 * conditional orthant in K - 2 dimensions (K = 2: closed form, K = 3: Φ,
 * K = 4: bivariate normal — all to ~1e-14 relative —, K >= 5: Genz), pairs
 * pruned by an upper bound against a tolerance relative to the running
 * total.  err as for orthant_mass.  method: "exact (normal density)",
 * "exact (normal distribution function)", "exact (bivariate normal)",
 * "quadrature (Genz, N evaluations[; P of Q pairs, the rest bounded by
 * B])".  Two logits that are identical (same row after F, same mean) tie
 * with positive probability: C = +INFINITY, err 0, RT_OK, method
 * "infinite (...)".  K > ORTHANT_MAX_K: RT_EUNSUP. */
RtStatus orthant_density(Rt *rt, const LogitLaw *L, const OrthantOpts *o, double *C,
                         double *err, char *method, size_t method_len);

/* C by conditional Monte Carlo without width bias:
 *   C = Σ_k E[ φ_{k|-k}(max_{j≠k} A_j) ],
 * φ_{k|-k} the normal density of A_k given the other logits.  Unbiased;
 * *stderr_ is one standard error.  Needs Cov(A) of rank K: d < K, r < K,
 * repeated rows or |R_kk| < 1e-10 max|R_kk| in the QR of Gᵀ give
 * RT_EUNSUP (use orthant_density).  samples >= 2; single-threaded;
 * deterministic for (seed, rt->block): block b of rt->block samples draws
 * its K×n normals from rng stream (seed, b, substream 0). */
RtStatus orthant_density_mc(Rt *rt, const LogitLaw *L, uint64_t samples, uint64_t seed,
                            double *C, double *stderr_);

typedef enum OrthantPath {
  ORTHANT_PATH_ORTHANTS,  /* orthant_density */
  ORTHANT_PATH_COND_MC,   /* orthant_density_mc */
  ORTHANT_PATH_NONE       /* K > ORTHANT_MAX_K with a structurally singular
                             Cov(A): neither path applies */
} OrthantPath;

/* Cheap (no factorisation): orthants when K <= ORTHANT_SMALL_K, or when
 * Cov(A) is structurally singular (d < K, r < K, or two equal rows of W) and
 * K <= ORTHANT_MAX_K; the conditional Monte Carlo otherwise.  A numerically
 * singular Cov(A) the check cannot see makes orthant_density_mc return
 * RT_EUNSUP; orthant_density_auto then falls back to orthants if K allows. */
OrthantPath orthant_density_path(const LogitLaw *L);

/* orthant_density or orthant_density_mc (with `samples`, seed o->seed) as
 * orthant_density_path says, falling back to orthants when the MC finds
 * Cov(A) numerically singular and K <= ORTHANT_MAX_K.  On the MC path err
 * is one standard error and method "Monte Carlo (conditional, N samples)". */
RtStatus orthant_density_auto(Rt *rt, const LogitLaw *L, const OrthantOpts *o,
                              uint64_t samples, double *C, double *err, char *method,
                              size_t method_len);

/* ---- The conditional Monte Carlo's pieces, for a parallel block driver.
 * orthant_cond_init factors Cov(A) = Rᵀ R (R from a QR of Gᵀ, G = W F, so
 * the covariance is never squared); a block of n samples is
 * A = m + Rᵀ Z for Z K×n standard normals (row-major, column s = sample s).
 * orthant_cond_block only reads c and writes scratch: thread-safe for
 * distinct scratch. */
typedef struct OrthantCond {
  int K;
  double *m;     /* K logit means */
  double *R;     /* K×K upper triangular, row-major */
  double *sq;    /* K: sqrt(Q_kk), Q = Cov(A)^{-1} */
} OrthantCond;

RtStatus orthant_cond_init(Rt *rt, const LogitLaw *L, OrthantCond *c);
void orthant_cond_free(Rt *rt, OrthantCond *c);
/* Doubles of scratch orthant_cond_block needs for n samples. */
size_t orthant_cond_scratch(const OrthantCond *c, size_t n);
/* *sum and *sumsq (overwritten) of the n per-sample values
 * Σ_k φ_{k|-k}(M_{-k}) of the block Z (K×n). */
void orthant_cond_block(const OrthantCond *c, const double *Z, size_t n, double *scratch,
                        double *sum, double *sumsq);

#endif
