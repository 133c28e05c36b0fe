/*
 * moe.h — the libmoe embedding API (the one installed header).
 *
 * A moe_State is an interpreter: open one with moe_open, run scripts in it
 * with moe_run_string or moe_run_file, read the last error with
 * moe_last_error, close it with moe_close.  The library never exits, aborts
 * or writes to stdout on its own: output goes to the writer in the config
 * (none: discarded), errors to the error sink and to moe_last_error.  After
 * any error the state stays usable.
 *
 * Threads: a state must be used by one thread at a time; separate states
 * share nothing and may run on separate threads.
 */
#ifndef MOE_H
#define MOE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MOE_BUILDING) && defined(__GNUC__)
#define MOE_API __attribute__((visibility("default")))
#else
#define MOE_API
#endif

typedef struct moe_State moe_State;

/* Status codes returned by the API. */
enum {
  MOE_OK = 0,
  MOE_ERROR = 1,      /* an error in the script (see moe_last_error) */
  MOE_EUSAGE = 2,     /* a bad argument to the API */
  MOE_EIO = 3,        /* a file could not be read */
  MOE_INCOMPLETE = 4  /* moe_complete: the text stops inside a statement */
};

/* Where a state's memory, output and errors go.  Zero fields take the
 * defaults (the C allocator; output and errors discarded). */
typedef struct moe_Config {
  /* Like realloc: size 0 frees (returns NULL), ptr NULL allocates. */
  void *(*realloc_fn)(void *ptr, size_t size, void *ud);
  void *alloc_ud;
  /* Reports, print output and REPL values. */
  void (*write)(void *ud, const char *text, size_t len);
  void *write_ud;
  /* Each diagnostic, rendered (file:line:col: error: message, source line,
   * caret, hint). */
  void (*error)(void *ud, const char *text, size_t len);
  void *error_ud;
  int threads;        /* 0: one per CPU */
  int no_ffi;         /* refuse every `extern` */
} moe_Config;

/* The last error of a state: message and position (file NULL and line 0
 * when the error has no source position). */
typedef struct moe_Error {
  const char *message;
  const char *file;
  int line, column;
} moe_Error;

MOE_API void moe_config_init(moe_Config *cfg);
/* NULL config: defaults.  Returns NULL if memory runs out. */
MOE_API moe_State *moe_open(const moe_Config *cfg);
MOE_API void moe_close(moe_State *S);     /* accepts NULL */

/* Runs script text; `name` labels it in messages (NULL: "<string>"). */
MOE_API int moe_run_string(moe_State *S, const char *text, const char *name);
MOE_API int moe_run_file(moe_State *S, const char *path);

/* The most recent error (valid until the next call on S). */
MOE_API const moe_Error *moe_last_error(const moe_State *S);

MOE_API const char *moe_version(void);

/* ---- host functions (api_hostfn.c) ---- */

/* A C function of the host, evaluated on a block of samples: x holds n rows
 * of dim values (row-major), out gets n rows of out_dim values.  Return 0,
 * or nonzero for a failure (the script stops with an error naming the
 * function).  It may be called from several worker threads at once, with
 * different blocks, and must give the same values for the same rows. */
typedef int (*moe_HostFn)(void *ud, const double *x, size_t n, int dim, double *out);

/* What a registered function is in scripts. */
enum {
  MOE_FN_EXPERT = 1,  /* an expert: out_dim 1 */
  MOE_FN_TARGET = 2,  /* a target (no noise; `target y = f noise s` adds it): out_dim 1 */
  MOE_FN_ROUTER = 3,  /* a router: out_dim K >= 2 logits */
  MOE_FN_PLAIN = 4    /* a function, called as f(x) with x a vector (one row) or a
                         matrix (its rows); also usable as an expert, target or
                         router like an extern */
};

/* Binds `name` (a moe identifier, not a keyword) in S's global scope to the
 * host function fn with user data ud; inputs have in_dim >= 1 values.  A
 * name already bound is replaced.  MOE_EUSAGE for a bad argument (S, name
 * or fn NULL, an unknown kind, dimensions that do not fit the kind),
 * MOE_ERROR if memory runs out.  The state keeps fn and ud until it is
 * closed; it never frees ud. */
MOE_API int moe_register_fn(moe_State *S, const char *name, int kind, int in_dim, int out_dim,
                            moe_HostFn fn, void *ud);

#ifdef __cplusplus
}
#endif

#endif
