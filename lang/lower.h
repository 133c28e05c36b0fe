/*
 * lower.h — lowering per-sample bodies (`expert f(x) = ...`, `router q(x) =
 * [...]`, `target y(x) = ...`, `schedule A(t) = ... with steps = N`) to the
 * block VM of runtime/vm.h, with constants folded and dimensions inferred.
 */
#ifndef MOE_LOWER_H
#define MOE_LOWER_H

#include "interp.h"

/* Builds the object a declaration with a parameter describes; *out gets a
 * new reference.  0 on success, 1 after reporting an error. */
int lower_decl(Interp *I, const Stmt *s, Value *out);

struct Expert;
/* Compiles `fn f(x) = ...` as a per-sample function (an expression expert),
 * for queries that take a function of x; errors are reported at `at`. */
int lower_fn_expert(Interp *I, const Stmt *def, const Expr *at, struct Expert **out);

struct BlockFn;
/* Writes the VM listing of a compiled declaration (--dump-plan). */
void lower_dump(Interp *I, struct BlockFn *f);

#endif
