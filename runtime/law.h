/*
 * law.h — input laws: where X comes from.
 *
 * A law fills a block of samples in column layout: X[j*ld + i] is
 * coordinate j of sample i (d rows of n values), so the router's GEMM and
 * the expression VM read whole columns.  Sampling block b under seed s is a
 * pure function of (s, b, substream), independent of threads.
 *
 * Laws are reference-counted and immutable once built; a model, a mixture
 * or a query may hold the same law.
 */
#ifndef MOE_LAW_H
#define MOE_LAW_H

#include <stdint.h>

#include "datafile.h"
#include "rt.h"

typedef enum LawKind { LAW_NORMAL, LAW_UNIFORM, LAW_MIXTURE, LAW_EMPIRICAL } LawKind;

typedef struct Law Law;

struct Law {
  int refs;
  LawKind kind;
  int dim;
  /* normal: X = mean + F Z with F (dim × rank) and cov = F Fᵀ.  For a law
   * built from a covariance F is its Cholesky factor; for the image of a law
   * under an affine map (logit space) it may be rectangular. */
  double *mean, *cov, *factor;
  int rank;
  int tri;               /* factor is square and lower triangular (dtrmm) */
  double iso;            /* > 0: cov = iso·I, and cov and factor are NULL
                          * (a standard normal in d = 4096 stores no 4096² matrix) */
  /* uniform on the box [lo, hi] */
  double *lo, *hi;
  /* mixture */
  int ncomp;
  double *weights;       /* normalised to sum 1 */
  Law **comps;
  /* empirical */
  DataMatrix data;
  int replace;           /* sample rows with replacement (else in order) */
};

/* normal(mean, cov): mean NULL means 0, cov NULL means the identity (stored
 * implicitly, as law_normal_iso with var 1).  A cov
 * that is not symmetric positive definite is RT_EINVAL; `what` names the law
 * in messages (e.g. "the covariance of law X"). */
RtStatus law_normal(Rt *rt, int dim, const double *mean, const double *cov,
                    const char *what, Law **out);

/* normal(mean, var·I) without storing a matrix. */
RtStatus law_normal_iso(Rt *rt, int dim, const double *mean, double var, Law **out);

/* out (rank) = Fᵀ v and out (dim) = F v for a normal law's factor F,
 * whether it is stored or implicit (iso). */
void law_factor_t(const Law *l, const double *v, double *out);
void law_factor_apply(const Law *l, const double *v, double *out);

/* Var((a - b)·X) = |Fᵀ(a - b)|² for a normal law (b NULL: Var(a·X)),
 * from the factor and the difference of the two rows — never from a
 * product with a stored covariance, which loses digits when a ≈ b. */
double law_var_diff(const Law *l, const double *a, const double *b);

/* sqrt(Var((a - b)·X)), computed with scaling so that it stays finite
 * whenever the answer is (rows of size 1e300 give about 1e300, where the
 * variance would overflow); inf when a - b itself overflows. */
double law_sd_diff(const Law *l, const double *a, const double *b);

/* The covariance entry (i, j) of a normal law. */
double law_cov(const Law *l, int i, int j);

/* A normal law given by a factor: X = mean + F Z, F dim × rank (may be
 * singular; used for logit-space images). */
RtStatus law_normal_factor(Rt *rt, int dim, const double *mean, const double *f,
                           int rank, Law **out);

/* uniform(lo, hi): requires lo < hi in every coordinate. */
RtStatus law_uniform(Rt *rt, int dim, const double *lo, const double *hi, Law **out);

/* mixture(weights, comps): weights >= 0 with a positive sum; all comps of
 * one dimension.  Takes a reference to each component. */
RtStatus law_mixture(Rt *rt, int n, const double *weights, Law *const *comps, Law **out);

/* empirical(data): takes ownership of *data (which is zeroed). */
RtStatus law_empirical(Rt *rt, DataMatrix *data, int replace, Law **out);

Law *law_ref(Law *l);
void law_unref(Rt *rt, Law *l);   /* accepts NULL */

/* Which block is being sampled: its random stream is (seed, block, sub);
 * `first` is the index of its first sample in the whole run (an empirical
 * law without replacement reads rows first, first+1, ...). */
typedef struct SampleBlock {
  uint64_t seed, block, first;
  uint32_t sub;
  size_t n;
} SampleBlock;

/* Doubles of per-thread scratch law_sample needs for blocks of n. */
size_t law_scratch(const Law *l, size_t n);

/* Fills X (dim × n, leading dimension ld >= n) with the samples of block sb.
 * scratch holds law_scratch(l, sb->n) doubles. */
void law_sample(const Law *l, const SampleBlock *sb, double *x, size_t ld, double *scratch);

/* The substream a law uses for its `i`-th consumer (a mixture's component
 * choice is consumer 0, component c is consumer c + 1): a hash, so nested
 * laws get unrelated streams. */
uint32_t law_substream(uint32_t sub, uint32_t i);

/* The law of W X + b (W is k×dim, b may be NULL) when it has a closed form:
 * normal laws and mixtures of normals.  *out = NULL (and RT_OK) otherwise. */
RtStatus law_affine_image(Rt *rt, const Law *l, int k, const double *w, const double *b,
                          Law **out);

/* True for a normal law or a mixture whose components are all (recursively)
 * normal. */
int law_is_gaussian(const Law *l);

/* Mean and covariance (dim and dim×dim) of a law, for the exact paths and
 * for tests; false if not available in closed form (empirical: sample
 * moments are returned). */
int law_moments(const Law *l, double *mean, double *cov);

/* "normal", "uniform", "mixture", "empirical" */
const char *law_kind_name(const Law *l);

#endif
