/*
 * moe.h — the libmoe embedding API (the one installed header).
 *
 * A moe_State is an interpreter: open one with moe_open, run scripts in it
 * with moe_run_string or moe_run_file, read the variables and query results
 * they left behind, define variables for later scripts, read the last error
 * with moe_last_error, close it with moe_close.  docs/embedding.md is the
 * guide; the comments here are the reference.
 *
 * Status codes.  Every function that can fail returns MOE_OK or an error
 * code and then describes the error in moe_last_error (the state stays
 * usable after any error).  A NULL state, a NULL or malformed name or a NULL
 * output pointer is MOE_EUSAGE; an unknown variable or one of another kind
 * is MOE_ERROR ("'x' is a vector, not a number").
 *
 * Pointers.  Strings and arrays passed in are copied before the call returns
 * (the caller keeps ownership).  Pointers handed out (moe_get_vector,
 * moe_result_column, moe_last_error, ...) point into the state and are
 * owned by it: never free them, and copy what you need before the state
 * changes them.  Each function says how long its pointers stay valid.
 *
 * Output.  The library never exits, aborts or writes to stdout or stderr on
 * its own: what scripts print goes to the writer in the config, diagnostics
 * to the error sink (either may be NULL: discarded).  A callback may read
 * the state (getters, moe_last_error) but must not run scripts in it,
 * define variables or close it.
 *
 * Locale.  Scripts are read and numbers printed in the C locale whatever
 * locale the host set (the calling thread's locale is switched during
 * moe_run_string and moe_run_file).
 *
 * Memory.  Every allocation the library makes goes through the config's
 * realloc_fn, always from the thread calling into the library (worker
 * threads never allocate); moe_close frees everything.
 *
 * Threads.  A state must be used by one thread at a time; separate states
 * share nothing and may run on separate threads at once.  Two
 * process-wide effects remain (docs/embedding.md): the first moe_open sets
 * OpenBLAS to one thread (the library runs its own threads), and `import`
 * reads the MOE_PATH environment variable.
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
  MOE_ERROR = 1,      /* an error in the script or a lookup (see moe_last_error) */
  MOE_EUSAGE = 2,     /* a bad argument to the API */
  MOE_EIO = 3,        /* a file could not be read */
  MOE_INCOMPLETE = 4  /* moe_complete: the text stops inside a statement */
};

/* Where a state's memory, output and errors go.  Zero fields take the
 * defaults (the C allocator; output and errors discarded). */
typedef struct moe_Config {
  /* Like realloc: size 0 frees (returns NULL), ptr NULL allocates.  Called
   * only from the thread that called into the library. */
  void *(*realloc_fn)(void *ptr, size_t size, void *ud);
  void *alloc_ud;
  /* Reports and print output.  text is not NUL-terminated and is valid
   * only during the call. */
  void (*write)(void *ud, const char *text, size_t len);
  void *write_ud;
  /* The diagnostics of moe_run_string and moe_run_file, rendered as a C
   * compiler does (file:line:col: error: message, source line, caret,
   * hint), and their file errors ("error: cannot open ...").  Errors in
   * the use of the API itself and failed lookups are not sent here (only
   * returned and kept in moe_last_error).  text as for write. */
  void (*error)(void *ud, const char *text, size_t len);
  void *error_ud;
  int threads;        /* worker threads per query; 0: one per CPU (a script may `set threads`) */
  int no_ffi;         /* refuse every `extern` */
} moe_Config;

/* The last error of a state.  message is "" when the last call succeeded;
 * file is NULL and line, column 0 when the error has no source position;
 * hint is NULL when there is none.  When a script had several errors,
 * this is the first (the error sink receives them all). */
typedef struct moe_Error {
  const char *message;
  const char *file;
  int line, column;
  const char *hint;
} moe_Error;

/* The kinds of value a variable holds (moe_get_kind, moe_kind_name). */
typedef enum moe_Kind {
  MOE_NONE = 0,       /* no value */
  MOE_NUMBER, MOE_BOOL, MOE_STRING, MOE_VECTOR, MOE_MATRIX, MOE_LIST, MOE_FUNCTION,
  MOE_LAW, MOE_ROUTER, MOE_EXPERT, MOE_TARGET, MOE_MODEL, MOE_SCHEDULE, MOE_GATE,
  MOE_RESULT,
  MOE_COLUMN          /* moe_result_key only: a column of a result's table */
} moe_Kind;

/* ------------------------------------------------------------ states */

/* Fills *cfg with the defaults (all zero). */
MOE_API void moe_config_init(moe_Config *cfg);

/* A new state configured by *cfg (copied; NULL: the defaults), with the
 * standard prelude loaded.  Returns NULL if memory runs out. */
MOE_API moe_State *moe_open(const moe_Config *cfg);

/* Frees the state and everything it allocated; accepts NULL.  Every
 * pointer the state handed out becomes invalid. */
MOE_API void moe_close(moe_State *S);

/* ------------------------------------------------------------ running */

/* Parses, checks and runs script text (NUL-terminated, copied); `name`
 * labels it in messages (NULL: "<string>").  Names it defines stay in the
 * state for later scripts and for the getters; a script may not redefine
 * a name an earlier script defined.  Returns MOE_OK, or MOE_ERROR after
 * reporting the script's errors to the error sink. */
MOE_API int moe_run_string(moe_State *S, const char *text, const char *name);

/* The same for a file; `import` in it is searched beside it.  MOE_EIO
 * (with the path in the message) if it cannot be read. */
MOE_API int moe_run_file(moe_State *S, const char *path);

/* Is `text` a complete statement (or several)?  MOE_OK: yes, it can run;
 * MOE_INCOMPLETE: it stops inside a statement (an open bracket, a
 * trailing operator or comma, an unterminated string), so more lines
 * could finish it; MOE_ERROR: a definite syntax error, described in
 * moe_last_error (file "<input>", line and column in text).  Decided by the real parser; nothing is run, defined or
 * sent to the error sink.  Empty text and comments are complete. */
MOE_API int moe_complete(moe_State *S, const char *text);

/* ------------------------------------------------------------ errors */

/* The error of the most recent call on S that returned a status (message
 * "" if it succeeded).  The struct and its strings belong to S and stay
 * valid until the next call on S other than moe_last_error.  NULL S:
 * NULL. */
MOE_API const moe_Error *moe_last_error(const moe_State *S);

/* "0.1.0": the library's version (a static string). */
MOE_API const char *moe_version(void);

/* ------------------------------------------------------------ variables */

/* The names below are global variables of the state: what `let`, `fn` and
 * the declarations (law, router, ...) of earlier scripts bound, the
 * prelude's names (pi, e, phi, ...), and what the host defined.
 *
 * Pointers handed out by the getters point into the variable's value and
 * stay valid until the next moe_run_string, moe_run_file, moe_set_* or
 * moe_close on S (values never change in place; those calls may replace
 * them). */

/* The kind of variable `name` (MOE_NUMBER, MOE_VECTOR, ..., MOE_RESULT).
 * An unknown name is MOE_ERROR with *kind set to MOE_NONE. */
MOE_API int moe_get_kind(moe_State *S, const char *name, int *kind);

/* "number", "vector", "result", ... for a moe_Kind; "?" for others.  A
 * static string. */
MOE_API const char *moe_kind_name(int kind);

MOE_API int moe_get_number(moe_State *S, const char *name, double *out);
MOE_API int moe_get_bool(moe_State *S, const char *name, int *out);   /* 0 or 1 */

/* A string variable: *s NUL-terminated, *len its length in bytes (len may
 * be NULL). */
MOE_API int moe_get_string(moe_State *S, const char *name, const char **s, size_t *len);

/* A vector: *data points at its *n numbers (a valid pointer even when n
 * is 0). */
MOE_API int moe_get_vector(moe_State *S, const char *name, const double **data, size_t *n);

/* A matrix: *data points at rows × cols numbers, row-major (element i, j at
 * data[i * cols + j]). */
MOE_API int moe_get_matrix(moe_State *S, const char *name, const double **data, size_t *rows,
                           size_t *cols);

/* Define (or replace) a global variable for later scripts: they see it as
 * if a script had said `let name = ...`, and the checker knows its kind.
 * The data is copied.  A name already bound to a value of another kind
 * (say a law) is not replaced: MOE_ERROR.  Names are identifiers that are
 * not reserved words.  Non-finite numbers are refused (MOE_EUSAGE), as
 * scripts never see them.  data may be NULL only when there are no
 * numbers to copy. */
MOE_API int moe_set_number(moe_State *S, const char *name, double x);
MOE_API int moe_set_string(moe_State *S, const char *name, const char *s);
MOE_API int moe_set_vector(moe_State *S, const char *name, const double *data, size_t n);
MOE_API int moe_set_matrix(moe_State *S, const char *name, const double *data, size_t rows,
                           size_t cols);

/* ------------------------------------------------------------ results */

/* A query's result kept in a variable (`let r = risk(m, y, X, T)`) holds
 * named scalar fields (risk: hard, hard_stderr, kappa, kappa_stderr, ...;
 * boundary_density: value, stderr) and a table with one row per point or
 * temperature and named columns (risk: tau, soft, soft_stderr, gap,
 * gap_stderr, gap_over_tau).  The names are the keys of the JSON report
 * (docs/language.md).  Every result also answers the string keys "query",
 * "method", "path", "objects" and the number keys "samples", "seed",
 * "seconds" and "partial" (1 when an interrupted query covers fewer
 * samples).  Pointers stay valid as for the variable getters. */

/* A number field.  A boolean field reads as 0 or 1, a count or index
 * field (F_INT) as a whole number. */
MOE_API int moe_result_value(moe_State *S, const char *name, const char *key, double *out);

/* A string field (*out NUL-terminated). */
MOE_API int moe_result_string(moe_State *S, const char *name, const char *key,
                              const char **out);

/* A vector field (hessian: eigenvalues): *n numbers at *data. */
MOE_API int moe_result_vector(moe_State *S, const char *name, const char *key,
                              const double **data, size_t *n);

/* A list-of-strings field (hessian: params): *n NUL-terminated strings. */
MOE_API int moe_result_strings(moe_State *S, const char *name, const char *key,
                               const char *const **strs, size_t *n);

/* The number of rows of the result's table (0 when it has none). */
MOE_API int moe_result_rows(moe_State *S, const char *name, size_t *rows);

/* A column of the table: *n rows of *width numbers each, row-major at
 * *data.  width is 1 for a column of numbers and more for a column of
 * points (margin: x) or vectors (gate: soft); width may be NULL only for
 * a column of numbers.  Index columns (top, hard) hold whole numbers. */
MOE_API int moe_result_column(moe_State *S, const char *name, const char *column,
                              const double **data, size_t *n, size_t *width);

/* The i-th key of the result (its fields first, then its columns), for
 * hosts that list a result: *key the name, *kind MOE_NUMBER, MOE_BOOL,
 * MOE_STRING, MOE_VECTOR (vector field), MOE_LIST (list of strings) or
 * MOE_COLUMN.  Past the last key: MOE_OK with *key NULL and *kind
 * MOE_NONE.  kind may be NULL. */
MOE_API int moe_result_key(moe_State *S, const char *name, size_t i, const char **key,
                           int *kind);

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
