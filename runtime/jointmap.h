/*
 * jointmap.h — every linear map of a risk problem, stacked.
 *
 * When the law is Gaussian and the router, the experts and the target are
 * all affine in x (a linear router, affine experts — also expression experts
 * that compile to a linear combination — and an affine target or a teacher
 * with a linear router and affine experts), everything a risk sample needs
 * is the vector G = M x + g0 of those maps, which is itself (a mixture of)
 * normal(s) in R^R.  Sampling G directly skips x entirely: the cost depends
 * on the number of maps, not on d.
 *
 * Rows of G: the K logits, the K expert values, then either the target's
 * value (1 row) or the teacher's Kt logits and Kt expert values.
 */
#ifndef MOE_JOINTMAP_H
#define MOE_JOINTMAP_H

#include "law.h"
#include "model.h"

typedef struct JointMap {
  int R, K, Kt;          /* rows; model experts; teacher experts (0: affine target) */
  int off_a, off_f, off_m, off_t, off_h;   /* first row of each part */
  double *M, *g0;        /* R × d and R */
  Law *law;              /* the law of G (owned) */
} JointMap;

/* Builds the map when the problem is linear-Gaussian; *ok = 0 (and RT_OK)
 * when it is not.  m, y and x must already have the same dimension. */
RtStatus jointmap_build(Rt *rt, const Model *m, const Target *y, const Law *x, JointMap *j,
                        int *ok);
void jointmap_free(Rt *rt, JointMap *j);

/* The coefficients of an affine expert (beta: dim entries), or 0. */
int expert_affine_coef(const Expert *e, double *beta, double *c);

#endif
