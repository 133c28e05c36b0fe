/*
 * interp.h — the interpreter state and the statement executor.
 *
 * One Interp is one moe_State: its runtime context (allocator, threads),
 * its global names, its settings, the sources and programs it has read
 * (kept alive because functions and messages point into them), and where
 * its output and diagnostics go.  Separate states share nothing.
 *
 * Running a source is parse → check → execute.  The front end reports every
 * error it finds; execution stops at the first runtime error, which is
 * reported like a syntax error (file, line, column, caret).
 */
#ifndef MOE_INTERP_H
#define MOE_INTERP_H

#include <stdint.h>

#include "../runtime/boundary.h"
#include "ast.h"
#include "diag.h"
#include "value.h"

typedef enum OutFormat { FMT_TEXT, FMT_JSON, FMT_CSV } OutFormat;

typedef void (*WriteFn)(void *ud, const char *s, size_t n);

/* Progress of a long statement (train): done of total steps; called with
 * done = 0 first and done = total last.  `what` names the work. */
typedef void (*ProgressFn)(void *ud, const char *what, double done, double total);

/* A name bound in a scope. */
typedef struct Binding {
  char *name;
  Value v;
  Pos pos;               /* where it was defined (pos.src NULL: builtin setup) */
} Binding;

typedef struct Scope {
  Binding *v;
  int n, cap;
  int *index;            /* open-addressing hash of binding numbers (globals only) */
  int index_cap;
  struct Scope *parent;  /* enclosing local scope (NULL: the globals are next) */
} Scope;

typedef struct Settings {
  uint64_t seed;
  uint64_t samples;
  int threads;
  double confidence;
  Method method;
} Settings;

/* Bounds a host puts on what a script may do: the fuzzer runs every input
 * under them (tests/fuzz), and an embedder running scripts from others can
 * too.  Zero fields mean no bound. */
typedef struct Limits {
  uint64_t max_samples;  /* a larger `samples` is clamped to this */
  uint64_t max_steps;    /* statements run plus functions called, per run */
  int no_files;          /* load, empirical and import are refused */
} Limits;

/* Which settings the command line fixed: `set` in a script leaves them. */
enum { LOCK_SEED = 1, LOCK_SAMPLES = 2, LOCK_THREADS = 4, LOCK_METHOD = 8 };

typedef struct Interp {
  Rt rt;
  DiagList diags;
  Source *sources;
  Program **progs;
  int nprogs, progs_cap;
  Scope globals;
  Scope *locals;         /* innermost local scope during a call or loop body */
  Settings set;
  unsigned locked;
  OutFormat format;
  WriteFn out;           /* reports and print */
  void *out_ud;
  WriteFn err;           /* rendered diagnostics */
  void *err_ud;
  int quiet;
  ProgressFn progress;   /* NULL: no progress display (the moe program sets it on a terminal) */
  void *progress_ud;
  int no_ffi;
  int depth;             /* fn call depth */
  const Stmt *decl;      /* the declaration being evaluated (names objects in messages) */
  volatile int interrupt;
  int repl;              /* names may be redefined */
  int dump_plan;         /* print the VM code of each per-sample declaration */
  struct Import **imports;   /* every file imported so far (import.c) */
  int nimports, imports_cap;
  struct Import **chain;     /* files being checked, innermost last */
  int nchain, chain_cap;
  int prelude_names;     /* globals defined by the prelude (scripts may redefine them) */
  Limits limits;
  uint64_t steps;        /* counted against limits.max_steps, reset by interp_run */
} Interp;

/* Sets up a state with the default allocator and settings; output to the
 * given writers.  Returns nonzero on out-of-memory. */
int interp_init(Interp *I, WriteFn out, void *out_ud, WriteFn err, void *err_ud);
/* The same with the host's allocator, used for everything from the start
 * (the prelude included).  NULL realloc_fn: the C library's. */
int interp_init_alloc(Interp *I, RtReallocFn realloc_fn, void *alloc_ud, WriteFn out,
                      void *out_ud, WriteFn err, void *err_ud);
void interp_free(Interp *I);

/* A fresh state in place (the REPL's :reset): every name, source and
 * setting goes; the allocator, the writers and the host's options stay
 * (format, quiet, progress, no_ffi, repl, dump_plan, limits, and the
 * settings the command line fixed, see `locked`).  Returns nonzero on
 * out-of-memory, after which the state may only be given to interp_free. */
int interp_reset(Interp *I);

/* Runs a source (takes ownership of it).  check_only stops after the
 * checker; dump_ast writes the tree instead of running.  Returns 0 on
 * success, 1 if the script had errors (already reported through I->err),
 * 2 for an incomplete input when `incomplete` is non-NULL (then nothing is
 * reported and the source is released). */
int interp_run(Interp *I, Source *src, int check_only, int dump_ast, int *incomplete);

/* Keep a source or a program alive as long as the state (functions and
 * messages point into them).  keep_program returns 1 on OOM. */
void interp_keep_source(Interp *I, Source *src);
int interp_keep_program(Interp *I, Program *p);

/* Writes text to the state's output. */
void interp_print(Interp *I, const char *s, size_t n);

/* Reports the diagnostics collected so far and clears them. */
void interp_flush_diags(Interp *I);

/* Binds name to v in the innermost scope (consumes v). */
int scope_bind(Interp *I, Scope *s, const char *name, Value v, Pos pos);
Binding *scope_find(Scope *s, const char *name);
void scope_free(Interp *I, Scope *s);

/* Counts one step (a statement or a function call) against
 * limits.max_steps; nonzero when the budget is spent. */
static inline int interp_over_budget(Interp *I)
{
  return I->limits.max_steps && ++I->steps > I->limits.max_steps;
}

/* Looks a name up through the local scopes and the globals. */
Binding *interp_lookup(Interp *I, const char *name);

#endif
