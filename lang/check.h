/*
 * check.h — the checker: names and kinds resolved before anything runs.
 *
 * It walks a parsed program with a static view of every name (defined
 * earlier in the program, already bound in the state, or a builtin) and
 * reports unknown names (with a suggestion), builtins called with unknown or
 * missing parameters, arguments of the wrong kind where the kind is known,
 * declarations whose value builds another kind of object (`router r =
 * normal(...)`), unknown settings, and per-sample bodies that call what
 * cannot run per sample.  Dimensions that depend on values are checked when
 * the objects are built, before any sampling.
 */
#ifndef MOE_CHECK_H
#define MOE_CHECK_H

#include "interp.h"

/* Records every problem found in I->diags; returns their number. */
int check_program(Interp *I, const Program *p);

/* Reserved words, for suggestions and completion (NULL-terminated). */
const char *const *check_keywords(void);

/* The names of the settings `set` accepts (NULL-terminated). */
const char *const *check_settings(void);

#endif
