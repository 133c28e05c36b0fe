/*
 * eval.h — evaluating expressions to values (the top-level interpreter).
 *
 * This is a tree walk, used for what runs once: declarations, settings,
 * `print`, query arguments, function calls outside per-sample code.  What
 * runs per sample (expert, router, target and schedule bodies) is lowered
 * to the block VM instead (lower.c), never walked per sample.
 *
 * Every function returns 0 on success and 1 after reporting an error at the
 * expression responsible.
 */
#ifndef MOE_EVAL_H
#define MOE_EVAL_H

#include "interp.h"

/* Evaluates e into *out (a new reference).  `expect` is the kind the
 * context wants (V_NIL: any); it only picks between same-named builtins. */
int eval_expr(Interp *I, const Expr *e, VKind expect, Value *out);

/* Evaluates e and requires a finite number; *x gets it. */
int eval_number(Interp *I, const Expr *e, double *x);

/* Reports an error at e (caret under all of e on its first line). */
int eval_error(Interp *I, const Expr *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int eval_error_at(Interp *I, Pos pos, uint32_t span, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

struct Builtin;
/* Runs builtin b on already evaluated arguments (slots in parameter order,
 * V_NIL for absent; borrowed) as the call expression e would: used to fold
 * constants in per-sample code with exactly the semantics of the top level. */
int eval_builtin_values(Interp *I, const struct Builtin *b, const Expr *e,
                        const Value *slots, const Expr *const *slot_exprs, Value *out);

/* [a, b, ...] from evaluated items (borrowed): a vector, matrix or list. */
int eval_build_list(Interp *I, const Expr *e, Value *items, size_t n, Value *out);

/* obj[x] with the top level's bounds checks and messages (at ie). */
int eval_index_value(Interp *I, const Expr *ie, Value obj, double x, Value *out);

/* Binary and unary arithmetic on values (borrowed); *out a new reference. */
int arith_binary(Interp *I, const Expr *at, Op op, Value a, Value b, Value *out);
int arith_unary(Interp *I, const Expr *at, Op op, Value a, Value *out);

/* Applies a one-argument math function element-wise. */
int arith_map(Interp *I, const Expr *at, const char *name, double (*f)(double), Value a,
              Value *out);

/* Checks that every number in v is finite; else reports `what` at e. */
int check_finite(Interp *I, const Expr *e, Value v, const char *what);

/* Converts a value to a flat array of numbers: a number, a vector, or a
 * list of numbers.  *n gets the count; the pointer stays valid while v does
 * (lists are copied into *tmp, which the caller frees with rt_free). */
const double *val_numbers(Interp *I, Value v, size_t *n, double **tmp);

#endif
