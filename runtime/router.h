/*
 * router.h — routers: the K logits a(x) of each sample.
 *
 * A linear router a(x) = W x + b turns a block into logits with one GEMM.
 * A function router (an expression compiled to the block VM, or a host
 * function) evaluates its BlockFn.  The identity router reads logits that
 * are already the coordinates of the sample: it is what a linear router over
 * a normal law becomes in logit space.
 */
#ifndef MOE_ROUTER_H
#define MOE_ROUTER_H

#include "blockfn.h"
#include "rt.h"

typedef enum RouterKind { ROUTER_LINEAR, ROUTER_FN, ROUTER_IDENTITY } RouterKind;

typedef struct Router {
  int refs;
  RouterKind kind;
  int K, dim;            /* dim -1: a generic expression router */
  double *W, *b;         /* linear: W is K×dim row-major, b has K entries */
  BlockFn *fn;           /* function router */
} Router;

/* linear(W, b): K >= 2 rows of dim columns; b NULL means zeros. */
RtStatus router_linear(Rt *rt, int K, int dim, const double *W, const double *b,
                       Router **out);
/* A router from a block function with out_dim = K >= 2 (takes a reference). */
RtStatus router_fn(Rt *rt, BlockFn *fn, Router **out);
RtStatus router_identity(Rt *rt, int K, Router **out);

/* r for inputs of dimension dim: r itself (a new reference) when its
 * dimension is dim, or a generic expression router compiled for dim.  A
 * fixed other dimension is RT_EINVAL ("the router takes inputs of dimension
 * 2 but the law has dimension 3"). */
RtStatus router_at_dim(Rt *rt, Router *r, int dim, Router **out);

Router *router_ref(Router *r);
void router_unref(Rt *rt, Router *r);

size_t router_scratch(const Router *r, size_t n);

/* Logits of a block: a (K × n, leading dimension lda) from x (dim × n, ldx).
 * Non-finite logits are an error naming the router (no silent NaN). */
RtStatus router_logits(const Router *r, size_t n, const double *x, size_t ldx, double *a,
                       size_t lda, double *scratch, BlockErr *err);

/* "linear", "expression", "identity" */
const char *router_kind_name(const Router *r);

#endif
