/*
 * repl.h — the interactive loop of `moe` on a terminal.
 */
#ifndef MOE_REPL_H
#define MOE_REPL_H

#include "interp.h"

/* Runs the REPL until end of input or :quit; returns the exit status. */
int repl_run(Interp *I);

#endif
