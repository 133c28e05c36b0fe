/*
 * est.h — the block-parallel estimator driver.
 *
 * A Monte Carlo estimate is a sum over blocks of B samples.  Worker threads
 * run blocks in any order and leave each block's partial sums in its own
 * slot; the calling thread then hands the slots to the kernel's reduce
 * function strictly in block order.  Because a block's samples depend only
 * on (seed, block) and the reduction order is fixed, the result is
 * bit-identical for any number of threads.
 *
 * Blocks are processed in waves (a few dozen per thread), so memory for the
 * partial sums stays bounded however many samples are asked for, and an
 * interrupt is noticed at the next block boundary.
 */
#ifndef MOE_EST_H
#define MOE_EST_H

#include <stdint.h>

#include "blockfn.h"
#include "law.h"
#include "rt.h"

typedef struct EstThread {
  int id;
  void *scratch;         /* scratch_bytes, allocated before the threads start */
  BlockErr err;
} EstThread;

typedef struct EstKernel {
  void *ctx;
  size_t scratch_bytes;  /* per thread */
  size_t nacc;           /* doubles of partial sums per block */
  /* Computes block sb's partial sums into acc (nacc doubles, zeroed). */
  RtStatus (*block)(void *ctx, EstThread *th, const SampleBlock *sb, double *acc);
  /* Folds one block's partial sums into the total; called in block order. */
  void (*reduce)(void *ctx, const SampleBlock *sb, const double *acc);
} EstKernel;

/* Runs `samples` samples in blocks of rt->block on rt->threads threads.
 * *done (may be NULL) gets the number of samples reduced: all of them on
 * success, a prefix on RT_EINTR.  A failing block's message becomes rt's. */
RtStatus est_run(Rt *rt, const EstKernel *k, uint64_t samples, uint64_t seed,
                 uint64_t *done);

/* Running mean and sum of squared deviations, merged in a fixed order
 * (Chan et al.), so a long sum keeps its precision. */
typedef struct Moments {
  double n, mean, m2;
} Moments;

/* The moments of x[0..n) (two passes: mean, then deviations). */
Moments moments_of(const double *x, size_t n);
void moments_merge(Moments *into, Moments b);
/* Standard error of the mean. */
double moments_stderr(const Moments *m);

#endif
