/*
 * lower.c — per-sample bodies to block VM code (see lower.h).
 */
#include "lower.h"

#include "eval.h"

int lower_decl(Interp *I, const Stmt *s, Value *out)
{
  *out = val_nil();
  return eval_error_at(I, s->pos, 1, "expression %ss are not available yet in this build",
                       ast_decl_name(s->decl));
}
