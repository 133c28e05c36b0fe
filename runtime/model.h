/*
 * model.h — experts, targets, gates, models and temperature schedules.
 *
 * An expert is a scalar function of x: affine (beta·x + c, trainable) or a
 * block function (an expression or a host function).  A target is the
 * regression function m(x) plus noise of standard deviation `noise`: a
 * block function, or a teacher (a hard-routed mixture of experts).  A model
 * is a router, K experts and a gate.  A schedule is the list of
 * temperatures τ_0, τ_1, ... (expression schedules are evaluated when they
 * are declared).  All are reference-counted and immutable once built:
 * training builds a new model (runtime/train.h) and never changes one that
 * others may share.
 */
#ifndef MOE_MODEL_H
#define MOE_MODEL_H

#include "blockfn.h"
#include "router.h"
#include "rt.h"

typedef enum ExpertKind { EXPERT_AFFINE, EXPERT_FN } ExpertKind;

typedef struct Expert {
  int refs;
  ExpertKind kind;
  int dim;               /* input dimension (-1: any, for constants) */
  double *beta, c;       /* affine */
  BlockFn *fn;           /* function expert */
} Expert;

typedef enum TargetKind { TARGET_FN, TARGET_TEACHER } TargetKind;

typedef struct Target {
  int refs;
  TargetKind kind;
  int dim;
  BlockFn *fn;           /* TARGET_FN */
  Router *router;        /* TARGET_TEACHER: hard-routed */
  int nexp;
  Expert **experts;
  double noise;          /* standard deviation of ε */
} Target;

typedef enum GateKind { GATE_SOFTMAX, GATE_TOPK } GateKind;

typedef struct Gate {
  int refs;
  GateKind kind;
  int k;                 /* top-k: experts kept */
} Gate;

typedef struct Model {
  int refs;
  Router *router;
  int nexp;
  Expert **experts;
  Gate *gate;
} Model;

typedef struct Schedule {
  int refs;
  size_t n;
  double *tau;
} Schedule;

/* The objects for inputs of dimension dim: the object itself (a new
 * reference) if it has that dimension, a compilation of its generic
 * expressions for dim, or RT_EINVAL naming the mismatch. */
RtStatus expert_at_dim(Rt *rt, Expert *e, int dim, Expert **out);
RtStatus target_at_dim(Rt *rt, Target *t, int dim, Target **out);
RtStatus model_at_dim(Rt *rt, Model *m, int dim, Model **out);

/* ------------------------------------------------------------ evaluation
 * On a block in column layout (x is dim × n, leading dimension ldx);
 * scratch as the *_scratch functions say; worker threads may call these. */

size_t expert_scratch(const Expert *e, size_t n);
/* out[i] = f(x_i). */
RtStatus expert_eval(const Expert *e, size_t n, const double *x, size_t ldx, double *out,
                     double *scratch, BlockErr *err);

size_t target_scratch(const Target *t, size_t n);
/* out[i] = m(x_i), the regression function (no noise). */
RtStatus target_eval(const Target *t, size_t n, const double *x, size_t ldx, double *out,
                     double *scratch, BlockErr *err);

/* The input dimension of a model: its router's, or -1 if generic. */
int model_dim(const Model *m);

RtStatus expert_affine(Rt *rt, int dim, const double *beta, double c, Expert **out);
RtStatus expert_fn(Rt *rt, BlockFn *fn, Expert **out);
Expert *expert_ref(Expert *e);
void expert_unref(Rt *rt, Expert *e);

RtStatus target_fn(Rt *rt, BlockFn *fn, double noise, Target **out);
RtStatus target_teacher(Rt *rt, Router *r, int nexp, Expert *const *experts, double noise,
                        Target **out);
/* A copy of t whose noise is `noise` (the `noise s` clause of a target). */
RtStatus target_with_noise(Rt *rt, const Target *t, double noise, Target **out);
Target *target_ref(Target *t);
void target_unref(Rt *rt, Target *t);

RtStatus gate_new(Rt *rt, GateKind kind, int k, Gate **out);
Gate *gate_ref(Gate *g);
void gate_unref(Rt *rt, Gate *g);

RtStatus model_new(Rt *rt, Router *r, int nexp, Expert *const *experts, Gate *g,
                   Model **out);
Model *model_ref(Model *m);
void model_unref(Rt *rt, Model *m);

/* A schedule from n temperatures; each must be finite and > 0 (the error
 * names the step and the value). */
RtStatus schedule_new(Rt *rt, const double *tau, size_t n, Schedule **out);
Schedule *schedule_ref(Schedule *s);
void schedule_unref(Rt *rt, Schedule *s);

#endif
