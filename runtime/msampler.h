/*
 * msampler.h — Monte Carlo samples of a margin, block by block.
 *
 * Every boundary query that samples (boundary mass and density, the layer
 * L(τ), ...) needs the same thing per block: draw X, compute the logits,
 * take the margin between two ranks.  A margin sampler does that, choosing
 * logit space when the router is linear and the law Gaussian: then the K
 * logits A = W X + b are themselves (a mixture of) normal(s) and are drawn
 * directly, so the cost depends on K and not on d.
 */
#ifndef MOE_MSAMPLER_H
#define MOE_MSAMPLER_H

#include "blockfn.h"
#include "law.h"
#include "router.h"

/* Which margin: the gap a_(hi) - a_(lo) between ranks (1, 2 is the top-two
 * margin; 1, j+1 is `order = j`; k, k+1 is a top-k switch). */
typedef struct MarginSpec {
  int hi, lo;
} MarginSpec;

typedef struct MarginSampler {
  Law *law;              /* X, or the law of the logits (owned) */
  Router *router;        /* the router, or the identity in logit space (owned) */
  int logit_space;
  MarginSpec ms;
} MarginSampler;

/* True when a linear router over a Gaussian law can be sampled in logit
 * space. */
int msampler_logit_space(const Router *r, const Law *l);

RtStatus msampler_init(Rt *rt, MarginSampler *s, const Router *r, const Law *l, MarginSpec ms);
void msampler_free(Rt *rt, MarginSampler *s);

/* Doubles of per-thread scratch for blocks of up to B samples. */
size_t msampler_scratch(const MarginSampler *s, size_t B);

/* delta[0..sb->n) = the margins of block sb.  scratch: msampler_scratch(s, sb->n). */
RtStatus msampler_block(const MarginSampler *s, const SampleBlock *sb, double *scratch,
                        double *delta, BlockErr *err);

/* The median margin of one pilot block drawn from its own stream (block
 * UINT64_MAX of seed): the scale at which Monte Carlo estimators of limits
 * w → 0 or τ → 0 place their widths. */
RtStatus msampler_median(Rt *rt, const MarginSampler *s, uint64_t seed, double *scale);

/* A sentence on the path taken, for the result's `path`. */
void msampler_path(const MarginSampler *s, const Router *r, char *buf, size_t n);

#endif
