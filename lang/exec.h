/*
 * exec.h — executing statements (exec.c).
 */
#ifndef MOE_EXEC_H
#define MOE_EXEC_H

#include "interp.h"

/* Runs one statement; 0 on success, 1 after reporting an error. */
int exec_stmt(Interp *I, const Stmt *s);

/* Runs a program's statements in order, stopping at the first error. */
int exec_program(Interp *I, const Program *p);

/* `train m on y under X with ...` (exec_train.c). */
int exec_train(Interp *I, const Stmt *s);

/* The option names train accepts, NULL-terminated (for the checker). */
const char *const *train_option_names(void);

#endif
