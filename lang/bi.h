/*
 * bi.h — private to the builtin implementations (bi_*.c): argument
 * helpers and the implementation functions the table in builtins.c lists.
 */
#ifndef MOE_BI_H
#define MOE_BI_H

#include "builtins.h"

/* Argument access.  Each returns 0 on success and 1 after reporting an
 * error at the argument (or the call).  A missing optional argument gives
 * the default. */
static inline int arg_given(const Call *c, int i) { return c->arg_expr[i] != NULL; }
int arg_num(Call *c, int i, double def, double *x);
int arg_int(Call *c, int i, long def, long lo, long hi, long *n);
int arg_bool(Call *c, int i, int def, int *b);
int arg_str(Call *c, int i, const char **s);
/* A vector (or a number as a vector of 1, or a list of numbers): a pointer
 * valid while the call lives. */
int arg_vec(Call *c, int i, const double **v, size_t *n);
/* A matrix (a vector counts as one row). */
int arg_mat(Call *c, int i, const double **v, size_t *rows, size_t *cols);

/* The query settings: samples, seed, method from the call or the state. */
typedef struct QueryArgs {
  QueryOpts o;
  int method_given;
} QueryArgs;
int arg_query(Call *c, QueryArgs *q);
/* 1 (with an error at argument i) when the session may not read files. */
int arg_file_allowed(Call *c, int i, const char *path);

/* "law X", or the call's own text when it is not a declaration. */
void call_what(Call *c, StrBuf *sb, const char *noun);

/* Wraps a new result as the call's value, with the call's arguments as its
 * heading; consumes res. */
int call_result(Call *c, Result *res, Value *out);

/* math (bi_math.c) */
int bi_sin(Call *c, Value *out);
int bi_cos(Call *c, Value *out);
int bi_tan(Call *c, Value *out);
int bi_exp(Call *c, Value *out);
int bi_log(Call *c, Value *out);
int bi_log1p(Call *c, Value *out);
int bi_sqrt(Call *c, Value *out);
int bi_abs(Call *c, Value *out);
int bi_tanh(Call *c, Value *out);
int bi_sigmoid(Call *c, Value *out);
int bi_softplus(Call *c, Value *out);
int bi_erf(Call *c, Value *out);
int bi_min(Call *c, Value *out);
int bi_max(Call *c, Value *out);
int bi_sum(Call *c, Value *out);
int bi_dot(Call *c, Value *out);
int bi_norm(Call *c, Value *out);
int bi_len(Call *c, Value *out);
int bi_zeros(Call *c, Value *out);
int bi_ones(Call *c, Value *out);
int bi_eye(Call *c, Value *out);
int bi_range(Call *c, Value *out);
int bi_load(Call *c, Value *out);

/* objects (bi_objects.c) */
int bi_normal(Call *c, Value *out);
int bi_uniform(Call *c, Value *out);
int bi_mixture(Call *c, Value *out);
int bi_empirical(Call *c, Value *out);
int bi_linear_router(Call *c, Value *out);
int bi_affine(Call *c, Value *out);
int bi_teacher(Call *c, Value *out);
int bi_moe(Call *c, Value *out);
int bi_softmax(Call *c, Value *out);
int bi_topk(Call *c, Value *out);
int bi_geometric(Call *c, Value *out);
int bi_linear_sched(Call *c, Value *out);
int bi_cosine(Call *c, Value *out);
int bi_exponential(Call *c, Value *out);
int bi_inverse(Call *c, Value *out);

/* queries (bi_query.c) */
int bi_margin(Call *c, Value *out);
int bi_boundary_mass(Call *c, Value *out);
int bi_boundary_density(Call *c, Value *out);
int bi_gate(Call *c, Value *out);
int bi_interface_integral(Call *c, Value *out);
int bi_layer(Call *c, Value *out);
int bi_risk(Call *c, Value *out);
int bi_kappa(Call *c, Value *out);
int bi_hessian(Call *c, Value *out);
int bi_alignment(Call *c, Value *out);

#endif
