/*
 * riskmc.h — private to the risk query: the Monte Carlo accumulation shared
 * by its estimators.
 *
 * An estimator ("loss provider") says, for each block of samples, what the
 * hard model's squared error and the soft model's squared error at any τ
 * are per sample — plain Monte Carlo gives (m - F)² itself, Rao–Blackwell
 * its conditional expectation given the routing logits.  The driver runs
 * the blocks on threads with common random numbers: one pass serves every
 * τ of the schedule and the three small τ from which κ is extrapolated.
 */
#ifndef MOE_RISKMC_H
#define MOE_RISKMC_H

#include "boundary.h"
#include "model.h"

typedef struct LossFns {
  void *ctx;
  /* Doubles of per-thread scratch for blocks of n. */
  size_t (*scratch)(const void *ctx, size_t n);
  /* Draws block sb and keeps what the losses need in scratch. */
  RtStatus (*prepare)(const void *ctx, const SampleBlock *sb, double *scratch, BlockErr *err);
  /* out[i] = the hard model's (expected) squared error, without noise. */
  void (*hard)(const void *ctx, double *scratch, size_t n, double *out);
  /* out[i] = the soft model's at tau; work is n doubles of extra scratch. */
  void (*soft)(const void *ctx, double *scratch, size_t n, double tau, double *out);
} LossFns;

typedef struct RiskOut {
  double *soft, *soft_se, *gap, *gap_se;
  double hard, hard_se, kappa, kappa_se, kappa_h, kappa_tau[3];
  uint64_t done;
} RiskOut;

/* Runs the estimator over o->samples; κ from τ = h, 2h, 4h.  noise² is
 * added to the soft and hard risks. */
RtStatus risk_accumulate(Rt *rt, const LossFns *L, const double *tau, size_t ntau,
                         double kappa_h, double noise, const QueryOpts *o, RiskOut *out);

/* The Rao–Blackwell estimator for a linear router over a normal law with
 * affine experts and an affine target or a teacher with a linear router and
 * affine experts: the routing logits are sampled (in their own q-dimensional
 * space) and the squared error's conditional expectation given them is a
 * closed form.  *ok = 0 (RT_OK) when the problem does not qualify.  m and y
 * must already have the law's dimension. */
RtStatus riskrb_init(Rt *rt, const Model *m, const Target *y, const Law *x, LossFns *out,
                     int *ok);
void riskrb_free(Rt *rt, LossFns *L);

/* The Rao–Blackwell space of riskrb_init's estimator, for the estimators
 * built on it (risklayer.c): y ~ N(0, I_q) and Z = mean + factor·y stacks
 * the model's K logits, the teacher's Kt logits (Kt = 0: an affine target),
 * then E[V | y] for the values V = (the K experts, then the target or the
 * teacher's Kt experts); CV (nV × nV) is Cov(V | y), the same for every y.
 * The pointers stay valid until riskrb_free. */
typedef struct RbSpace {
  int K, Kt, q, nR, nV;  /* nR = K + Kt rows of logits, nV values */
  const double *mean;    /* nR + nV */
  const double *factor;  /* (nR + nV) × q, row-major */
  const double *CV;      /* nV × nV */
} RbSpace;
void riskrb_space(const LossFns *L, RbSpace *out);

/* The quadrature path (K = 2, see riskquad.c): fills out (standard errors
 * are the quadrature's error estimates) when the problem qualifies; *ok = 0
 * (RT_OK) when it does not. */
RtStatus riskquad_run(Rt *rt, const Model *m, const Target *y, const Law *x, const double *tau,
                      size_t ntau, RiskOut *out, int *ok);

#endif
