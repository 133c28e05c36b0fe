/*
 * fields.h — `obj.name`: the fields of results and of the objects a script
 * builds (res.mass, m.router.W, m.experts[0].beta, X.dim, ...).
 */
#ifndef MOE_FIELDS_H
#define MOE_FIELDS_H

#include "interp.h"

/* Evaluates an E_FIELD expression into *out; 1 after reporting an error. */
int eval_field(Interp *I, const Expr *e, Value *out);

/* The field e->u.field.name of an evaluated object (borrowed). */
int field_of(Interp *I, const Expr *e, Value obj, Value *out);

/* Field names an object of kind k has (for hints and completion);
 * NULL-terminated.  Results have their own columns besides these. */
const char *const *field_names(VKind k);

#endif
