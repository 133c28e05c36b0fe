/*
 * foreign.c — `extern fn` through dlopen and libffi, and host functions (see
 * foreign.h; the user's view is docs/extern.md).  The file is not named
 * ffi.c so that its header cannot hide libffi's <ffi.h>; its functions
 * keep the prefix ffi_.
 *
 * The file runs top-down: the signature (types, checks), loading, the one
 * place that calls C (invoke), block functions for the engine, plain calls
 * from the tree walk, and the conversions to experts, targets and routers.
 *
 * The C signatures follow from the declaration, parameter by parameter:
 *   num          double
 *   vec, vec[N]  const double *x, int dim
 *   block        const double *X, long n, int dim      (rows, row-major)
 * and the result:
 *   -> num       returns double                 (block form: double *out, n values)
 *   -> vec[K]    returns void; double *out, int out_dim   (block form: n × K, row-major)
 * A `vec` result without K is as long as the first vector argument.
 */
#include "foreign.h"

#include <dlfcn.h>
#include <ffi.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/model.h"
#include "builtins.h"
#include "eval.h"

typedef struct FParam {
  const char *name;
  FKind kind;
  int dim;               /* declared size; 0: any */
} FParam;

struct Foreign {
  int refs;              /* changed on the interpreter's thread only */
  char *name;            /* "f" */
  char *what;            /* "extern fn f", "host function f" */
  int nparams;
  FParam p[FFI_MAX_PARAMS];
  FKind ret;             /* FK_NUM or FK_VEC */
  int ret_dim;           /* FK_VEC: K; 0: the length of the first vector argument */
  int batched;           /* p[0] is a block: one call per block */
  void *lib;             /* dlopen handle, closed with the last reference */
  void (*sym)(void);
  ffi_cif cif;
  ffi_type *types[2 * FFI_MAX_PARAMS + 2];
  FHostFn host;          /* host functions: called instead of sym */
  void *host_ud;
};

/* ------------------------------------------------------------ signatures */

int ffi_parse_type(const char *text, FKind *kind, int *dim)
{
  static const char *const names[] = {"num", "vec", "block"};
  size_t n = strcspn(text, "[");
  *dim = 0;
  int k = -1;
  for (int i = 0; i < 3; i++)
    if (strlen(names[i]) == n && strncmp(text, names[i], n) == 0)
      k = i;
  if (k < 0 || (k == FK_NUM && text[n]))
    return 1;
  *kind = (FKind)k;
  if (!text[n])
    return 0;
  char *end;
  double d = strtod(text + n + 1, &end);
  while (*end == ' ' || *end == '\t')
    end++;
  if (*end != ']' || end[1] || d != floor(d) || d < 1 || d > FFI_MAX_DIM)
    return 2;
  *dim = (int)d;
  return 0;
}

static int bad_type(Interp *I, const Stmt *s, Pos pos, const char *type, int is_ret, int why)
{
  uint32_t span = (uint32_t)strlen(type);
  if (why == 2) {
    diag_error(&I->diags, pos, span, "the size in '%s' must be a whole number from 1 to %d",
               type, FFI_MAX_DIM);
    return 1;
  }
  diag_error(&I->diags, pos, span, "unsupported %s kind '%s' in extern fn %s",
             is_ret ? "return" : "parameter", type, s->name);
  if (is_ret)
    diag_hint(&I->diags, "an extern returns num, vec or vec[K] (docs/extern.md)");
  else
    diag_hint(&I->diags, "a parameter is num, vec, vec[N] or block (docs/extern.md)");
  return 1;
}

int ffi_check(Interp *I, const Stmt *s)
{
  int errors = 0, nvec = 0;
  FKind k;
  int dim;
  if (s->params.n > FFI_MAX_PARAMS) {
    diag_error(&I->diags, s->name_pos, (uint32_t)strlen(s->name),
               "extern fn %s has %d parameters; at most %d are supported", s->name,
               s->params.n, FFI_MAX_PARAMS);
    return 1;
  }
  for (int i = 0; i < s->params.n; i++) {
    const Param *p = &s->params.v[i];
    int why = ffi_parse_type(p->type, &k, &dim);
    if (why) {
      errors += bad_type(I, s, p->type_pos, p->type, 0, why);
      continue;
    }
    nvec += k != FK_NUM;
    if (k == FK_BLOCK && s->params.n != 1) {
      diag_error(&I->diags, p->type_pos, (uint32_t)strlen(p->type),
                 "a block parameter must be the only parameter of extern fn %s", s->name);
      diag_hint(&I->diags, "the C function gets the whole block: void %s(const double *X, "
                "long n, int dim, double *out)", s->name);
      errors++;
    }
  }
  int why = ffi_parse_type(s->ret_type, &k, &dim);
  if (!why && k == FK_BLOCK)
    why = 1;
  if (why)
    return errors + bad_type(I, s, s->ret_pos, s->ret_type, 1, why);
  if (k == FK_VEC && dim == 0 && nvec == 0) {
    diag_error(&I->diags, s->ret_pos, (uint32_t)strlen(s->ret_type),
               "extern fn %s returns a vector but has no vector parameter to take its length "
               "from", s->name);
    diag_hint(&I->diags, "give the length: -> vec[K]");
    errors++;
  }
  return errors;
}

/* The Foreign of a checked declaration, without the callee. */
static Foreign *describe(Rt *rt, const Stmt *s)
{
  Foreign *F = rt_calloc(rt, 1, sizeof *F);
  if (!F)
    return NULL;
  F->refs = 1;
  F->nparams = s->params.n;
  for (int i = 0; i < s->params.n; i++) {
    F->p[i].name = s->params.v[i].name;
    ffi_parse_type(s->params.v[i].type, &F->p[i].kind, &F->p[i].dim);
  }
  FKind rk;
  ffi_parse_type(s->ret_type, &rk, &F->ret_dim);
  F->ret = rk;
  F->batched = F->nparams == 1 && F->p[0].kind == FK_BLOCK;
  StrBuf b;
  sb_init(&b, rt);
  sb_printf(&b, "extern fn %s", s->name);
  F->what = sb_take(&b);
  F->name = rt_strdup(rt, s->name);
  if (!F->what || !F->name) {
    ffi_unref(rt, F);
    return NULL;
  }
  return F;
}

/* The libffi description of the C signature (see the file comment). */
static int prepare(Foreign *F)
{
  int na = 0;
  for (int i = 0; i < F->nparams; i++) {
    if (F->p[i].kind == FK_NUM) {
      F->types[na++] = &ffi_type_double;
      continue;
    }
    F->types[na++] = &ffi_type_pointer;
    if (F->p[i].kind == FK_BLOCK)
      F->types[na++] = &ffi_type_slong;
    F->types[na++] = &ffi_type_sint;
  }
  if (F->batched || F->ret == FK_VEC)
    F->types[na++] = &ffi_type_pointer;
  if (F->ret == FK_VEC)
    F->types[na++] = &ffi_type_sint;
  ffi_type *rtype = F->ret == FK_NUM && !F->batched ? &ffi_type_double : &ffi_type_void;
  return ffi_prep_cif(&F->cif, FFI_DEFAULT_ABI, (unsigned)na, rtype, F->types) != FFI_OK;
}

void ffi_unref(Rt *rt, Foreign *F)
{
  if (!F || --F->refs > 0)
    return;
  if (F->lib)
    dlclose(F->lib);
  rt_free(rt, F->name);
  rt_free(rt, F->what);
  rt_free(rt, F);
}

static Foreign *fref(Foreign *F)
{
  F->refs++;
  return F;
}

const char *ffi_name(const Foreign *F) { return F->name; }
int ffi_nparams(const Foreign *F) { return F->nparams; }
int ffi_returns_vec(const Foreign *F) { return F->ret == FK_VEC; }
int ffi_param_dim(const Foreign *F, int i) { return F->p[i].dim; }

/* ------------------------------------------------------------ loading */

static int refused(Interp *I, const Stmt *s)
{
  if (I->no_ffi) {
    eval_error_at(I, s->pos, 6, "extern is disabled (--no-ffi): extern fn %s from '%s' is not "
                  "loaded", s->name, s->path);
    diag_hint(&I->diags, "this session runs scripts without loading C code; run without "
              "--no-ffi to allow it");
    return 1;
  }
  if (I->limits.no_files) {
    eval_error_at(I, s->pos, 6, "extern is disabled: this session may not read files, so "
                  "extern fn %s from '%s' is not loaded", s->name, s->path);
    return 1;
  }
  return 0;
}

/* The path handed to dlopen: beside the script for ./ and ../, else as
 * written (dlopen then searches LD_LIBRARY_PATH and the system directories
 * for a bare name, and takes a name with a slash relative to the current
 * directory). */
static void lib_path(const Stmt *s, char *buf, size_t n)
{
  const char *p = s->path, *name = s->pos.src ? s->pos.src->name : "";
  const char *slash = strrchr(name, '/');
  int rel = strncmp(p, "./", 2) == 0 || strncmp(p, "../", 3) == 0;
  if (!rel || !slash || name[0] == '<')
    snprintf(buf, n, "%s", p);
  else
    snprintf(buf, n, "%.*s/%s", (int)(slash - name), name, p);
}

static int open_lib(Interp *I, const Stmt *s, Foreign *F)
{
  char path[PATH_MAX + 8];
  lib_path(s, path, sizeof path);
  dlerror();
  F->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (F->lib)
    return 0;
  const char *why = dlerror();
  eval_error_at(I, s->path_pos, (uint32_t)strlen(s->path) + 2,
                "cannot load '%s' for extern fn %s: %s", s->path, s->name,
                why ? why : "unknown error");
  if (strchr(s->path, '/'))
    diag_hint(&I->diags, "tried %s; a path starting with ./ or ../ is relative to the "
              "script's directory", path);
  else
    diag_hint(&I->diags, "a bare name is searched like dlopen(3) does (LD_LIBRARY_PATH, the "
              "system directories); write ./%s for a library beside the script", s->path);
  return 1;
}

static int find_sym(Interp *I, const Stmt *s, Foreign *F)
{
  dlerror();
  void *sym = dlsym(F->lib, s->name);
  if (sym && !dlerror()) {
    memcpy(&F->sym, &sym, sizeof sym);    /* object to function pointer, as POSIX allows */
    return 0;
  }
  eval_error_at(I, s->name_pos, (uint32_t)strlen(s->name), "'%s' has no function named '%s'",
                s->path, s->name);
  diag_hint(&I->diags, "the C function must be exported under the extern's name (nm -D "
            "shows what a library exports)");
  return 1;
}

int ffi_load(Interp *I, const Stmt *s, Value *out)
{
  *out = val_nil();
  if (refused(I, s))
    return 1;
  if (ffi_check(I, s))         /* a REPL line is checked too; this is for safety */
    return 1;
  Foreign *F = describe(&I->rt, s);
  if (!F)
    return eval_error_at(I, s->pos, 6, "out of memory");
  int err = open_lib(I, s, F) || find_sym(I, s, F);
  if (!err && prepare(F))
    err = eval_error_at(I, s->pos, 6, "libffi cannot prepare a call to extern fn %s", s->name);
  Value v = err ? val_nil() : val_func(&I->rt, s);
  if (!err && v.kind == V_NIL)
    err = eval_error_at(I, s->pos, 6, "out of memory");
  if (err) {
    ffi_unref(&I->rt, F);
    return 1;
  }
  as_func(v)->ext = F;
  *out = v;
  return 0;
}

Foreign *ffi_host(Rt *rt, const char *name, int in_dim, int out_dim, int as_vec, FHostFn fn,
                  void *ud)
{
  Foreign *F = rt_calloc(rt, 1, sizeof *F);
  if (!F)
    return NULL;
  F->refs = 1;
  F->nparams = 1;
  F->p[0] = (FParam){"X", FK_BLOCK, in_dim};
  F->ret = as_vec ? FK_VEC : FK_NUM;
  F->ret_dim = as_vec ? out_dim : 0;
  F->batched = 1;
  F->host = fn;
  F->host_ud = ud;
  StrBuf b;
  sb_init(&b, rt);
  sb_printf(&b, "host function %s", name);
  F->what = sb_take(&b);
  F->name = rt_strdup(rt, name);
  if (!F->what || !F->name) {
    ffi_unref(rt, F);
    return NULL;
  }
  return F;
}

/* ------------------------------------------------------------ calling */

/* Values per call given the arguments' widths. */
static int out_dim(const Foreign *F, const int *widths)
{
  if (F->ret == FK_NUM)
    return 1;
  if (F->ret_dim)
    return F->ret_dim;
  for (int i = 0; i < F->nparams; i++)
    if (F->p[i].kind != FK_NUM)
      return widths[i];
  return 1;
}

/* libffi's argument list for one call and the storage it points into:
 * filled once (bind_args), then reused by every call whose arguments stay
 * at the same addresses, as the per-row loop's do.  Stack memory only: any
 * thread may be here. */
typedef struct FArgs {
  void *av[2 * FFI_MAX_PARAMS + 2];
  const double *ptr[FFI_MAX_PARAMS];
  int dims[FFI_MAX_PARAMS];
  long n;
  int od;
  double *outp;
} FArgs;

/* `in` holds the arguments side by side (for the block form, n rows of
 * widths[0] values), `out` gets od values (block form: n × od). */
static void bind_args(const Foreign *F, const int *widths, const double *in, long n,
                      double *out, int od, FArgs *a)
{
  int na = 0;
  const double *at = in;
  a->n = n;
  a->od = od;
  a->outp = out;
  for (int i = 0; i < F->nparams; i++) {
    a->ptr[i] = at;
    a->dims[i] = widths[i];
    if (F->p[i].kind == FK_NUM) {
      a->av[na++] = (void *)(uintptr_t)a->ptr[i];   /* libffi reads the double there */
    } else {
      a->av[na++] = &a->ptr[i];
      if (F->p[i].kind == FK_BLOCK)
        a->av[na++] = &a->n;
      a->av[na++] = &a->dims[i];
    }
    at += widths[i];
  }
  if (F->batched || F->ret == FK_VEC)
    a->av[na++] = &a->outp;
  if (F->ret == FK_VEC)
    a->av[na++] = &a->od;
}

/* One call through libffi with the bound arguments. */
static void call_bound(const Foreign *F, FArgs *a)
{
  if (F->ret == FK_NUM && !F->batched) {
    double r = 0;
    ffi_call((ffi_cif *)&F->cif, F->sym, &r, a->av);
    a->outp[0] = r;
  } else {
    ffi_call((ffi_cif *)&F->cif, F->sym, NULL, a->av);
  }
}

/* Calls F once (see bind_args for the layout).  Returns a host function's
 * status (0 for C called through libffi). */
static int invoke(const Foreign *F, const int *widths, const double *in, long n, double *out,
                  int od)
{
  if (F->host)
    return F->host(F->host_ud, in, (size_t)n, widths[0], out);
  FArgs a;
  bind_args(F, widths, in, n, out, od, &a);
  call_bound(F, &a);
  return 0;
}

static const char *nonfinite_name(double v)
{
  return isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf";
}

/* "0.1, 0.2" (the first values of an input row) into buf. */
static void row_text(char *buf, size_t len, const double *row, int n)
{
  size_t used = 0;
  buf[0] = '\0';
  for (int j = 0; j < n && j < 8 && used + 24 < len; j++)
    used += (size_t)snprintf(buf + used, len - used, "%s%.6g", j ? ", " : "", row[j]);
  if (n > 8 && used + 6 < len)
    snprintf(buf + used, len - used, ", ...");
}

/* The first non-finite value among n, or -1. */
static int first_bad(const double *v, int n)
{
  for (int k = 0; k < n; k++)
    if (!isfinite(v[k]))
      return k;
  return -1;
}

static RtStatus bad_value(const Foreign *F, const double *row, int din, const double *out,
                          int od, int k, BlockErr *err)
{
  char xs[200];
  row_text(xs, sizeof xs, row, din);
  if (od == 1)
    return block_fail(err, RT_EINVAL, "%s returned %s for the input [%s]", F->what,
                      nonfinite_name(out[k]), xs);
  return block_fail(err, RT_EINVAL, "%s returned %s in output %d for the input [%s]",
                    F->what, nonfinite_name(out[k]), k, xs);
}

/* ------------------------------------------------------------ block functions */

typedef struct FCall {
  Foreign *F;
  int widths[FFI_MAX_PARAMS];
} FCall;

static void fcall_free(Rt *rt, void *ctx)
{
  FCall *c = ctx;
  if (c)
    ffi_unref(rt, c->F);
  rt_free(rt, c);
}

static size_t fcall_scratch(const BlockFn *f, size_t n)
{
  const FCall *c = f->ctx;
  size_t per = (size_t)f->in_dim + (size_t)f->out_dim;
  return c->F->batched ? n * per : per;
}

/* One call per block: the block is turned into rows for C and back. */
static RtStatus eval_batched(const BlockFn *f, size_t n, const double *x, size_t ldx,
                             double *y, size_t ldy, double *scratch, BlockErr *err)
{
  const FCall *c = f->ctx;
  int din = f->in_dim, od = f->out_dim;
  double *X = scratch, *out = scratch + n * (size_t)din;
  for (size_t i = 0; i < n; i++)
    for (int j = 0; j < din; j++)
      X[i * (size_t)din + (size_t)j] = x[(size_t)j * ldx + i];
  int rc = invoke(c->F, c->widths, X, (long)n, out, od);
  if (rc)
    return block_fail(err, RT_EINVAL, "%s failed (it returned %d)", c->F->what, rc);
  for (size_t i = 0; i < n; i++) {
    const double *o = out + i * (size_t)od;
    int k = first_bad(o, od);
    if (k >= 0)
      return bad_value(c->F, X + i * (size_t)din, din, o, od, k, err);
    for (int j = 0; j < od; j++)
      y[(size_t)j * ldy + i] = o[j];
  }
  return RT_OK;
}

static RtStatus fcall_eval(const BlockFn *f, size_t n, const double *x, size_t ldx, double *y,
                           size_t ldy, double *scratch, BlockErr *err)
{
  const FCall *c = f->ctx;
  if (c->F->batched)
    return eval_batched(f, n, x, ldx, y, ldy, scratch, err);
  int din = f->in_dim, od = f->out_dim;
  double *row = scratch, *out = scratch + din;
  /* Host functions are always batched, so this is libffi: the argument
   * list points at row and out, which stay put, so it is built once. */
  FArgs a;
  bind_args(c->F, c->widths, row, 1, out, od, &a);
  for (size_t i = 0; i < n; i++) {
    for (int j = 0; j < din; j++)
      row[j] = x[(size_t)j * ldx + i];
    call_bound(c->F, &a);
    int k = first_bad(out, od);
    if (k >= 0)
      return bad_value(c->F, row, din, out, od, k, err);
    for (int j = 0; j < od; j++)
      y[(size_t)j * ldy + i] = out[j];
  }
  return RT_OK;
}

RtStatus ffi_blockfn(Rt *rt, Foreign *F, const int *widths, BlockFn **out)
{
  *out = NULL;
  FCall *c = rt_calloc(rt, 1, sizeof *c);
  if (!c)
    return RT_ENOMEM;
  c->F = fref(F);
  int din = 0;
  for (int i = 0; i < F->nparams; i++)
    din += c->widths[i] = widths[i];
  BlockFn *f = blockfn_new(rt, F->what, din, out_dim(F, widths), c, fcall_free);
  if (!f)
    return RT_ENOMEM;
  f->eval = fcall_eval;
  f->scratch_doubles = fcall_scratch;
  *out = f;
  return RT_OK;
}

/* A function of one vector of undeclared length: built per dimension. */
static RtStatus specialize(Rt *rt, const BlockFn *generic, int dim, BlockFn **out)
{
  return ffi_blockfn(rt, generic->ctx, &dim, out);
}

static void generic_free(Rt *rt, void *ctx) { ffi_unref(rt, ctx); }

static RtStatus generic_eval(const BlockFn *f, size_t n, const double *x, size_t ldx, double *y,
                             size_t ldy, double *scratch, BlockErr *err)
{
  (void)n, (void)x, (void)ldx, (void)y, (void)ldy, (void)scratch;
  return block_fail(err, RT_EINVAL, "%s was called before its input dimension was known",
                    f->name);
}

/* The block function of a one-parameter function (an expert, target or
 * router): fixed when the size is declared, else generic. */
static RtStatus object_fn(Rt *rt, Foreign *F, BlockFn **out)
{
  if (F->p[0].dim > 0)
    return ffi_blockfn(rt, F, &F->p[0].dim, out);
  BlockFn *g = blockfn_new(rt, F->what, -1, F->ret == FK_NUM ? 1 : F->ret_dim, fref(F),
                           generic_free);
  if (!g)
    return RT_ENOMEM;
  g->min_dim = 1;
  g->eval = generic_eval;
  g->specialize = specialize;
  *out = g;
  return RT_OK;
}

/* ------------------------------------------------------------ plain calls */

const char *ffi_arg_mismatch(const Foreign *F, int i, int is_vec, int n, char *buf, size_t len)
{
  const FParam *p = &F->p[i];
  const char *kinds[] = {"num", "vec", "block"};
  if (p->kind == FK_NUM && n < 0)
    snprintf(buf, len, "argument %d of %s() must be a number (declared '%s: num'), not a "
             "vector", i + 1, F->name, p->name);
  else if (p->kind == FK_NUM && (is_vec || n != 1))
    snprintf(buf, len, "argument %d of %s() must be a number (declared '%s: num'), not a "
             "vector of %d", i + 1, F->name, p->name, n);
  else if (p->kind != FK_NUM && !is_vec)
    snprintf(buf, len, "argument %d of %s() must be a vector (declared '%s: %s'), not a number",
             i + 1, F->name, p->name, kinds[p->kind]);
  else if (p->dim && n >= 0 && n != p->dim)
    snprintf(buf, len, "argument %d of %s() must be a vector of %d numbers (declared '%s: "
             "%s[%d]'), not %d", i + 1, F->name, p->dim, p->name, kinds[p->kind], p->dim, n);
  else
    return NULL;
  return buf;
}

/* The evaluated argument i as numbers: *w values per row, *rows rows (a
 * matrix only for a block parameter).  Reports a mismatch at e. */
static int arg_shape(Interp *I, const Expr *e, const Foreign *F, int i, Value v, int *w,
                     size_t *rows)
{
  char msg[300];
  *rows = 1;
  if (v.kind == V_MAT && F->p[i].kind == FK_BLOCK) {
    *rows = as_mat(v)->rows;
    *w = (int)as_mat(v)->cols;
    if (F->p[i].dim && *w != F->p[i].dim)
      return eval_error(I, e, "argument %d of %s() must have %d columns (declared '%s: "
                        "block[%d]'), not %d", i + 1, F->name, F->p[i].dim, F->p[i].name,
                        F->p[i].dim, *w);
    return 0;
  }
  if (v.kind != V_NUM && v.kind != V_VEC)
    return eval_error(I, e, "argument %d of %s() must be %s, not %s", i + 1, F->name,
                      F->p[i].kind == FK_NUM ? "a number" : "a vector", kind_article(v.kind));
  *w = v.kind == V_VEC ? (int)as_vec(v)->n : 1;
  if (ffi_arg_mismatch(F, i, v.kind == V_VEC, *w, msg, sizeof msg))
    return eval_error(I, e, "%s", msg);
  return 0;
}

/* Calls F on evaluated arguments and builds the value of the call. */
static int call_values(Interp *I, const Expr *e, Foreign *F, const Value *vals, const int *w,
                       size_t rows, Value *out)
{
  int din = 0, od = out_dim(F, w);
  for (int i = 0; i < F->nparams; i++)
    din += w[i];
  Rt *rt = &I->rt;
  double *in = rt_array(rt, rows * (size_t)din + 1, sizeof *in);
  double *res = rt_array(rt, rows * (size_t)od + 1, sizeof *res);
  int err = !in || !res ? eval_error(I, e, "out of memory") : 0;
  double *at = in;
  for (int i = 0; !err && i < F->nparams; i++) {
    const double *src = vals[i].kind == V_NUM ? &vals[i].u.num
                        : vals[i].kind == V_VEC ? as_vec(vals[i])->v : as_mat(vals[i])->v;
    memcpy(at, src, rows * (size_t)w[i] * sizeof *at);
    at += w[i];
  }
  int rc = err ? 0 : invoke(F, w, in, (long)rows, res, od);
  if (rc)
    err = eval_error(I, e, "%s failed (it returned %d)", F->what, rc);
  for (size_t r = 0; !err && r < rows; r++) {
    int k = first_bad(res + r * (size_t)od, od);
    if (k >= 0) {
      BlockErr be = {0};
      bad_value(F, in + r * (size_t)din, din, res + r * (size_t)od, od, k, &be);
      err = eval_error(I, e, "%s", be.msg);
      diag_hint(&I->diags, "a C function called from moe must return finite numbers");
    }
  }
  int matrix = F->batched && vals[0].kind == V_MAT;
  if (!err && !matrix && F->ret == FK_NUM)
    *out = val_num(res[0]);
  else if (!err) {
    *out = !matrix ? val_vec(rt, (size_t)od)
           : F->ret == FK_NUM ? val_vec(rt, rows) : val_mat(rt, rows, (size_t)od);
    if (out->kind == V_NIL)
      err = eval_error(I, e, "out of memory");
    else
      memcpy(out->kind == V_VEC ? as_vec(*out)->v : as_mat(*out)->v, res,
             rows * (size_t)od * sizeof *res);
  }
  rt_free(rt, in);
  rt_free(rt, res);
  return err;
}

int ffi_apply(Interp *I, const Expr *e, Foreign *F, const ArgList *args, Value *out)
{
  *out = val_nil();
  if (args->n != F->nparams)
    return eval_error(I, e, "%s() takes %d argument%s but %d %s given", F->name, F->nparams,
                      F->nparams == 1 ? "" : "s", args->n, args->n == 1 ? "was" : "were");
  if (interp_over_budget(I))
    return eval_error(I, e, "this session's limit of %llu steps is reached",
                      (unsigned long long)I->limits.max_steps);
  Value vals[FFI_MAX_PARAMS];
  int w[FFI_MAX_PARAMS], n = 0, err = 0;
  size_t rows = 1;
  for (; n < args->n && !err; n++) {
    const Arg *a = &args->v[n];
    if (a->name) {
      err = eval_error_at(I, a->name_pos, (uint32_t)strlen(a->name),
                          "C functions take positional arguments only");
      break;
    }
    if ((err = eval_expr(I, a->value, V_NIL, &vals[n])))
      break;
    err = arg_shape(I, a->value, F, n, vals[n], &w[n], &rows);
  }
  if (!err)
    err = call_values(I, e, F, vals, w, rows, out);
  for (int i = 0; i < n; i++)
    val_drop(&I->rt, vals[i]);
  return err;
}

/* ------------------------------------------------------------ as objects */

static const char *want_name(VKind want)
{
  return want == V_EXPERT ? "an expert" : want == V_TARGET ? "a target" : "a router";
}

int ffi_object(Interp *I, const Expr *at, Value fv, VKind want, Value *out)
{
  Foreign *F = as_func(fv)->ext;
  Rt *rt = &I->rt;
  *out = val_nil();
  if (F->nparams != 1 || F->p[0].kind == FK_NUM) {
    eval_error(I, at, "%s cannot be %s: it must take one vector", F->what, want_name(want));
    diag_hint(&I->diags, "declare it as extern fn %s(x: vec) or extern fn %s(X: block)",
              F->name, F->name);
    return 1;
  }
  if (want != V_ROUTER && F->ret != FK_NUM)
    return eval_error(I, at, "%s cannot be %s: it returns a vector, not one number per sample",
                      F->what, want_name(want));
  if (want == V_ROUTER && F->ret == FK_NUM)
    return eval_error(I, at, "%s cannot be a router: it returns a number, not a vector of "
                      "logits", F->what);
  if (want == V_ROUTER && !F->ret_dim && !F->p[0].dim) {
    eval_error(I, at, "the number of logits of %s is not known", F->what);
    diag_hint(&I->diags, "declare it: -> vec[K], or fix the input size: (x: vec[d])");
    return 1;
  }
  RtStatus st = ffi_new_object(rt, F, want, out);
  if (st) {
    eval_error(I, at, "%s", st == RT_ENOMEM && !rt->msg[0] ? "out of memory" : rt->msg);
    rt_clear(rt);
    return 1;
  }
  return 0;
}

RtStatus ffi_new_object(Rt *rt, Foreign *F, VKind want, Value *out)
{
  BlockFn *f = NULL;
  RtStatus st = object_fn(rt, F, &f);
  void *obj = NULL;
  if (!st && want == V_EXPERT)
    st = expert_fn(rt, f, (Expert **)&obj);
  else if (!st && want == V_TARGET)
    st = target_fn(rt, f, 0, (Target **)&obj);
  else if (!st)
    st = router_fn(rt, f, (Router **)&obj);
  if (f)
    blockfn_unref(rt, f);
  if (!st)
    *out = val_obj(want, obj);
  return st;
}

/* A list with every extern item made an expert (a new list). */
static int coerce_list(Interp *I, const Expr *at, Value *v)
{
  const VList *l = as_list(*v);
  int any = 0;
  for (size_t k = 0; k < l->n; k++)
    any |= ffi_is_foreign(l->v[k]);
  if (!any)
    return 0;
  Value nl = val_list(&I->rt, l->n);
  if (nl.kind == V_NIL)
    return eval_error(I, at, "out of memory");
  int err = 0;
  for (size_t k = 0; k < l->n; k++)
    if (err || !ffi_is_foreign(l->v[k]))
      as_list(nl)->v[k] = val_copy(l->v[k]);
    else
      err = ffi_object(I, at, l->v[k], V_EXPERT, &as_list(nl)->v[k]);
  val_drop(&I->rt, err ? nl : *v);
  if (!err)
    *v = nl;
  return err;
}

int ffi_coerce(Interp *I, const Expr *at, unsigned kinds, int is_experts, Value *v)
{
  if (v->kind == V_LIST && is_experts)
    return coerce_list(I, at, v);
  if (!ffi_is_foreign(*v))
    return 0;
  VKind want = kinds & KS(V_EXPERT) ? V_EXPERT
               : kinds & KS(V_TARGET) ? V_TARGET
               : kinds & KS(V_ROUTER) ? V_ROUTER : V_NIL;
  if (want == V_NIL)
    return 0;
  Value o;
  if (ffi_object(I, at, *v, want, &o))
    return 1;
  val_drop(&I->rt, *v);
  *v = o;
  return 0;
}
