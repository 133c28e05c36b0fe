/*
 * grad.h — the soft risk R_τ of a model as a function of its parametric
 * parts, with its analytic gradient, on blocks of samples.
 *
 * Training, the Hessian and the tests all need the same thing: for a
 * parameter vector θ, the model's squared error on a block of samples and
 * its derivatives.  This module owns the parameter layout and the forward
 * and backward passes; train.c (the step loop) and hessian.c (second
 * derivatives) build on it.
 *
 * Parameters.  The parametric parts are a linear router (W, b) and affine
 * experts (beta, c).  Each is one row over the augmented input x̃ = (x, 1):
 * the router's row k is (W_k, b_k), an affine expert's row is (beta, c).
 * θ is the router's K rows (when the router is linear) followed by the
 * affine experts' rows, all of length d + 1, so one GEMM gives the logits
 * (W̃ x̃) and one the experts (B̃ x̃), and one GEMM each gives their
 * gradients (δ x̃ᵀ).  Expression routers and experts take part in the
 * model unchanged; they have no parameters.
 *
 * Derivatives (MATH.md, "Training and landscape"): with F = Σ g_k f_k and
 * g = softmax(a/τ), ∂F/∂a_k = g_k (f_k − F)/τ and ∂F/∂f_k = g_k, so the
 * squared error's gradient is 2(F − m) times those, times x̃.  The target's
 * noise adds σ² to the risk and nothing to any derivative, so the
 * regression function m is used rather than a noisy Y.
 *
 * Sums over a run's blocks are reduced in block order (est.c), so every
 * number here is bit-identical for any thread count.
 */
#ifndef MOE_GRAD_H
#define MOE_GRAD_H

#include <stdint.h>

#include "blockfn.h"
#include "law.h"
#include "model.h"
#include "rt.h"
#include "strbuf.h"

/* Which parts of a model are parametric, and where they sit in θ. */
typedef struct ParamSet {
  int K, d;              /* experts, input dimension; rows have d + 1 entries */
  int router;            /* the router is linear: K rows of θ */
  int naff;              /* affine experts: naff rows after the router's */
  int *row_of;           /* expert k -> its row among the affine ones, or -1 */
  int *expert_of;        /* affine row a -> expert k */
  int nchan;             /* parameter rows: K·router + naff */
  size_t np;             /* nchan · (d + 1) */
} ParamSet;

/* A model, a target and a law, ready for grad_eval: the model and the
 * target compiled for the law's dimension. */
typedef struct GradProblem {
  Model *m;
  Target *y;
  const Law *x;
  ParamSet ps;
} GradProblem;

/* Sets p up.  Errors: a model with no parametric parts, dimensions that do
 * not fit the law.  On failure p holds nothing (grad_problem_free is still
 * safe). */
RtStatus grad_problem_init(Rt *rt, GradProblem *p, Model *m, Target *y, const Law *x);
void grad_problem_free(Rt *rt, GradProblem *p);

/* θ (ps.np doubles) from the model's current parameters. */
void grad_theta_get(const GradProblem *p, double *theta);

/* A new model with parameters θ: new router and affine experts, the other
 * parts shared with p's model (a new reference each). */
RtStatus grad_model_with(Rt *rt, const GradProblem *p, const double *theta, Model **out);

/* The name of parameter i: "router.W[1,0]", "router.b[1]",
 * "experts[0].beta[2]", "experts[0].c". */
void grad_param_name(const ParamSet *ps, size_t i, StrBuf *sb);

/* What one evaluation gives: means over the samples, without noise. */
typedef struct GradOut {
  double loss, loss_se;  /* E[(m − F_τ)²] and its standard error */
  double hard;           /* E[(m − F_0)²], the hard model's */
  double mass;           /* P(top-two margin <= w) */
  uint64_t done;         /* samples used */
} GradOut;

/* R_τ − σ² of θ on `samples` samples drawn under `seed` (blocks 0, 1, ...),
 * and, when grad != NULL, its gradient (ps.np doubles).  stats != 0 also
 * computes the hard risk and the boundary mass at width w. */
RtStatus grad_eval(Rt *rt, const GradProblem *p, const double *theta, double tau,
                   uint64_t samples, uint64_t seed, int stats, double w, GradOut *out,
                   double *grad);

/* ------------------------------------------------------------ the block pass
 * Shared with hessian.c: one block's forward pass. */

typedef struct Fwd {
  size_t n;
  double *x;             /* (d + 1) × n: the samples, then a row of ones */
  double *a, *f, *g;     /* K × n: logits, expert values, soft gate */
  double *m, *F, *e;     /* n: target, soft model, F − m */
  double *rest;          /* scratch for the parts and the backward pass */
} Fwd;

/* Doubles of per-thread scratch grad_forward needs for blocks of n
 * (the backward pass included). */
size_t grad_scratch(const GradProblem *p, size_t n);

/* Draws block sb and runs the forward pass at θ and τ. */
RtStatus grad_forward(const GradProblem *p, const double *theta, double tau,
                      const SampleBlock *sb, double *scratch, BlockErr *err, Fwd *fw);

/* A least-squares affine fit of the target under the law, (beta, c) in
 * coef (d + 1), from `samples` samples under `seed`: the common expert of
 * the symmetric point. */
RtStatus grad_ls_fit(Rt *rt, const GradProblem *p, uint64_t samples, uint64_t seed,
                     double *coef);

#endif
