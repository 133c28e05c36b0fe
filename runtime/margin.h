/*
 * margin.h — margins between ordered logits, per sample of a block.
 *
 * With a_(1) >= a_(2) >= ... the logits of one sample sorted downwards, the
 * top-two margin is Δ = a_(1) - a_(2); order j gives a_(1) - a_(j+1) (mass
 * near ties of j+1 experts); a top-k gate switches where a_(k) = a_(k+1).
 * All three are gaps a_(hi) - a_(lo) between two ranks, which is what these
 * kernels compute.  Logits are in column layout: a[k*lda + i].
 */
#ifndef MOE_MARGIN_H
#define MOE_MARGIN_H

#include <stddef.h>

/* delta[i] = a_(1) - a_(2) for each of n samples (K >= 2); vectorised over
 * samples. */
void margin_top2(int K, size_t n, const double *a, size_t lda, double *delta);

/* delta[i] = a_(hi) - a_(lo) with 1 <= hi < lo <= K (ranks from the top).
 * scratch holds lo * n doubles. */
void margin_gap(int K, int hi, int lo, size_t n, const double *a, size_t lda,
                double *delta, double *scratch);

/* For one sample (logits a[k*stride]): indices of the largest and the
 * second largest logit; ties go to the lower index. */
void margin_top_two_index(int K, const double *a, size_t stride, int *top, int *second);

/* For one sample: the index of the r-th largest logit (1-based), ties to the
 * lower index. */
int margin_rank_index(int K, const double *a, size_t stride, int r);

/* out[i] = v[k*(i)*ldv + i] where k*(i) is the first index of the largest
 * logit of sample i: the value the hard gate picks (the teacher's expert,
 * the hard model's prediction).  Branch-free, vectorised over samples. */
void margin_pick_top(int K, size_t n, const double *a, size_t lda, const double *v,
                     size_t ldv, double *out);

/* counts[j] = number of i < n with delta[i] <= w[j], for each of nw widths
 * (one vectorised pass per width). */
void margin_count_below(const double *delta, size_t n, const double *w, int nw,
                        double *counts);

#endif
