/*
 * diag.h — diagnostics of the front end and the interpreter.
 *
 * The front end records errors and goes on (up to a cap), so one run reports
 * several.  Each diagnostic has a position, a caret span, a message and an
 * optional hint; rendering gives the compiler-style form editors understand:
 *
 *   bad.moe:3:9: error: unknown name 'nrmal'
 *       3 | law X = nrmal(dim = 2)
 *         |         ^~~~~
 *   hint: did you mean 'normal'?
 */
#ifndef MOE_DIAG_H
#define MOE_DIAG_H

#include "../runtime/strbuf.h"
#include "source.h"

#define DIAG_MAX 25      /* errors kept per run before "too many errors" */

typedef struct Diag {
  Pos pos;
  uint32_t span;         /* caret width in bytes (>= 1) */
  char *msg;
  char *hint;            /* NULL when there is none */
} Diag;

typedef struct DiagList {
  Rt *rt;
  Diag *v;
  int n, cap;
  int dropped;           /* errors beyond DIAG_MAX (or lost to OOM) */
  int incomplete;        /* an error was caused by the end of the input */
  int oom;               /* an error was lost to an allocation failure */
} DiagList;

void diag_init(DiagList *d, Rt *rt);
void diag_clear(DiagList *d);

/* Records an error at pos with a caret span. */
void diag_error(DiagList *d, Pos pos, uint32_t span, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void diag_verror(DiagList *d, Pos pos, uint32_t span, const char *fmt, va_list ap);

/* Attaches a hint to the most recent error (replacing any earlier hint). */
void diag_hint(DiagList *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Renders one diagnostic (message, source line, caret, hint) into b. */
void diag_render(StrBuf *b, const Diag *g);

/* Renders all of them, then "N more errors not shown" if any were dropped. */
void diag_render_all(StrBuf *b, const DiagList *d);

/* The closest name to `name` among `cands` (n of them) by edit distance, or
 * NULL if none is close enough to be worth suggesting. */
const char *diag_suggest(const char *name, const char *const *cands, int n);

#endif
