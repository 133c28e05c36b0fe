/*
 * align.h — how well a student model recovers a hard-routed teacher: the
 * `alignment(m, t)` query (MATH.md, "Training and landscape").
 *
 * The experts of a student are only defined up to relabelling, so the
 * report first finds the permutation π (teacher expert j ↔ student expert
 * π(j)) that minimises the partition disagreement
 *   P(k*_student(X) ≠ π(k*_teacher(X))),
 * then, under that π, the cosine between the separators (K = 2: the normals
 * of a_1 − a_2; K >= 3: the mean over pairs of experts) and the largest
 * expert parameter error ‖(β, c)_student,π(j) − (β, c)_teacher,j‖.
 */
#ifndef MOE_ALIGN_H
#define MOE_ALIGN_H

#include "boundary.h"
#include "model.h"

/* The largest K whose permutations are searched. */
#define ALIGN_MAX_K 8

/* x NULL: the standard normal law of the model's dimension.  Fields
 * cosine, disagreement, disagreement_stderr, expert_error, expert_errors,
 * permutation.  K = 2 with linear routers over a normal law: the
 * disagreement is exact (bivariate normal); otherwise Monte Carlo. */
RtStatus query_alignment(Rt *rt, Model *m, Target *t, const Law *x, const QueryOpts *o,
                         Result **out);

#endif
