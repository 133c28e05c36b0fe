/*
 * gate.h — soft and hard gates of a block of logits, and the `gate` query.
 *
 * The soft gate at temperature τ is softmax(a/τ), computed stably: the
 * largest logit is subtracted first, so its weight is exp(0) = 1 before
 * normalising and no term can overflow; τ = 1e-300 and logits of ±1e300
 * give the one-hot limit, never NaN or Inf.  A top-k gate keeps the k
 * largest logits (ties to the lower index) and renormalises.  The hard gate
 * is the argmax (ties to the lower index).
 */
#ifndef MOE_GATE_H
#define MOE_GATE_H

#include "model.h"
#include "result.h"

/* Doubles of scratch gate_soft needs for n samples. */
size_t gate_scratch(const Gate *g, int K, size_t n);

/* out (K × n, ldo) = the soft gate of logits a (K × n, lda) at tau > 0. */
void gate_soft(const Gate *g, int K, size_t n, const double *a, size_t lda, double tau,
               double *out, size_t ldo, double *scratch);

/* d (K × n) = the logits shifted so that each sample's largest is 0, with
 * the logits a top-k gate drops set to -inf: computed once per block, it
 * serves every temperature (gate_mix).  scratch: gate_scratch doubles. */
void gate_shifted(const Gate *g, int K, size_t n, const double *a, size_t lda, double *d,
                  double *scratch);

/* Doubles gate_shifted writes at d (the shifted logits, K × n). */
size_t gate_shifted_size(int K, size_t n);

/* out[i] = Σ_k g^tau_k f_k, the soft model's prediction, from shifted
 * logits d and expert values f (K × n); scratch n doubles. */
void gate_mix(int K, size_t n, const double *d, double tau, const double *f, double *out,
              double *scratch);

/* idx[i] = argmax_k a[k*lda + i] (lowest index among ties), as a double. */
void gate_hard(int K, size_t n, const double *a, size_t lda, double *idx);

/* The soft and hard gates of model m at n points (pts n × dim row-major)
 * for each of ntau temperatures: rows x, tau, soft (vector of K), hard. */
RtStatus query_gate(Rt *rt, Model *m, const double *pts, size_t n, int dim,
                    const double *tau, size_t ntau, Result **out);

#endif
