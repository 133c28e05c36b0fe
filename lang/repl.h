/*
 * repl.h — the interactive loop of `moe` on a terminal (docs/repl.md):
 * line editing, history and completion through libedit, `..>` for an
 * unfinished statement, the `:` commands, Ctrl-C that stops a statement
 * without ending the session.
 */
#ifndef MOE_REPL_H
#define MOE_REPL_H

#include "interp.h"

/* Runs the REPL on stdin (a terminal) until Ctrl-D, end of input or :quit;
 * returns the exit status (0, or 1 if the line editor cannot start).
 * While it runs, its own handlers for SIGINT, SIGWINCH and SIGCONT are
 * installed and I->out is wrapped; both are put back before it returns.
 * Sets I->repl (names may be redefined). */
int repl_run(Interp *I);

#endif
