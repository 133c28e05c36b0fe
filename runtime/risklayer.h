/*
 * risklayer.h — private to the risk query: the boundary-layer estimator of
 * the gap G(τ) = R_τ − R_0 (see risklayer.c for the mathematics).
 *
 * It works in the Rao–Blackwell space of riskrb.c (a linear router over a
 * normal law, affine experts, an affine target or a hard-routed affine
 * teacher): half of the samples are ordinary Rao–Blackwell samples (they
 * give R_0), half are drawn on the routing interfaces — a pair of experts,
 * a point where their logits tie and they lead the others, and a signed
 * distance from it at the scale of each τ — and every sample is weighted
 * by the power heuristic of multiple importance sampling.  Unbiased for
 * every τ; one pass serves the whole schedule; κ comes out directly as the
 * interface integral ∫(2 ln 2·DJ − D²) dν, without extrapolation.
 */
#ifndef MOE_RISKLAYER_H
#define MOE_RISKLAYER_H

#include "riskmc.h"

typedef struct LayerInfo {
  int applies;           /* 1: the estimator ran and filled the RiskOut */
  int pairs, active;     /* pairs of experts; pairs with interface samples */
  uint64_t pilot;        /* samples spent choosing the pairs' shares */
  char path[480];        /* for the result's `path` */
  char kappa_note[320];  /* for the result's `kappa_control` */
} LayerInfo;

/* Runs the estimator on the Rao–Blackwell space of rb (from riskrb_init,
 * for model m) over o->samples samples with seed o->seed: fills out like
 * risk_accumulate (noise² added to the risks; kappa_h and kappa_tau are
 * 0) and info.  When the estimator does not apply — a top-k gate that
 * drops experts, routing logits that are constant, two logits that tie
 * with a third along a whole interface, more pairs than its memory cap —
 * it returns RT_OK with info->applies = 0 and out untouched, and the
 * caller uses plain Rao–Blackwell.  RT_ENOMEM, RT_EINTR (out then holds
 * the blocks finished). */
RtStatus risklayer_run(Rt *rt, const LossFns *rb, const Model *m, const double *tau,
                       size_t ntau, double noise, const QueryOpts *o, RiskOut *out,
                       LayerInfo *info);

#endif
