/*
 * eval.c — the tree-walking evaluator for top-level expressions (eval.h).
 */
#include "eval.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "../runtime/law.h"
#include "../runtime/model.h"
#include "../runtime/result.h"
#include "builtins.h"
#include "fields.h"
#include "foreign.h"

#define MAX_CALL_DEPTH 200

int eval_error_at(Interp *I, Pos pos, uint32_t span, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  diag_verror(&I->diags, pos, span, fmt, ap);
  va_end(ap);
  return 1;
}

int eval_error(Interp *I, const Expr *e, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  diag_verror(&I->diags, e->pos, e->len, fmt, ap);
  va_end(ap);
  return 1;
}

static int oom(Interp *I, const Expr *e) { return eval_error(I, e, "out of memory"); }

int eval_number(Interp *I, const Expr *e, double *x)
{
  Value v;
  if (eval_expr(I, e, V_NUM, &v))
    return 1;
  if (v.kind != V_NUM) {
    eval_error(I, e, "expected a number here, not %s", kind_article(v.kind));
    val_drop(&I->rt, v);
    return 1;
  }
  *x = v.u.num;
  return 0;
}

const double *val_numbers(Interp *I, Value v, size_t *n, double **tmp)
{
  *tmp = NULL;
  switch (v.kind) {
  case V_NUM:
    *tmp = rt_alloc(&I->rt, sizeof **tmp);
    if (!*tmp)
      return NULL;
    **tmp = v.u.num;
    *n = 1;
    return *tmp;
  case V_VEC: *n = as_vec(v)->n; return as_vec(v)->v;
  case V_SCHED: *n = ((Schedule *)v.u.p)->n; return ((Schedule *)v.u.p)->tau;
  case V_LIST: {
    VList *l = as_list(v);
    for (size_t i = 0; i < l->n; i++)
      if (l->v[i].kind != V_NUM)
        return NULL;
    *tmp = rt_array(&I->rt, l->n ? l->n : 1, sizeof **tmp);
    if (!*tmp)
      return NULL;
    for (size_t i = 0; i < l->n; i++)
      (*tmp)[i] = l->v[i].u.num;
    *n = l->n;
    return *tmp;
  }
  default: return NULL;
  }
}

/* ------------------------------------------------------------------ lists */

/* [a, b, ...]: numbers make a vector, equal-length vectors a matrix, and
 * anything else (laws, experts, ...) a list. */
static int make_matrix(Interp *I, const Expr *e, Value *items, size_t n, Value *out)
{
  size_t cols = as_vec(items[0])->n;
  for (size_t i = 1; i < n; i++)
    if (as_vec(items[i])->n != cols)
      return eval_error(I, e->u.list.v[i],
                        "the rows of a matrix must have the same length: row 0 has %zu "
                        "entries, row %zu has %zu", cols, i, as_vec(items[i])->n);
  Value m = val_mat(&I->rt, n, cols);
  if (m.kind == V_NIL)
    return oom(I, e);
  for (size_t i = 0; i < n; i++)
    memcpy(as_mat(m)->v + i * cols, as_vec(items[i])->v, cols * sizeof(double));
  *out = m;
  return 0;
}

int eval_build_list(Interp *I, const Expr *e, Value *items, size_t n, Value *out)
{
  int nums = 1, vecs = 1;
  for (size_t i = 0; i < n; i++) {
    nums &= items[i].kind == V_NUM;
    vecs &= items[i].kind == V_VEC;
  }
  if (nums) {
    Value v = val_vec(&I->rt, n);
    if (v.kind == V_NIL)
      return oom(I, e);
    for (size_t i = 0; i < n; i++)
      as_vec(v)->v[i] = items[i].u.num;
    *out = v;
    return 0;
  }
  if (vecs)
    return make_matrix(I, e, items, n, out);
  for (size_t i = 0; i < n; i++)
    if (items[i].kind == V_NUM || items[i].kind == V_VEC || items[i].kind == V_MAT)
      return eval_error(I, e->u.list.v[i],
                        "a list mixes %s with other kinds of values", kind_article(items[i].kind));
  Value l = val_list(&I->rt, n);
  if (l.kind == V_NIL)
    return oom(I, e);
  for (size_t i = 0; i < n; i++)
    as_list(l)->v[i] = val_copy(items[i]);
  *out = l;
  return 0;
}

static int eval_list(Interp *I, const Expr *e, VKind expect, Value *out)
{
  size_t n = (size_t)e->u.list.n;
  Value *items = rt_calloc(&I->rt, n ? n : 1, sizeof *items);
  if (!items)
    return oom(I, e);
  int err = 0;
  size_t got = 0;
  /* Items of a list in an object context (experts = [f, g]) are objects. */
  VKind item_expect = expect == V_LIST ? V_NIL : expect == V_MAT ? V_VEC : V_NIL;
  for (; got < n && !err; got++)
    err = eval_expr(I, e->u.list.v[got], item_expect, &items[got]);
  if (err)
    got--;
  if (!err)
    err = eval_build_list(I, e, items, n, out);
  for (size_t i = 0; i < got; i++)
    val_drop(&I->rt, items[i]);
  rt_free(&I->rt, items);
  return err;
}

/* ------------------------------------------------------------------ index */

static int check_index(Interp *I, const Expr *e, double x, size_t len, const char *what,
                       size_t *out)
{
  if (x != floor(x))
    return eval_error(I, e, "an index must be a whole number, not %g", x);
  if (len == 0)
    return eval_error(I, e, "index %g into an empty %s (it has no elements)", x,
                      strncmp(what, "a ", 2) == 0 ? what + 2 : what);
  if (x < 0 || x >= (double)len)
    return eval_error(I, e, "index %g is out of bounds for %s of length %zu (indices are 0 to %zu)",
                      x, what, len, len - 1);
  *out = (size_t)x;
  return 0;
}

static int index_number(Interp *I, const Expr *e, size_t len, const char *what, size_t *out)
{
  double x;
  return eval_number(I, e, &x) || check_index(I, e, x, len, what, out);
}

int eval_index_value(Interp *I, const Expr *ie, Value obj, double x, Value *out)
{
  size_t i = 0;
  switch (obj.kind) {
  case V_VEC:
    if (check_index(I, ie, x, as_vec(obj)->n, "a vector", &i))
      return 1;
    *out = val_num(as_vec(obj)->v[i]);
    return 0;
  case V_MAT: {
    const VMat *m = as_mat(obj);
    if (check_index(I, ie, x, m->rows, "a matrix (rows)", &i))
      return 1;
    Value r = val_vec(&I->rt, m->cols);
    if (r.kind == V_NIL)
      return oom(I, ie);
    memcpy(as_vec(r)->v, m->v + i * m->cols, m->cols * sizeof(double));
    *out = r;
    return 0;
  }
  case V_LIST:
    if (check_index(I, ie, x, as_list(obj)->n, "a list", &i))
      return 1;
    *out = val_copy(as_list(obj)->v[i]);
    return 0;
  case V_SCHED: {
    const Schedule *s = obj.u.p;
    if (check_index(I, ie, x, s->n, "a schedule", &i))
      return 1;
    *out = val_num(s->tau[i]);
    return 0;
  }
  default:
    return eval_error(I, ie, "cannot index %s", kind_article(obj.kind));
  }
}

static int index_once(Interp *I, const Expr *ie, Value obj, Value *out)
{
  size_t i;
  switch (obj.kind) {
  case V_VEC:
    if (index_number(I, ie, as_vec(obj)->n, "a vector", &i))
      return 1;
    *out = val_num(as_vec(obj)->v[i]);
    return 0;
  case V_MAT: {
    const VMat *m = as_mat(obj);
    if (index_number(I, ie, m->rows, "a matrix (rows)", &i))
      return 1;
    Value r = val_vec(&I->rt, m->cols);
    if (r.kind == V_NIL)
      return oom(I, ie);
    memcpy(as_vec(r)->v, m->v + i * m->cols, m->cols * sizeof(double));
    *out = r;
    return 0;
  }
  case V_LIST:
    if (index_number(I, ie, as_list(obj)->n, "a list", &i))
      return 1;
    *out = val_copy(as_list(obj)->v[i]);
    return 0;
  case V_SCHED: {
    const Schedule *s = obj.u.p;
    if (index_number(I, ie, s->n, "a schedule", &i))
      return 1;
    *out = val_num(s->tau[i]);
    return 0;
  }
  default:
    return eval_error(I, ie, "cannot index %s", kind_article(obj.kind));
  }
}

/* x[i], m[i][j] and m[i, j] (each index applied in turn). */
static int eval_index(Interp *I, const Expr *e, Value *out)
{
  Value cur;
  if (eval_expr(I, e->u.index.obj, V_NIL, &cur))
    return 1;
  for (int k = 0; k < e->u.index.idx.n; k++) {
    Value next;
    int err = index_once(I, e->u.index.idx.v[k], cur, &next);
    val_drop(&I->rt, cur);
    if (err)
      return 1;
    cur = next;
  }
  *out = cur;
  return 0;
}

/* ------------------------------------------------------------------ calls */

/* Binds call arguments to the builtin's parameters: positional ones in
 * order, named ones by name. */
static int bind_args(Interp *I, Call *c, const ArgList *args)
{
  const Builtin *b = c->b;
  int pos = 0;
  for (int k = 0; k < args->n; k++) {
    const Arg *a = &args->v[k];
    int slot;
    if (a->name) {
      slot = builtin_param(b, a->name);
      if (slot < 0) {
        StrBuf sb;
        sb_init(&sb, &I->rt);
        builtin_params_text(&sb, b);
        eval_error_at(I, a->name_pos, (uint32_t)strlen(a->name), "%s() has no parameter '%s'",
                      b->name, a->name);
        diag_hint(&I->diags, "its parameters are %s", sb_str(&sb));
        sb_free(&sb);
        return 1;
      }
    } else {
      while (pos < b->nparams && (b->params[pos].flags & P_NAMED))
        pos++;
      if (pos >= b->nparams)
        return eval_error(I, a->value, "too many arguments to %s()", b->name);
      slot = pos++;
    }
    if (c->arg_expr[slot])
      return eval_error(I, a->value, "%s() got parameter '%s' twice", b->name,
                        b->params[slot].name);
    c->arg_expr[slot] = a->value;
  }
  return 0;
}

/* The object kind a parameter wants, to pick between same-named
 * constructors in its argument (`router = linear(...)`). */
static VKind wanted_kind(unsigned kinds)
{
  for (int k = V_LAW; k < V_NKINDS; k++)
    if (kinds == KS(k))
      return (VKind)k;
  if (kinds == (KS(V_LIST)))
    return V_LIST;
  return V_NIL;
}

static int kinds_text(StrBuf *sb, unsigned kinds)
{
  int n = 0;
  for (int k = 1; k < V_NKINDS; k++)
    if (kinds & KS(k))
      sb_printf(sb, "%s%s", n++ ? " or " : "", kind_article((VKind)k));
  return n;
}

static int eval_args(Interp *I, Call *c)
{
  const Builtin *b = c->b;
  for (int i = 0; i < b->nparams; i++) {
    const BParam *p = &b->params[i];
    if (!c->arg_expr[i]) {
      if (p->flags & P_REQ)
        return eval_error(I, c->expr, "%s() needs its parameter '%s'", b->name, p->name);
      continue;
    }
    if (eval_expr(I, c->arg_expr[i], wanted_kind(p->kinds), &c->arg[i]))
      return 1;
    if (ffi_coerce(I, c->arg_expr[i], p->kinds, strcmp(p->name, "experts") == 0, &c->arg[i]))
      return 1;
    if (!(p->kinds & KS(c->arg[i].kind))) {
      StrBuf sb;
      sb_init(&sb, &I->rt);
      kinds_text(&sb, p->kinds);
      eval_error(I, c->arg_expr[i], "parameter '%s' of %s() must be %s, not %s", p->name,
                 b->name, sb_str(&sb), kind_article(c->arg[i].kind));
      sb_free(&sb);
      return 1;
    }
  }
  return 0;
}

static int call_builtin(Interp *I, const Builtin *b, const Expr *e, const ArgList *args,
                        VKind expect, Value *out)
{
  Call c;
  memset(&c, 0, sizeof c);
  c.I = I;
  c.b = b;
  c.expr = e;
  c.expect = expect;
  int err = bind_args(I, &c, args) || eval_args(I, &c);
  if (!err)
    err = b->impl(&c, out);
  for (int i = 0; i < b->nparams; i++)
    val_drop(&I->rt, c.arg[i]);
  return err;
}

int eval_builtin_values(Interp *I, const Builtin *b, const Expr *e, const Value *slots,
                        const Expr *const *slot_exprs, Value *out)
{
  Call c;
  memset(&c, 0, sizeof c);
  c.I = I;
  c.b = b;
  c.expr = e;
  int err = 0;
  for (int i = 0; i < b->nparams && !err; i++) {
    if (slots[i].kind == V_NIL) {
      if (b->params[i].flags & P_REQ)
        err = eval_error(I, e, "%s() needs its parameter '%s'", b->name, b->params[i].name);
      continue;
    }
    c.arg[i] = val_copy(slots[i]);
    c.arg_expr[i] = slot_exprs[i] ? slot_exprs[i] : e;
    if (!(b->params[i].kinds & KS(c.arg[i].kind)))
      err = eval_error(I, c.arg_expr[i], "parameter '%s' of %s() must not be %s",
                       b->params[i].name, b->name, kind_article(c.arg[i].kind));
  }
  if (!err)
    err = b->impl(&c, out);
  for (int i = 0; i < b->nparams; i++)
    val_drop(&I->rt, c.arg[i]);
  return err;
}

/* A user function: parameters bound in a fresh scope whose parent is the
 * globals (functions see their arguments and the global names). */
static int call_user(Interp *I, const Expr *e, Value fv, const ArgList *args, Value *out)
{
  const Stmt *def = as_func(fv)->def;
  if (args->n != def->params.n)
    return eval_error(I, e, "%s() takes %d argument%s but %d %s given", def->name,
                      def->params.n, def->params.n == 1 ? "" : "s", args->n,
                      args->n == 1 ? "was" : "were");
  if (interp_over_budget(I))
    return eval_error(I, e, "this session's limit of %llu steps is reached",
                      (unsigned long long)I->limits.max_steps);
  if (I->depth >= MAX_CALL_DEPTH)
    return eval_error(I, e, "function calls nested deeper than %d (is %s() recursive "
                      "without an end?)", MAX_CALL_DEPTH, def->name);
  Scope frame;
  memset(&frame, 0, sizeof frame);
  int err = 0;
  for (int i = 0; i < args->n && !err; i++) {
    const Arg *a = &args->v[i];
    if (a->name)
      err = eval_error_at(I, a->name_pos, (uint32_t)strlen(a->name),
                          "user functions take positional arguments only");
    Value v;
    if (!err && !(err = eval_expr(I, a->value, V_NIL, &v)) &&
        scope_bind(I, &frame, def->params.v[i].name, v, def->params.v[i].pos))
      err = eval_error(I, a->value, "out of memory");
  }
  if (!err) {
    Scope *saved = I->locals;
    I->locals = &frame;
    I->depth++;
    err = eval_expr(I, def->value, V_NIL, out);
    I->depth--;
    I->locals = saved;
  }
  scope_free(I, &frame);
  return err;
}

static int unknown_name(Interp *I, const Expr *e, const char *name);

static int eval_call(Interp *I, const Expr *e, VKind expect, Value *out)
{
  const Expr *fn = e->u.call.fn;
  if (fn->kind != E_NAME)
    return eval_error(I, fn, "only named functions can be called");
  Binding *bd = interp_lookup(I, fn->u.name);
  if (bd) {
    if (bd->v.kind != V_FUNC)
      return eval_error(I, fn, "'%s' is %s, not a function", fn->u.name,
                        kind_article(bd->v.kind));
    Value fv = val_copy(bd->v);
    int err = ffi_is_foreign(fv) ? ffi_apply(I, e, as_func(fv)->ext, &e->u.call.args, out)
                                 : call_user(I, e, fv, &e->u.call.args, out);
    val_drop(&I->rt, fv);
    return err;
  }
  const Builtin *b = builtin_choose(fn->u.name, expect, &e->u.call.args);
  if (!b)
    return unknown_name(I, fn, fn->u.name);
  return call_builtin(I, b, e, &e->u.call.args, expect, out);
}

/* ------------------------------------------------------------------ names */

static int unknown_name(Interp *I, const Expr *e, const char *name)
{
  eval_error(I, e, "unknown name '%s'", name);
  const char *const *bn = builtin_names();
  int n = 0;
  while (bn[n])
    n++;
  const char *best = diag_suggest(name, bn, n);
  if (best)
    diag_hint(&I->diags, "did you mean '%s'?", best);
  return 1;
}

static int eval_name(Interp *I, const Expr *e, VKind expect, Value *out)
{
  Binding *bd = interp_lookup(I, e->u.name);
  if (bd) {
    *out = val_copy(bd->v);
    return 0;
  }
  int n;
  const Builtin *b = builtin_lookup(e->u.name, &n);
  if (b && b->bare) {
    ArgList none = {0, 0, NULL};
    return call_builtin(I, b, e, &none, expect, out);
  }
  if (b)
    return eval_error(I, e, "'%s' is a builtin function; call it, as in %s(...)", e->u.name,
                      e->u.name);
  return unknown_name(I, e, e->u.name);
}

/* ------------------------------------------------------------------ operators */

static int eval_logic(Interp *I, const Expr *e, Value *out)
{
  Value a;
  if (eval_expr(I, e->u.bin.a, V_BOOL, &a))
    return 1;
  if (a.kind != V_BOOL) {
    val_drop(&I->rt, a);
    return eval_error(I, e->u.bin.a, "'%s' needs bools, not %s", ast_op_name(e->u.bin.op),
                      kind_article(a.kind));
  }
  int op_or = e->u.bin.op == OP_OR;
  if (a.u.b == op_or) {          /* short circuit */
    *out = a;
    return 0;
  }
  Value b;
  if (eval_expr(I, e->u.bin.b, V_BOOL, &b))
    return 1;
  if (b.kind != V_BOOL) {
    val_drop(&I->rt, b);
    return eval_error(I, e->u.bin.b, "'%s' needs bools, not %s", ast_op_name(e->u.bin.op),
                      kind_article(b.kind));
  }
  *out = b;
  return 0;
}

static int eval_binary(Interp *I, const Expr *e, Value *out)
{
  if (e->u.bin.op == OP_AND || e->u.bin.op == OP_OR)
    return eval_logic(I, e, out);
  Value a, b;
  if (eval_expr(I, e->u.bin.a, V_NIL, &a))
    return 1;
  if (eval_expr(I, e->u.bin.b, V_NIL, &b)) {
    val_drop(&I->rt, a);
    return 1;
  }
  int err = arith_binary(I, e, e->u.bin.op, a, b, out);
  val_drop(&I->rt, a);
  val_drop(&I->rt, b);
  return err;
}

static int eval_if(Interp *I, const Expr *e, VKind expect, Value *out)
{
  Value c;
  if (eval_expr(I, e->u.cond.c, V_BOOL, &c))
    return 1;
  if (c.kind != V_BOOL) {
    val_drop(&I->rt, c);
    return eval_error(I, e->u.cond.c, "the condition of 'if' must be a bool, not %s",
                      kind_article(c.kind));
  }
  return eval_expr(I, c.u.b ? e->u.cond.a : e->u.cond.b, expect, out);
}

int eval_expr(Interp *I, const Expr *e, VKind expect, Value *out)
{
  *out = val_nil();
  if (!e)
    return 1;
  if (I->interrupt)
    return eval_error(I, e, "interrupted");
  switch (e->kind) {
  case E_NUM:
    *out = val_num(e->u.num);
    if (!isfinite(e->u.num))
      return eval_error(I, e, "the number is too large to represent");
    return 0;
  case E_BOOL: *out = val_bool(e->u.boolean); return 0;
  case E_STR:
    *out = val_str(&I->rt, e->u.str.s, e->u.str.len);
    return out->kind == V_NIL ? oom(I, e) : 0;
  case E_NAME: return eval_name(I, e, expect, out);
  case E_LIST: return eval_list(I, e, expect, out);
  case E_CALL: return eval_call(I, e, expect, out);
  case E_INDEX: return eval_index(I, e, out);
  case E_FIELD: return eval_field(I, e, out);
  case E_IF: return eval_if(I, e, expect, out);
  case E_BINARY: return eval_binary(I, e, out);
  case E_UNARY: {
    Value a;
    if (eval_expr(I, e->u.un.a, V_NIL, &a))
      return 1;
    int err = arith_unary(I, e, e->u.un.op, a, out);
    val_drop(&I->rt, a);
    return err;
  }
  }
  return eval_error(I, e, "cannot evaluate this expression");
}
