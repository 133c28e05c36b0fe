/*
 * blockfn.h — a function evaluated on a whole block of samples at once.
 *
 * Expression experts, targets and routers (compiled to the block VM) and
 * host C functions (libmoe callbacks, `extern` through libffi) all look the
 * same to the engine: x is a block in column layout (in_dim rows of n
 * values, leading dimension ldx) and y gets out_dim rows of n values.
 * Evaluation may run on worker threads, so it must not allocate: it gets
 * `scratch` of scratch_doubles(n) doubles, and reports failure through err.
 */
#ifndef MOE_BLOCKFN_H
#define MOE_BLOCKFN_H

#include <stddef.h>

#include "rt.h"

#define BLOCK_ERR_MAX 256

typedef struct BlockErr {
  RtStatus status;
  char msg[BLOCK_ERR_MAX];
} BlockErr;

typedef struct BlockFn BlockFn;

/* Compiles a generic function for inputs of dimension dim (lang/lower.c
 * provides it for expressions); the message of a failure names why. */
typedef RtStatus (*BlockSpecializeFn)(Rt *rt, const BlockFn *generic, int dim, BlockFn **out);

#define BLOCKFN_CACHE 8

struct BlockFn {
  int refs;
  int in_dim, out_dim;   /* in_dim -1: generic, compiled per dimension */
  int min_dim;           /* generic: the smallest dimension it accepts */
  char *name;                               /* for messages: "expert f" */
  RtStatus (*eval)(const BlockFn *f, size_t n, const double *x, size_t ldx, double *y,
                   size_t ldy, double *scratch, BlockErr *err);
  size_t (*scratch_doubles)(const BlockFn *f, size_t n);
  void *ctx;
  void (*free_ctx)(Rt *rt, void *ctx);
  BlockSpecializeFn specialize;             /* generic functions only */
  int ncache;
  struct { int dim; BlockFn *fn; } cache[BLOCKFN_CACHE];
};

/* A new function object with one reference; takes ownership of ctx (freed
 * with free_ctx, even on failure).  name is copied. */
BlockFn *blockfn_new(Rt *rt, const char *name, int in_dim, int out_dim, void *ctx,
                     void (*free_ctx)(Rt *, void *));
BlockFn *blockfn_ref(BlockFn *f);
void blockfn_unref(Rt *rt, BlockFn *f);     /* accepts NULL */

size_t blockfn_scratch(const BlockFn *f, size_t n);

/* f itself (a new reference) when it takes inputs of dimension dim, or its
 * compilation for dim (cached in f).  RT_EINVAL when f has a fixed other
 * dimension or cannot take dim. */
RtStatus blockfn_at_dim(Rt *rt, BlockFn *f, int dim, BlockFn **out);

/* Records a formatted failure in err (first one wins). */
RtStatus block_fail(BlockErr *err, RtStatus code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
