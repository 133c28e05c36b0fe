/*
 * repl.c — the interactive loop: read a statement (continuing on a `..>`
 * prompt while the parser says the input is incomplete), run it, print
 * values of bare expressions, keep going after errors.
 */
#include "repl.h"

#include <stdio.h>
#include <string.h>

int repl_run(Interp *I)
{
  StrBuf pending;
  char line[4096];
  sb_init(&pending, &I->rt);
  I->repl = 1;
  for (;;) {
    fputs(pending.len ? "..> " : "moe> ", stdout);
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin))
      break;
    sb_puts(&pending, line);
    Source *src = source_new(&I->rt, "<repl>", sb_str(&pending), pending.len);
    if (!src)
      break;
    int incomplete = 0;
    I->interrupt = 0;
    int st = interp_run(I, src, 0, 0, &incomplete);
    if (st == 2)
      continue;
    sb_free(&pending);
  }
  sb_free(&pending);
  fputc('\n', stdout);
  return 0;
}
