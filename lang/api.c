/*
 * api.c — the public libmoe API of moe.h on top of the interpreter.
 *
 * A moe_State wraps an Interp and the last error it reported.  The file
 * runs top-down: the state, the last error, opening and closing, running
 * and moe_complete, then the variables (looked up in the globals, as the
 * checker and the scripts see them) and the fields of results.
 *
 * Errors.  Every entry point clears the last error, then either succeeds
 * or records one with api_fail() and returns its code.  A script's errors
 * reach the last error through the error sink: when the interpreter
 * flushes its diagnostics, to_error still sees them in I.diags and copies
 * the first one's message and position.  Messages of this file go only to
 * the caller (moe_last_error), never to the error sink.
 */
#define MOE_BUILDING 1
#include "moe.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/result.h"
#include "api_internal.h"
#include "config.h"
#include "parse.h"

/* ------------------------------------------------------------ last error */

static const char no_memory[] = "out of memory";

static void drop_text(moe_State *S, char **p)
{
  rt_free(&S->I.rt, *p);
  *p = NULL;
}

/* Clears the last error (message ""). */
static void clear_last(moe_State *S)
{
  drop_text(S, &S->last_msg);
  drop_text(S, &S->last_file);
  drop_text(S, &S->last_hint);
  memset(&S->last, 0, sizeof S->last);
  S->last.message = "";
}

/* A copy through the host's allocator; NULL in, or out of memory: NULL. */
static char *copy_text(moe_State *S, const char *s)
{
  if (!s)
    return NULL;
  char *c = rt_strdup(&S->I.rt, s);
  if (!c)
    rt_clear(&S->I.rt);
  return c;
}

/* Records an error with an optional position and hint. */
static void set_last(moe_State *S, const char *msg, const char *file, int line, int col,
                     const char *hint)
{
  clear_last(S);
  S->last_msg = copy_text(S, msg);
  S->last_file = copy_text(S, file);
  S->last_hint = copy_text(S, hint);
  S->last.message = S->last_msg ? S->last_msg : no_memory;
  S->last.file = S->last_file;
  S->last.line = S->last_file ? line : 0;
  S->last.column = S->last_file ? col : 0;
  S->last.hint = S->last_hint;
}

/* Records an error of the API (no position) and returns its code. */
int api_fail(moe_State *S, int code, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  set_last(S, msg, NULL, 0, 0, NULL);
  return code;
}

/* ------------------------------------------------------------ open, close */

static void *std_realloc(void *ptr, size_t size, void *ud)
{
  (void)ud;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, size);
}

void moe_config_init(moe_Config *cfg)
{
  if (cfg)
    memset(cfg, 0, sizeof *cfg);
}

static void to_writer(void *ud, const char *s, size_t n)
{
  moe_State *S = ud;
  if (S->cfg.write)
    S->cfg.write(S->cfg.write_ud, s, n);
}

/* The interpreter's error writer: called while its diagnostics are still in
 * I.diags, so the first one becomes the last error as well. */
static void to_error(void *ud, const char *s, size_t n)
{
  moe_State *S = ud;
  if (S->running && !S->last_msg) {
    const DiagList *d = &S->I.diags;
    if (d->n > 0) {
      const Diag *g = &d->v[0];
      set_last(S, g->msg, g->pos.src ? g->pos.src->name : NULL, (int)g->pos.line,
               (int)g->pos.col, g->hint);
    } else {
      set_last(S, no_memory, NULL, 0, 0, NULL);
    }
  }
  if (S->cfg.error)
    S->cfg.error(S->cfg.error_ud, s, n);
}

moe_State *moe_open(const moe_Config *cfg)
{
  moe_Config c;
  if (cfg)
    c = *cfg;
  else
    moe_config_init(&c);
  if (!c.realloc_fn)
    c.realloc_fn = std_realloc;
  moe_State *S = c.realloc_fn(NULL, sizeof *S, c.alloc_ud);
  if (!S)
    return NULL;
  memset(S, 0, sizeof *S);
  S->cfg = c;
  S->last.message = "";
  if (interp_init_alloc(&S->I, c.realloc_fn, c.alloc_ud, to_writer, S, to_error, S)) {
    moe_close(S);
    return NULL;
  }
  if (c.threads > 0)
    S->I.set.threads = c.threads > 64 ? 64 : c.threads;
  S->I.no_ffi = c.no_ffi;
  return S;
}

void moe_close(moe_State *S)
{
  if (!S)
    return;
  clear_last(S);
  interp_free(&S->I);
  S->cfg.realloc_fn(S, 0, S->cfg.alloc_ud);
}

/* ------------------------------------------------------------ running */

/* Runs src in the C locale, whatever locale the host chose: number
 * literals are read and reports printed with a decimal point.  Only this
 * thread's locale changes, and only for the call. */
static int run(moe_State *S, Source *src)
{
  locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  locale_t host = c_locale ? uselocale(c_locale) : (locale_t)0;
  S->running = 1;
  int st = interp_run(&S->I, src, 0, 0, NULL);
  S->running = 0;
  if (c_locale) {
    uselocale(host);
    freelocale(c_locale);
  }
  rt_clear(&S->I.rt);
  if (st == 0) {
    clear_last(S);
    return MOE_OK;
  }
  if (!S->last_msg)
    set_last(S, "the script failed", NULL, 0, 0, NULL);
  return MOE_ERROR;
}

/* A message of a run that stopped before the interpreter: to the last
 * error and, rendered like the interpreter's, to the error sink. */
static int run_failed(moe_State *S, int code, const char *msg)
{
  api_fail(S, code, "%s", msg);
  rt_clear(&S->I.rt);
  if (S->cfg.error) {
    char line[600];
    snprintf(line, sizeof line, "error: %s\n", S->last.message);
    S->cfg.error(S->cfg.error_ud, line, strlen(line));
  }
  return code;
}

int moe_run_string(moe_State *S, const char *text, const char *name)
{
  if (!S)
    return MOE_EUSAGE;
  clear_last(S);
  if (!text)
    return api_fail(S, MOE_EUSAGE, "moe_run_string: text is NULL");
  Source *src = source_new(&S->I.rt, name ? name : "<string>", text, strlen(text));
  if (!src)
    return run_failed(S, MOE_ERROR, no_memory);
  return run(S, src);
}

int moe_run_file(moe_State *S, const char *path)
{
  if (!S)
    return MOE_EUSAGE;
  clear_last(S);
  if (!path)
    return api_fail(S, MOE_EUSAGE, "moe_run_file: path is NULL");
  Source *src;
  RtStatus st = source_read(&S->I.rt, path, &src);
  if (st)
    return run_failed(S, st == RT_ENOMEM ? MOE_ERROR : MOE_EIO, S->I.rt.msg);
  return run(S, src);
}

int moe_complete(moe_State *S, const char *text)
{
  if (!S)
    return MOE_EUSAGE;
  clear_last(S);
  if (!text)
    return api_fail(S, MOE_EUSAGE, "moe_complete: text is NULL");
  Rt *rt = &S->I.rt;
  DiagList d;
  diag_init(&d, rt);
  Source *src = source_new(rt, "<input>", text, strlen(text));
  int inc = 0;
  Program *p = src ? parse_program(rt, src, &d, &inc) : NULL;
  int st = MOE_OK;
  if (!p || d.oom) {
    st = api_fail(S, MOE_ERROR, no_memory);
  } else if (d.n == 1 && inc) {
    st = MOE_INCOMPLETE;   /* the one error is the end of the input */
  } else if (d.n > 0) {
    set_last(S, d.v[0].msg, src->name, (int)d.v[0].pos.line, (int)d.v[0].pos.col, d.v[0].hint);
    st = MOE_ERROR;
  }
  diag_clear(&d);
  program_free(rt, p);
  source_free_all(rt, src);
  rt_clear(rt);
  return st;
}

const moe_Error *moe_last_error(const moe_State *S)
{
  return S ? &S->last : NULL;
}

const char *moe_version(void) { return PACKAGE_VERSION; }

/* ------------------------------------------------------------ variables */

static const struct {
  VKind v;
  moe_Kind k;
  const char *name;
} kinds[] = {
  {V_NIL, MOE_NONE, "nothing"},       {V_NUM, MOE_NUMBER, "number"},
  {V_BOOL, MOE_BOOL, "bool"},         {V_STR, MOE_STRING, "string"},
  {V_VEC, MOE_VECTOR, "vector"},      {V_MAT, MOE_MATRIX, "matrix"},
  {V_LIST, MOE_LIST, "list"},         {V_FUNC, MOE_FUNCTION, "function"},
  {V_LAW, MOE_LAW, "law"},            {V_ROUTER, MOE_ROUTER, "router"},
  {V_EXPERT, MOE_EXPERT, "expert"},   {V_TARGET, MOE_TARGET, "target"},
  {V_MODEL, MOE_MODEL, "model"},      {V_SCHED, MOE_SCHEDULE, "schedule"},
  {V_GATE, MOE_GATE, "gate"},         {V_RESULT, MOE_RESULT, "result"},
  {V_NKINDS, MOE_COLUMN, "column"},
};

static moe_Kind kind_of(VKind v)
{
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
    if (kinds[i].v == v)
      return kinds[i].k;
  return MOE_NONE;
}

const char *moe_kind_name(int kind)
{
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
    if ((int)kinds[i].k == kind)
      return kinds[i].name;
  return "?";
}

/* Reserved words a script cannot use as a name (the declaration keywords
 * and on, under, with, from, noise may be names). */
static int reserved(const char *s)
{
  static const char *const words[] = {
      "let", "fn", "set", "report", "print", "train", "for", "in", "if", "then", "else",
      "and", "or", "not", "import", "extern", "true", "false", NULL};
  for (int i = 0; words[i]; i++)
    if (strcmp(s, words[i]) == 0)
      return 1;
  return 0;
}

static int is_name(const char *s)
{
  if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
    return 0;
  for (const char *p = s + 1; *p; p++)
    if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9')))
      return 0;
  return !reserved(s);
}

/* Common checks of an entry point taking a name: S is not NULL (checked by
 * the caller), the last error is cleared, the name is an identifier and
 * the output pointer is there. */
int api_check_args(moe_State *S, const char *fn, const char *name, const void *out)
{
  clear_last(S);
  if (!name)
    return api_fail(S, MOE_EUSAGE, "%s: name is NULL", fn);
  if (!is_name(name))
    return api_fail(S, MOE_EUSAGE, "%s: '%.100s' is not a name a script could use", fn, name);
  if (!out)
    return api_fail(S, MOE_EUSAGE, "%s: the output pointer is NULL", fn);
  return MOE_OK;
}

/* The global `name`, or NULL after recording "no variable". */
static Binding *find(moe_State *S, const char *name)
{
  Binding *b = scope_find(&S->I.globals, name);
  if (!b)
    api_fail(S, MOE_ERROR, "no variable '%s'", name);
  return b;
}

/* The value of `name` if it has kind `want`; else the error code. */
static int lookup(moe_State *S, const char *fn, const char *name, const void *out, VKind want,
                  Value *v)
{
  int st = api_check_args(S, fn, name, out);
  if (st)
    return st;
  Binding *b = find(S, name);
  if (!b)
    return MOE_ERROR;
  if (b->v.kind != want)
    return api_fail(S, MOE_ERROR, "'%s' is %s, not %s", name, kind_article(b->v.kind),
                kind_article(want));
  *v = b->v;
  return MOE_OK;
}

int moe_get_kind(moe_State *S, const char *name, int *kind)
{
  if (!S)
    return MOE_EUSAGE;
  int st = api_check_args(S, "moe_get_kind", name, kind);
  if (st)
    return st;
  *kind = MOE_NONE;
  Binding *b = find(S, name);
  if (!b)
    return MOE_ERROR;
  *kind = kind_of(b->v.kind);
  return MOE_OK;
}

int moe_get_number(moe_State *S, const char *name, double *out)
{
  Value v = {V_NIL, {0}};
  if (!S)
    return MOE_EUSAGE;
  int st = lookup(S, "moe_get_number", name, out, V_NUM, &v);
  if (!st)
    *out = v.u.num;
  return st;
}

int moe_get_bool(moe_State *S, const char *name, int *out)
{
  Value v = {V_NIL, {0}};
  if (!S)
    return MOE_EUSAGE;
  int st = lookup(S, "moe_get_bool", name, out, V_BOOL, &v);
  if (!st)
    *out = v.u.b != 0;
  return st;
}

int moe_get_string(moe_State *S, const char *name, const char **s, size_t *len)
{
  Value v = {V_NIL, {0}};
  if (!S)
    return MOE_EUSAGE;
  int st = lookup(S, "moe_get_string", name, s, V_STR, &v);
  if (st)
    return st;
  *s = as_str(v)->s;
  if (len)
    *len = as_str(v)->len;
  return MOE_OK;
}

int moe_get_vector(moe_State *S, const char *name, const double **data, size_t *n)
{
  Value v = {V_NIL, {0}};
  if (!S)
    return MOE_EUSAGE;
  int st = lookup(S, "moe_get_vector", name, n ? (const void *)data : NULL, V_VEC, &v);
  if (st)
    return st;
  *data = as_vec(v)->v;
  *n = as_vec(v)->n;
  return MOE_OK;
}

int moe_get_matrix(moe_State *S, const char *name, const double **data, size_t *rows,
                   size_t *cols)
{
  Value v = {V_NIL, {0}};
  if (!S)
    return MOE_EUSAGE;
  int st = lookup(S, "moe_get_matrix", name, rows && cols ? (const void *)data : NULL, V_MAT, &v);
  if (st)
    return st;
  *data = as_mat(v)->v;
  *rows = as_mat(v)->rows;
  *cols = as_mat(v)->cols;
  return MOE_OK;
}

/* Binds v (consumed) to the global `name`, unless that holds another kind. */
int api_define(moe_State *S, const char *fn, const char *name, Value v)
{
  Binding *old = scope_find(&S->I.globals, name);
  if (old && old->v.kind != v.kind) {
    val_drop(&S->I.rt, v);
    return api_fail(S, MOE_ERROR, "%s: '%s' is %s; only %s can replace it", fn, name,
                kind_article(old->v.kind), kind_article(v.kind));
  }
  if (scope_bind(&S->I, &S->I.globals, name, v, (Pos){NULL, 0, 0})) {
    rt_clear(&S->I.rt);
    return api_fail(S, MOE_ERROR, no_memory);
  }
  return MOE_OK;
}

/* NULL data with numbers to copy, or a number that is not finite. */
static int check_numbers(moe_State *S, const char *fn, const char *name, const double *data,
                         size_t n)
{
  if (!data && n > 0)
    return api_fail(S, MOE_EUSAGE, "%s: data is NULL", fn);
  for (size_t i = 0; i < n; i++)
    if (!isfinite(data[i]))
      return api_fail(S, MOE_EUSAGE, "%s: element %zu of '%s' is %g, not a finite number", fn, i,
                  name, data[i]);
  return MOE_OK;
}

int moe_set_number(moe_State *S, const char *name, double x)
{
  if (!S)
    return MOE_EUSAGE;
  int st = api_check_args(S, "moe_set_number", name, "");
  if (st)
    return st;
  if (!isfinite(x))
    return api_fail(S, MOE_EUSAGE, "moe_set_number: '%s' would be %g, not a finite number", name, x);
  return api_define(S, "moe_set_number", name, val_num(x));
}

int moe_set_string(moe_State *S, const char *name, const char *s)
{
  if (!S)
    return MOE_EUSAGE;
  int st = api_check_args(S, "moe_set_string", name, "");
  if (st)
    return st;
  if (!s)
    return api_fail(S, MOE_EUSAGE, "moe_set_string: the string is NULL");
  Value v = val_str(&S->I.rt, s, strlen(s));
  if (v.kind == V_NIL) {
    rt_clear(&S->I.rt);
    return api_fail(S, MOE_ERROR, no_memory);
  }
  return api_define(S, "moe_set_string", name, v);
}

int moe_set_vector(moe_State *S, const char *name, const double *data, size_t n)
{
  if (!S)
    return MOE_EUSAGE;
  int st = api_check_args(S, "moe_set_vector", name, "");
  if (!st)
    st = check_numbers(S, "moe_set_vector", name, data, n);
  if (st)
    return st;
  Value v = val_vec(&S->I.rt, n);
  if (v.kind == V_NIL) {
    rt_clear(&S->I.rt);
    return api_fail(S, MOE_ERROR, no_memory);
  }
  if (n)
    memcpy(as_vec(v)->v, data, n * sizeof *data);
  return api_define(S, "moe_set_vector", name, v);
}

int moe_set_matrix(moe_State *S, const char *name, const double *data, size_t rows, size_t cols)
{
  if (!S)
    return MOE_EUSAGE;
  int st = api_check_args(S, "moe_set_matrix", name, "");
  if (st)
    return st;
  if (cols && rows > SIZE_MAX / cols)
    return api_fail(S, MOE_EUSAGE, "moe_set_matrix: %zu × %zu numbers do not fit in memory", rows,
                cols);
  st = check_numbers(S, "moe_set_matrix", name, data, rows * cols);
  if (st)
    return st;
  Value v = val_mat(&S->I.rt, rows, cols);
  if (v.kind == V_NIL) {
    rt_clear(&S->I.rt);
    return api_fail(S, MOE_ERROR, no_memory);
  }
  if (rows && cols)
    memcpy(as_mat(v)->v, data, rows * cols * sizeof *data);
  return api_define(S, "moe_set_matrix", name, v);
}

/* ------------------------------------------------------------ results */

/* Pseudo-keys every result answers besides its fields and columns. */
static const char *const string_keys[] = {"query", "method", "path", "objects", NULL};
static const char *const number_keys[] = {"samples", "seed", "seconds", "partial", NULL};

static int among(const char *s, const char *const *v)
{
  for (int i = 0; v[i]; i++)
    if (strcmp(s, v[i]) == 0)
      return 1;
  return 0;
}

/* What `key` is in r: MOE_NUMBER, MOE_BOOL, MOE_STRING, MOE_VECTOR,
 * MOE_LIST (strings), MOE_COLUMN, or MOE_NONE when r has no such key. */
static moe_Kind key_kind(const Result *r, const char *key)
{
  static const moe_Kind of_field[] = {
      [F_NUM] = MOE_NUMBER, [F_INT] = MOE_NUMBER, [F_BOOL] = MOE_BOOL,
      [F_VEC] = MOE_VECTOR, [F_STR] = MOE_STRING, [F_STRS] = MOE_LIST};
  const Field *f = result_field(r, key);
  if (f)
    return of_field[f->kind];
  if (result_column(r, key))
    return MOE_COLUMN;
  if (among(key, string_keys))
    return MOE_STRING;
  return among(key, number_keys) ? MOE_NUMBER : MOE_NONE;
}

/* "no key": the message and, as its hint, the keys r has. */
static int no_key(moe_State *S, const char *name, const Result *r, const char *key)
{
  char msg[512], hint[1024];
  snprintf(msg, sizeof msg, "result '%s' (%s) has no key '%.100s'", name, r->query, key);
  size_t n = (size_t)snprintf(hint, sizeof hint, "it has");
  for (int i = 0; i < r->nfields + r->ncols && n < sizeof hint; i++)
    n += (size_t)snprintf(hint + n, sizeof hint - n, "%s %s", i ? "," : "",
                          i < r->nfields ? r->fields[i].name : r->cols[i - r->nfields].name);
  if (n < sizeof hint)
    snprintf(hint + n, sizeof hint - n, "%s query, method, path, objects, samples, seed, "
             "seconds, partial", r->nfields + r->ncols ? "," : "");
  set_last(S, msg, NULL, 0, 0, hint);
  return MOE_ERROR;
}

/* The result bound to `name` and the kind of its `key`, which must be
 * `want` (or, for moe_result_value, a boolean too). */
static int get_key(moe_State *S, const char *fn, const char *name, const char *key,
                   const void *out, moe_Kind want, const Result **r)
{
  static const char *const reader[] = {
      [MOE_NUMBER] = "moe_result_value", [MOE_BOOL] = "moe_result_value",
      [MOE_STRING] = "moe_result_string", [MOE_VECTOR] = "moe_result_vector",
      [MOE_LIST] = "moe_result_strings", [MOE_COLUMN] = "moe_result_column"};
  Value v = {V_NIL, {0}};
  int st = lookup(S, fn, name, out, V_RESULT, &v);
  if (st)
    return st;
  if (!key)
    return api_fail(S, MOE_EUSAGE, "%s: key is NULL", fn);
  *r = v.u.p;
  moe_Kind k = key_kind(*r, key);
  if (k == MOE_NONE)
    return no_key(S, name, *r, key);
  if (k != want && !(want == MOE_NUMBER && k == MOE_BOOL))
    return api_fail(S, MOE_ERROR, "'%s' of result '%s' is a %s; read it with %s", key, name,
                k == MOE_LIST ? "list of strings" : moe_kind_name(k), reader[k]);
  return MOE_OK;
}

int moe_result_value(moe_State *S, const char *name, const char *key, double *out)
{
  const Result *r = NULL;
  if (!S)
    return MOE_EUSAGE;
  int st = get_key(S, "moe_result_value", name, key, out, MOE_NUMBER, &r);
  if (st)
    return st;
  const Field *f = result_field(r, key);
  *out = f ? f->num
       : strcmp(key, "samples") == 0 ? (double)r->samples
       : strcmp(key, "seed") == 0 ? (double)r->seed
       : strcmp(key, "seconds") == 0 ? r->seconds
       : r->partial != 0;
  return MOE_OK;
}

int moe_result_string(moe_State *S, const char *name, const char *key, const char **out)
{
  const Result *r = NULL;
  if (!S)
    return MOE_EUSAGE;
  int st = get_key(S, "moe_result_string", name, key, out, MOE_STRING, &r);
  if (st)
    return st;
  const Field *f = result_field(r, key);
  const char *s = f ? f->str
                : strcmp(key, "query") == 0 ? r->query
                : strcmp(key, "method") == 0 ? r->method
                : strcmp(key, "path") == 0 ? r->path
                : r->objects;
  *out = s ? s : "";
  return MOE_OK;
}

int moe_result_vector(moe_State *S, const char *name, const char *key, const double **data,
                      size_t *n)
{
  const Result *r = NULL;
  if (!S)
    return MOE_EUSAGE;
  int st = get_key(S, "moe_result_vector", name, key, n ? (const void *)data : NULL, MOE_VECTOR,
                   &r);
  if (st)
    return st;
  const Field *f = result_field(r, key);
  static const double none[1];
  *data = f->vec ? f->vec : none;
  *n = f->n;
  return MOE_OK;
}

int moe_result_strings(moe_State *S, const char *name, const char *key,
                       const char *const **strs, size_t *n)
{
  const Result *r = NULL;
  if (!S)
    return MOE_EUSAGE;
  int st = get_key(S, "moe_result_strings", name, key, n ? (const void *)strs : NULL, MOE_LIST,
                   &r);
  if (st)
    return st;
  const Field *f = result_field(r, key);
  static const char *const none[1];
  *strs = f->strs ? (const char *const *)f->strs : none;
  *n = f->n;
  return MOE_OK;
}

int moe_result_rows(moe_State *S, const char *name, size_t *rows)
{
  Value v = {V_NIL, {0}};
  if (!S)
    return MOE_EUSAGE;
  int st = lookup(S, "moe_result_rows", name, rows, V_RESULT, &v);
  if (!st)
    *rows = ((const Result *)v.u.p)->nrows;
  return st;
}

int moe_result_column(moe_State *S, const char *name, const char *column, const double **data,
                      size_t *n, size_t *width)
{
  const Result *r = NULL;
  if (!S)
    return MOE_EUSAGE;
  int st = get_key(S, "moe_result_column", name, column, n ? (const void *)data : NULL,
                   MOE_COLUMN, &r);
  if (st)
    return st;
  const Column *c = result_column(r, column);
  if (!width && c->width != 1)
    return api_fail(S, MOE_EUSAGE, "moe_result_column: column '%s' of '%s' has %d numbers per row; "
                "pass a width pointer", column, name, c->width);
  static const double none[1];
  *data = c->data ? c->data : none;
  *n = r->nrows;
  if (width)
    *width = (size_t)c->width;
  return MOE_OK;
}

int moe_result_key(moe_State *S, const char *name, size_t i, const char **key, int *kind)
{
  Value v = {V_NIL, {0}};
  if (!S)
    return MOE_EUSAGE;
  int st = lookup(S, "moe_result_key", name, key, V_RESULT, &v);
  if (st)
    return st;
  const Result *r = v.u.p;
  size_t nf = (size_t)r->nfields, nc = (size_t)r->ncols;
  *key = i < nf ? r->fields[i].name : i < nf + nc ? r->cols[i - nf].name : NULL;
  if (kind)
    *kind = *key ? (int)key_kind(r, *key) : MOE_NONE;
  return MOE_OK;
}
