/*
 * foreign.h — C functions called from scripts: `extern fn` (dlopen + libffi)
 * and the host functions an embedder registers (moe_register_fn).
 *
 * Both are a Foreign: a description of the C function's parameters and
 * result, and how to call it.  A Foreign is shared by reference: the
 * function value (VFunc.ext) and every block function built from it hold
 * one, and the library is dlclosed with the last.  docs/extern.md is the
 * user's view: the C signatures, the batched form, the library search,
 * thread-safety and --no-ffi.
 *
 * The engine sees a Foreign through BlockFn (runtime/blockfn.h): its
 * inputs are the arguments' components side by side (a number is one
 * column, a vector of m is m columns), and eval calls the C function once
 * per row, or once per block for the batched form (`X: block`).  Calls
 * may come from several worker threads at once; nothing here writes to
 * the Foreign after it is built.
 */
#ifndef MOE_FOREIGN_H
#define MOE_FOREIGN_H

#include "../runtime/blockfn.h"
#include "interp.h"

#define FFI_MAX_PARAMS 16
#define FFI_MAX_DIM 1000000    /* the largest size written in vec[N] */

typedef enum FKind { FK_NUM, FK_VEC, FK_BLOCK } FKind;

/* A host function: a block of n rows of dim values (row-major) in, n rows
 * of out_dim values out; nonzero means it failed.  (moe_HostFn of moe.h.) */
typedef int (*FHostFn)(void *ud, const double *x, size_t n, int dim, double *out);

typedef struct Foreign Foreign;

/* Parses an extern type ("num", "vec", "vec[3]", "block"): 0 and *kind,
 * *dim (0: any size) on success; 1 for an unknown kind, 2 for a bad size. */
int ffi_parse_type(const char *text, FKind *kind, int *dim);

/* Checks an extern statement's signature (the checker calls it, so a bad
 * kind is reported before anything runs).  Returns the number of errors. */
int ffi_check(Interp *I, const Stmt *s);

/* Executes `extern fn ...`: refuses it when the state says so (--no-ffi,
 * Limits.no_files), loads the library, finds the symbol and prepares the
 * call.  *out gets a function value (V_FUNC with ext set).  0, or 1 after
 * reporting an error at the statement. */
int ffi_load(Interp *I, const Stmt *s, Value *out);

/* A host function taking one block of in_dim columns and giving out_dim
 * values per row (out_dim 1 with as_vec 0: a number).  NULL on OOM. */
Foreign *ffi_host(Rt *rt, const char *name, int in_dim, int out_dim, int as_vec, FHostFn fn,
                  void *ud);

void ffi_unref(Rt *rt, Foreign *F);     /* accepts NULL */

/* A plain call f(args) at the top level: checks the arguments against the
 * declaration, calls once, and refuses a non-finite result.  0 or 1 after
 * reporting at e. */
int ffi_apply(Interp *I, const Expr *e, Foreign *F, const ArgList *args, Value *out);

/* The message for argument i (0-based) given as a per-sample value of n
 * components (is_vec: a vector; n < 0: a vector of length not yet known)
 * when it does not fit the declaration; NULL when it fits.  Written into
 * buf. */
const char *ffi_arg_mismatch(const Foreign *F, int i, int is_vec, int n, char *buf,
                             size_t len);

/* The function's name for messages ("f"), its parameter count, whether
 * it returns a vector, and the declared size of parameter i (0: any). */
const char *ffi_name(const Foreign *F);
int ffi_nparams(const Foreign *F);
int ffi_returns_vec(const Foreign *F);
int ffi_param_dim(const Foreign *F, int i);

/* A block function calling F on arguments of the given widths (the inputs
 * are their components side by side); widths must fit (ffi_arg_mismatch).
 * out_dim of the result tells how many values a call gives. */
RtStatus ffi_blockfn(Rt *rt, Foreign *F, const int *widths, BlockFn **out);

/* The function value fv (an extern or host function) as an expert, target
 * or router (want), for `expert e = f`, `experts = [f, ...]` and the like;
 * errors are reported at `at`. */
int ffi_object(Interp *I, const Expr *at, Value fv, VKind want, Value *out);

/* The same without the checks, for a function known to fit (a host
 * function): RT_ENOMEM or the runtime's refusal. */
RtStatus ffi_new_object(Rt *rt, Foreign *F, VKind want, Value *out);

/* Turns function arguments into the objects a builtin's parameter wants:
 * an extern where an expert, target or router is wanted, and externs
 * inside a list of experts.  *v is replaced (the old value dropped).
 * kinds is the parameter's KS set; 0, or 1 after reporting at `at`. */
int ffi_coerce(Interp *I, const Expr *at, unsigned kinds, int is_experts, Value *v);

/* True when v is a function value backed by C (extern or host). */
static inline int ffi_is_foreign(Value v)
{
  return v.kind == V_FUNC && as_func(v)->ext != NULL;
}

#endif
