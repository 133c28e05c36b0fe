/*
 * train.h — fitting a model's parametric parts by gradient descent on the
 * soft risk R_τ while τ follows a schedule (`train m on y under X with ...`).
 *
 * Step t (t = 0, 1, ..., steps − 1) uses τ_t = schedule[min(t, n − 1)] — a
 * schedule shorter than the run holds its last value — and a batch of
 * fresh samples whose random stream is a pure function of (seed, t), so a
 * run is reproducible and independent of the thread count; with `fixed`
 * every step reuses one sample.  The gradient is analytic (grad.c) and the
 * update is plain SGD or Adam.
 *
 * Training never changes an existing object: the trained parameters go to
 * a new model (sharing the parts that have no parameters).  A loss or
 * parameter that becomes NaN or infinite stops the run with an error naming
 * the step; nothing is returned then.  The runtime prints nothing: progress
 * goes to an optional callback.
 */
#ifndef MOE_TRAIN_H
#define MOE_TRAIN_H

#include <stdint.h>

#include "law.h"
#include "model.h"
#include "result.h"
#include "rt.h"

typedef enum Optimizer { OPT_SGD, OPT_ADAM } Optimizer;

typedef enum TrainInit {
  INIT_KEEP,             /* start from the model's own parameters */
  INIT_ZEROS,            /* every parameter 0 */
  INIT_NORMAL,           /* every parameter init_scale · N(0, 1) */
  INIT_SYMMETRIC,        /* MATH.md's symmetric point: router 0, every affine
                          * expert the least-squares affine fit of the target;
                          * plus init_scale · N(0, 1) */
  INIT_MODEL             /* the parameters of init_from */
} TrainInit;

/* Called after each step with the steps done so far (from the thread that
 * called train_run). */
typedef void (*TrainProgress)(void *ud, uint64_t done, uint64_t total);

typedef struct TrainOpts {
  const double *tau;     /* the schedule: ntau >= 1 temperatures */
  size_t ntau;
  uint64_t steps;        /* >= 1 */
  uint64_t batch;        /* samples per step (>= 1) */
  int fixed;             /* reuse one sample of `batch` at every step */
  double lr;             /* > 0 */
  Optimizer opt;
  double beta1, beta2, eps;   /* Adam's */
  uint64_t log_every;    /* a log row every log_every steps and after the last;
                          * 0: every steps / 10 */
  uint64_t seed;
  TrainInit init;
  double init_scale;
  Model *init_from;      /* INIT_MODEL */
  uint64_t init_samples; /* INIT_SYMMETRIC: samples of the least-squares fit */
  double w;              /* the boundary mass's width in the log */
  TrainProgress progress;
  void *progress_ud;
} TrainOpts;

/* Defaults: Adam (0.9, 0.999, 1e-8), lr 0.01, batch 8192, log every
 * step / 10, init INIT_KEEP, init_scale 0.1, w 0.01. */
void train_opts_init(TrainOpts *o);

/* "sgd", "adam"; -1 for anything else. */
int train_optimizer_parse(const char *s);
/* "zeros", "normal", "symmetric"; -1 for anything else. */
int train_init_parse(const char *s);

/* Trains m's linear router and affine experts on target y under law x.
 * *trained gets the new model and *log the result: rows step, tau, risk,
 * risk_stderr, hard_risk, boundary_mass, grad_norm — row t describes the
 * parameters after t updates on step t's batch at τ_t, and a last row
 * (step = steps) the final parameters.  Risks include the target's noise. */
RtStatus train_run(Rt *rt, Model *m, Target *y, const Law *x, const TrainOpts *o,
                   Model **trained, Result **log);

/* The random stream of step t's batch under seed (fixed: t is ignored). */
uint64_t train_step_seed(uint64_t seed, uint64_t t, int fixed);

#endif
