/*
 * check.c — static checking of names and kinds (see check.h).
 *
 * The static kind of an expression is a VKind, or V_NIL when it cannot be
 * known without running (a user function's result, a field of a result).
 * Unknown kinds are accepted everywhere; known wrong kinds are errors with
 * the same words the evaluator would use.
 */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "builtins.h"
#include "exec.h"
#include "fields.h"
#include "foreign.h"
#include "import.h"

typedef struct Sym {
  const char *name;
  VKind kind;
  int nparams;           /* functions: their arity; -1 otherwise */
  Pos pos;
  int is_ext;            /* an extern: usable as an expert, target or router */
} Sym;

typedef struct Checker {
  Interp *I;
  Sym *syms;
  int n, cap;
  int per_sample;        /* inside an expert/router/target/schedule body */
  const char *body_of;   /* "expert f", for messages */
  int in_fn;             /* inside a fn body: later top-level names are visible */
  const Program *prog;
  int errors;
  int oom;               /* a symbol could not be recorded: later errors are unreliable */
} Checker;

static VKind check_expr(Checker *c, const Expr *e, VKind expect);

static const VKind decl_kinds[] = {V_LAW, V_ROUTER, V_EXPERT, V_TARGET, V_MODEL, V_SCHED};

const char *const *check_keywords(void)
{
  static const char *const kw[] = {
      "let", "fn", "law", "router", "expert", "target", "model", "schedule", "set",
      "report", "print", "train", "on", "under", "with", "for", "in", "if", "then", "else",
      "and", "or", "not", "import", "extern", "from", "noise", "true", "false", NULL};
  return kw;
}

const char *const *check_settings(void)
{
  static const char *const s[] = {"seed", "samples", "threads", "confidence", "method", NULL};
  return s;
}

static int err(Checker *c, Pos pos, uint32_t span, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int err(Checker *c, Pos pos, uint32_t span, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  diag_verror(&c->I->diags, pos, span, fmt, ap);
  va_end(ap);
  c->errors++;
  return 1;
}

#define ERR(c, e, ...) err((c), (e)->pos, (e)->len, __VA_ARGS__)

/* ------------------------------------------------------------ symbols */

static void push(Checker *c, const char *name, VKind kind, int nparams, Pos pos)
{
  if (c->n == c->cap) {
    int cap = c->cap ? c->cap * 2 : 32;
    Sym *v = rt_realloc(&c->I->rt, c->syms, (size_t)cap * sizeof *v);
    if (!v) {
      c->oom = 1;
      return;
    }
    c->syms = v;
    c->cap = cap;
  }
  c->syms[c->n++] = (Sym){name, kind, nparams, pos, 0};
}

static const Sym *find(Checker *c, const char *name)
{
  for (int i = c->n - 1; i >= 0; i--)
    if (strcmp(c->syms[i].name, name) == 0)
      return &c->syms[i];
  return NULL;
}

/* A name bound in the state before this program (REPL, imports). */
static int state_kind(Checker *c, const char *name, VKind *kind, int *nparams)
{
  Binding *b = interp_lookup(c->I, name);
  if (!b)
    return 0;
  *kind = b->v.kind;
  *nparams = b->v.kind == V_FUNC && as_func(b->v)->def ? as_func(b->v)->def->params.n : -1;
  return 1;
}

/* A name for a C function (an extern, or a host function of the state):
 * these may stand where an expert, target or router is wanted. */
static int is_extern(Checker *c, const Expr *e)
{
  if (!e || e->kind != E_NAME)
    return 0;
  const Sym *s = find(c, e->u.name);
  if (s)
    return s->is_ext;
  Binding *b = interp_lookup(c->I, e->u.name);
  return b && ffi_is_foreign(b->v);
}

static int object_kind(VKind k)
{
  return k == V_EXPERT || k == V_TARGET || k == V_ROUTER;
}

/* In a fn body, top-level names defined anywhere in the program count
 * (functions run when called, by which time later names may exist). */
static const Stmt *later_top_level(Checker *c, const char *name)
{
  if (!c->in_fn)
    return NULL;
  for (int i = 0; i < c->prog->stmts.n; i++) {
    const Stmt *s = c->prog->stmts.v[i];
    if (s->name && (s->kind == S_LET || s->kind == S_FN || s->kind == S_DECL ||
                    s->kind == S_EXTERN) && strcmp(s->name, name) == 0)
      return s;
  }
  return NULL;
}

/* Suggestion pool: names in scope, builtins and keywords. */
static const char *suggest(Checker *c, const char *name)
{
  const char *const *bn = builtin_names();
  int nb = 0;
  while (bn[nb])
    nb++;
  int total = c->n + nb + c->I->globals.n;
  const char **pool = rt_calloc(&c->I->rt, (size_t)total + 1, sizeof *pool);
  if (!pool)
    return NULL;
  int k = 0;
  for (int i = 0; i < c->n; i++)
    pool[k++] = c->syms[i].name;
  for (int i = 0; i < c->I->globals.n; i++)
    pool[k++] = c->I->globals.v[i].name;
  for (int i = 0; i < nb; i++)
    pool[k++] = bn[i];
  const char *best = diag_suggest(name, pool, k);
  rt_free(&c->I->rt, pool);
  return best;
}

static int unknown(Checker *c, const Expr *e, const char *name)
{
  ERR(c, e, "unknown name '%s'", name);
  const char *best = suggest(c, name);
  if (best)
    diag_hint(&c->I->diags, "did you mean '%s'?", best);
  return 1;
}

static VKind name_kind(Checker *c, const Expr *e, int *nparams)
{
  const char *name = e->u.name;
  const Sym *s = find(c, name);
  VKind k;
  *nparams = -1;
  if (s) {
    *nparams = s->nparams;
    return s->kind;
  }
  if (state_kind(c, name, &k, nparams))
    return k;
  const Stmt *later = later_top_level(c, name);
  if (later) {
    *nparams = later->kind == S_FN || later->kind == S_EXTERN ? later->params.n : -1;
    return later->kind == S_FN || later->kind == S_EXTERN ? V_FUNC : V_NIL;
  }
  return V_NKINDS;     /* not found */
}

/* ------------------------------------------------------------ calls */

static int kinds_text(StrBuf *sb, unsigned kinds)
{
  int n = 0;
  for (int k = 1; k < V_NKINDS; k++)
    if (kinds & KS(k))
      sb_printf(sb, "%s%s", n++ ? " or " : "", kind_article((VKind)k));
  return n;
}

static VKind wanted(unsigned kinds)
{
  for (int k = V_LAW; k < V_NKINDS; k++)
    if (kinds == KS(k))
      return (VKind)k;
  return kinds == KS(V_LIST) ? V_LIST : V_NIL;
}

static void check_arg_kind(Checker *c, const Builtin *b, int slot, const Expr *arg)
{
  const BParam *p = &b->params[slot];
  VKind k = check_expr(c, arg, wanted(p->kinds));
  /* An expression expert/target/router is still declared by its keyword,
   * so a function-valued name is fine where an object is wanted. */
  if (k == V_NIL || k == V_NKINDS || (p->kinds & KS(k)))
    return;
  if (k == V_FUNC && is_extern(c, arg) &&
      (p->kinds & (KS(V_EXPERT) | KS(V_TARGET) | KS(V_ROUTER))))
    return;
  StrBuf sb;
  sb_init(&sb, &c->I->rt);
  kinds_text(&sb, p->kinds);
  ERR(c, arg, "parameter '%s' of %s() must be %s, not %s", p->name, b->name, sb_str(&sb),
      kind_article(k));
  sb_free(&sb);
}

static int bind_slot(Checker *c, const Builtin *b, const Arg *a, int *pos, const Expr **slots)
{
  int slot;
  if (a->name) {
    slot = builtin_param(b, a->name);
    if (slot < 0) {
      StrBuf sb;
      sb_init(&sb, &c->I->rt);
      builtin_params_text(&sb, b);
      err(c, a->name_pos, (uint32_t)strlen(a->name), "%s() has no parameter '%s'", b->name,
          a->name);
      diag_hint(&c->I->diags, "its parameters are %s", sb_str(&sb));
      sb_free(&sb);
      return -1;
    }
  } else {
    while (*pos < b->nparams && (b->params[*pos].flags & P_NAMED))
      (*pos)++;
    if (*pos >= b->nparams) {
      ERR(c, a->value, "too many arguments to %s()", b->name);
      return -1;
    }
    slot = (*pos)++;
  }
  if (slots[slot]) {
    ERR(c, a->value, "%s() got parameter '%s' twice", b->name, b->params[slot].name);
    return -1;
  }
  slots[slot] = a->value;
  return slot;
}

/* What runs per sample: math only.  Constructors, queries and load() build
 * objects or read files once, so they belong outside the body. */
static int per_sample_ok(const Builtin *b)
{
  return b->result == V_NIL || b->result == V_NUM || b->result == V_VEC || b->result == V_MAT;
}

static VKind math_result(Checker *c, const Builtin *b, const Expr *const *slots)
{
  if (strcmp(b->name, "load") == 0 || strcmp(b->name, "zeros") == 0 ||
      strcmp(b->name, "ones") == 0)
    return V_NIL;
  VKind k = slots[0] ? check_expr(c, slots[0], V_NIL) : V_NUM;
  if ((strcmp(b->name, "min") == 0 || strcmp(b->name, "max") == 0) && !slots[1])
    return V_NUM;
  return k == V_NKINDS ? V_NIL : k;
}

static VKind check_builtin(Checker *c, const Expr *e, const Builtin *b)
{
  const Expr *slots[MAX_PARAMS] = {0};
  const ArgList *args = &e->u.call.args;
  int pos = 0, bad = 0;
  if (c->per_sample && !per_sample_ok(b)) {
    ERR(c, e, "%s() cannot be used inside %s: it runs once, not per sample", b->name,
        c->body_of);
    diag_hint(&c->I->diags, "build it outside with 'let' and use the name inside");
    return b->result;
  }
  for (int k = 0; k < args->n; k++)
    bad |= bind_slot(c, b, &args->v[k], &pos, slots) < 0;
  for (int i = 0; !bad && i < b->nparams; i++)
    if (!slots[i] && (b->params[i].flags & P_REQ))
      bad = ERR(c, e, "%s() needs its parameter '%s'", b->name, b->params[i].name);
  for (int i = 0; i < b->nparams; i++)
    if (slots[i])
      check_arg_kind(c, b, i, slots[i]);
  if (b->result != V_NIL)
    return b->result;
  return math_result(c, b, slots);
}

static VKind check_call(Checker *c, const Expr *e, VKind expect)
{
  const Expr *fn = e->u.call.fn;
  if (fn->kind != E_NAME) {
    ERR(c, fn, "only named functions can be called");
    return V_NIL;
  }
  int np;
  VKind k = name_kind(c, fn, &np);
  if (k != V_NKINDS) {
    if (k != V_FUNC && k != V_NIL) {
      ERR(c, fn, "'%s' is %s, not a function", fn->u.name, kind_article(k));
      if (k == V_EXPERT || k == V_ROUTER || k == V_TARGET)
        diag_hint(&c->I->diags, "%ss are not called inside other bodies; put the shared "
                  "formula in a function (fn g(x) = ...) and call it from both",
                  k == V_EXPERT ? "expert" : k == V_ROUTER ? "router" : "target");
    }
    else if (np >= 0 && np != e->u.call.args.n)
      ERR(c, e, "%s() takes %d argument%s but %d %s given", fn->u.name, np,
          np == 1 ? "" : "s", e->u.call.args.n, e->u.call.args.n == 1 ? "was" : "were");
    for (int i = 0; i < e->u.call.args.n; i++)
      check_expr(c, e->u.call.args.v[i].value, V_NIL);
    return V_NIL;
  }
  const Builtin *b = builtin_choose(fn->u.name, expect, &e->u.call.args);
  if (!b) {
    unknown(c, fn, fn->u.name);
    for (int i = 0; i < e->u.call.args.n; i++)
      check_expr(c, e->u.call.args.v[i].value, V_NIL);
    return V_NIL;
  }
  return check_builtin(c, e, b);
}

/* ------------------------------------------------------------ operators */

static int numeric(VKind k) { return k == V_NUM || k == V_VEC || k == V_MAT; }
static int known(VKind k) { return k != V_NIL && k != V_NKINDS; }

static VKind arith_kind(Checker *c, const Expr *e, Op op, VKind a, VKind b)
{
  if (op >= OP_EQ && op <= OP_GE)
    return V_BOOL;
  if (op == OP_ADD && a == V_STR && b == V_STR)
    return V_STR;
  if ((known(a) && !numeric(a)) || (known(b) && !numeric(b))) {
    ERR(c, e, "cannot apply '%s' to %s and %s", ast_op_name(op),
        known(a) ? kind_article(a) : "a value", known(b) ? kind_article(b) : "a value");
    return V_NIL;
  }
  if (!known(a) || !known(b))
    return V_NIL;
  if (op == OP_MATMUL) {
    if (a == V_NUM || b == V_NUM) {
      ERR(c, e, "'@' multiplies matrices and vectors, not numbers (use '*')");
      return V_NIL;
    }
    if (a == V_VEC && b == V_VEC)
      return V_NUM;
    return a == V_MAT && b == V_MAT ? V_MAT : V_VEC;
  }
  return a == V_MAT || b == V_MAT ? V_MAT : a == V_VEC || b == V_VEC ? V_VEC : V_NUM;
}

static VKind check_binary(Checker *c, const Expr *e)
{
  VKind a = check_expr(c, e->u.bin.a, V_NIL), b = check_expr(c, e->u.bin.b, V_NIL);
  Op op = e->u.bin.op;
  if (op == OP_AND || op == OP_OR) {
    if (known(a) && a != V_BOOL)
      ERR(c, e->u.bin.a, "'%s' needs bools, not %s", ast_op_name(op), kind_article(a));
    if (known(b) && b != V_BOOL)
      ERR(c, e->u.bin.b, "'%s' needs bools, not %s", ast_op_name(op), kind_article(b));
    return V_BOOL;
  }
  return arith_kind(c, e, op, a, b);
}

static VKind check_unary(Checker *c, const Expr *e)
{
  VKind a = check_expr(c, e->u.un.a, V_NIL);
  if (e->u.un.op == OP_NOT) {
    if (known(a) && a != V_BOOL)
      ERR(c, e, "'not' needs a bool, not %s", kind_article(a));
    return V_BOOL;
  }
  if (known(a) && !numeric(a)) {
    ERR(c, e, "cannot negate %s", kind_article(a));
    return V_NIL;
  }
  return a == V_NKINDS ? V_NIL : a;
}

/* ------------------------------------------------------------ others */

static VKind check_list(Checker *c, const Expr *e, VKind expect)
{
  int nums = 1, vecs = 1, objs = 0;
  VKind item_expect = expect == V_MAT ? V_VEC : V_NIL;
  for (int i = 0; i < e->u.list.n; i++) {
    VKind k = check_expr(c, e->u.list.v[i], item_expect);
    nums &= k == V_NUM;
    vecs &= k == V_VEC;
    objs |= known(k) && !numeric(k);
  }
  if (nums)
    return V_VEC;
  if (vecs)
    return V_MAT;
  return objs ? V_LIST : V_NIL;
}

static VKind check_index(Checker *c, const Expr *e)
{
  VKind k = check_expr(c, e->u.index.obj, V_NIL);
  for (int i = 0; i < e->u.index.idx.n; i++) {
    VKind ik = check_expr(c, e->u.index.idx.v[i], V_NUM);
    if (known(ik) && ik != V_NUM)
      ERR(c, e->u.index.idx.v[i], "an index must be a number, not %s", kind_article(ik));
    switch (k) {
    case V_VEC: case V_SCHED: k = V_NUM; break;
    case V_MAT: k = V_VEC; break;
    case V_LIST: case V_NIL: case V_NKINDS: k = V_NIL; break;
    default:
      ERR(c, e->u.index.obj, "cannot index %s", kind_article(k));
      return V_NIL;
    }
  }
  return k;
}

static VKind field_kind(const char *obj, VKind k, const char *name)
{
  static const struct { VKind of; const char *name; VKind kind; } table[] = {
      {V_ROUTER, "K", V_NUM}, {V_ROUTER, "dim", V_NUM}, {V_ROUTER, "W", V_MAT},
      {V_ROUTER, "b", V_VEC}, {V_LAW, "dim", V_NUM}, {V_LAW, "mean", V_VEC},
      {V_LAW, "cov", V_MAT}, {V_MODEL, "router", V_ROUTER}, {V_MODEL, "experts", V_LIST},
      {V_MODEL, "gate", V_GATE}, {V_MODEL, "K", V_NUM}, {V_EXPERT, "beta", V_VEC},
      {V_EXPERT, "c", V_NUM}, {V_TARGET, "noise", V_NUM}, {V_TARGET, "router", V_ROUTER},
      {V_TARGET, "experts", V_LIST}, {V_SCHED, "tau", V_VEC}, {V_SCHED, "steps", V_NUM}};
  (void)obj;
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (table[i].of == k && strcmp(table[i].name, name) == 0)
      return table[i].kind;
  return V_NKINDS;
}

static VKind check_field(Checker *c, const Expr *e)
{
  VKind k = check_expr(c, e->u.field.obj, V_NIL);
  if (!known(k) || k == V_RESULT)
    return V_NIL;
  VKind f = field_kind(NULL, k, e->u.field.name);
  if (f != V_NKINDS)
    return f;
  err(c, e->u.field.name_pos, (uint32_t)strlen(e->u.field.name), "%s has no field '%s'",
      kind_article(k), e->u.field.name);
  const char *const *names = field_names(k);
  if (names && names[0]) {
    StrBuf sb;
    sb_init(&sb, &c->I->rt);
    for (int i = 0; names[i]; i++)
      sb_printf(&sb, "%s%s", i ? ", " : "", names[i]);
    diag_hint(&c->I->diags, "its fields are %s", sb_str(&sb));
    sb_free(&sb);
  }
  return V_NIL;
}

static VKind check_name(Checker *c, const Expr *e, VKind expect)
{
  int np;
  VKind k = name_kind(c, e, &np);
  if (k != V_NKINDS)
    return k;
  int n;
  const Builtin *b = builtin_lookup(e->u.name, &n);
  if (b && b->bare)
    return builtin_choose(e->u.name, expect, NULL)->result;
  if (b) {
    ERR(c, e, "'%s' is a builtin function; call it, as in %s(...)", e->u.name, e->u.name);
    return V_NIL;
  }
  unknown(c, e, e->u.name);
  return V_NIL;
}

static VKind check_if(Checker *c, const Expr *e, VKind expect)
{
  VKind k = check_expr(c, e->u.cond.c, V_BOOL);
  if (known(k) && k != V_BOOL)
    ERR(c, e->u.cond.c, "the condition of 'if' must be a bool, not %s", kind_article(k));
  VKind a = check_expr(c, e->u.cond.a, expect), b = check_expr(c, e->u.cond.b, expect);
  return a == b ? a : V_NIL;
}

static VKind check_expr(Checker *c, const Expr *e, VKind expect)
{
  if (!e)
    return V_NIL;
  switch (e->kind) {
  case E_NUM: return V_NUM;
  case E_STR: return V_STR;
  case E_BOOL: return V_BOOL;
  case E_NAME: return check_name(c, e, expect);
  case E_LIST: return check_list(c, e, expect);
  case E_CALL: return check_call(c, e, expect);
  case E_INDEX: return check_index(c, e);
  case E_FIELD: return check_field(c, e);
  case E_UNARY: return check_unary(c, e);
  case E_BINARY: return check_binary(c, e);
  case E_IF: return check_if(c, e, expect);
  }
  return V_NIL;
}

/* ------------------------------------------------------------ statements */

static void check_stmts(Checker *c, const StmtList *l);

static void define(Checker *c, const Stmt *s, VKind k, int nparams)
{
  push(c, s->name, k == V_NKINDS ? V_NIL : k, nparams, s->name_pos);
}

static void check_decl_value(Checker *c, const Stmt *s)
{
  VKind want = decl_kinds[s->decl];
  VKind k = check_expr(c, s->value, want);
  if (k == V_FUNC && object_kind(want) && is_extern(c, s->value))
    k = want;
  int sched_list = want == V_SCHED && (k == V_VEC || k == V_NUM || k == V_LIST);
  if (known(k) && k != want && !sched_list) {
    size_t n;
    const char *text = ast_text(s->value, &n);
    const char *paren = memchr(text, '(', n);
    int shown = paren ? (int)(paren - text) : (int)n;
    ERR(c, s->value, "%.*s%s builds %s, not %s", shown > 40 ? 40 : shown, text,
        paren ? "(...)" : "", kind_article(k), kind_article(want));
    diag_hint(&c->I->diags, "declare it with '%s %s = ...' or use %s %s constructor",
              k >= V_LAW && k <= V_SCHED ? ast_decl_name((DeclKind)(k - V_LAW)) : "let",
              s->name, s->decl == D_EXPERT ? "an" : "a", ast_decl_name(s->decl));
  }
  if (s->noise && want != V_TARGET)
    ERR(c, s->noise, "'noise' belongs to targets, not to %s", kind_article(decl_kinds[s->decl]));
  else if (s->noise)
    check_expr(c, s->noise, V_NUM);
  if (s->opts.n)
    err(c, s->opts.v[0].name_pos, 1,
        "'with' options belong to schedules written as expressions in t");
  define(c, s, want, -1);
}

/* `expert f(x) = ...`: the body runs per sample with x (or t) bound. */
static void check_decl_body(Checker *c, const Stmt *s)
{
  int mark = c->n;
  char what[96];
  snprintf(what, sizeof what, "%s %s", ast_decl_name(s->decl), s->name);
  if (s->params.n != 1)
    err(c, s->pos, 1, "%s takes exactly one parameter (%s), not %d", what,
        s->decl == D_SCHEDULE ? "the step t" : "the input x", s->params.n);
  if (s->decl == D_LAW || s->decl == D_MODEL)
    err(c, s->pos, 1, "a %s cannot be written as an expression in x; build it with a "
        "constructor", ast_decl_name(s->decl));
  for (int i = 0; i < s->params.n; i++)
    push(c, s->params.v[i].name, s->decl == D_SCHEDULE ? V_NUM : V_VEC, -1, s->params.v[i].pos);
  int saved = c->per_sample;
  const char *saved_of = c->body_of;
  c->per_sample = 1;
  c->body_of = what;
  check_expr(c, s->value, V_NIL);
  c->per_sample = saved;
  c->body_of = saved_of;
  c->n = mark;
  if (s->noise && s->decl != D_TARGET)
    ERR(c, s->noise, "'noise' belongs to targets, not to %s", kind_article(decl_kinds[s->decl]));
  else if (s->noise)
    check_expr(c, s->noise, V_NUM);
  for (int i = 0; i < s->opts.n; i++) {
    if (s->decl != D_SCHEDULE || strcmp(s->opts.v[i].name, "steps") != 0)
      err(c, s->opts.v[i].name_pos, (uint32_t)strlen(s->opts.v[i].name),
          "unknown option '%s'%s", s->opts.v[i].name,
          s->decl == D_SCHEDULE ? "; a schedule expression takes 'with steps = N'" : "");
    check_expr(c, s->opts.v[i].value, V_NUM);
  }
  if (s->decl == D_SCHEDULE && s->opts.n == 0)
    err(c, s->pos, 1, "schedule %s(t) needs its number of steps: add 'with steps = N'",
        s->name);
  define(c, s, decl_kinds[s->decl], -1);
}

static void check_set(Checker *c, const Stmt *s)
{
  const char *const *names = check_settings();
  int found = 0;
  for (int i = 0; names[i]; i++)
    found |= strcmp(names[i], s->name) == 0;
  VKind k = check_expr(c, s->value, V_NIL);
  if (!found) {
    err(c, s->name_pos, (uint32_t)strlen(s->name), "unknown setting '%s'", s->name);
    const char *best = diag_suggest(s->name, names, 5);
    if (best)
      diag_hint(&c->I->diags, "did you mean '%s'? the settings are seed, samples, threads, "
                "confidence and method", best);
    else
      diag_hint(&c->I->diags, "the settings are seed, samples, threads, confidence and method");
    return;
  }
  VKind want = strcmp(s->name, "method") == 0 ? V_STR : V_NUM;
  if (known(k) && k != want)
    ERR(c, s->value, "%s must be %s, not %s", s->name, kind_article(want), kind_article(k));
}

static void check_fn(Checker *c, const Stmt *s)
{
  define(c, s, V_FUNC, s->params.n);
  int mark = c->n, saved = c->in_fn;
  for (int i = 0; i < s->params.n; i++)
    push(c, s->params.v[i].name, V_NIL, -1, s->params.v[i].pos);
  c->in_fn = 1;
  check_expr(c, s->value, V_NIL);
  c->in_fn = saved;
  c->n = mark;
}

static void check_for(Checker *c, const Stmt *s)
{
  VKind k = check_expr(c, s->value, V_NIL);
  if (known(k) && k != V_VEC && k != V_SCHED && k != V_LIST && k != V_MAT && k != V_NUM)
    ERR(c, s->value, "cannot loop over %s", kind_article(k));
  int mark = c->n;
  VKind item = k == V_VEC || k == V_SCHED || k == V_NUM ? V_NUM : k == V_MAT ? V_VEC : V_NIL;
  push(c, s->name, item, -1, s->name_pos);
  check_stmts(c, &s->body);
  c->n = mark;
}

static void check_train(Checker *c, const Stmt *s)
{
  static const VKind want[3] = {V_MODEL, V_TARGET, V_LAW};
  const Expr *parts[3] = {s->value, s->target, s->law};
  for (int i = 0; i < 3; i++) {
    VKind k = check_expr(c, parts[i], want[i]);
    if (known(k) && k != want[i])
      ERR(c, parts[i], "train needs %s here, not %s", kind_article(want[i]), kind_article(k));
  }
  const char *const *names = train_option_names();
  int nnames = 0;
  while (names[nnames])
    nnames++;
  for (int i = 0; i < s->opts.n; i++) {
    const Arg *a = &s->opts.v[i];
    check_expr(c, a->value, V_NIL);
    int found = 0;
    for (int j = 0; a->name && j < nnames; j++)
      found |= strcmp(names[j], a->name) == 0;
    if (found || !a->name)
      continue;
    err(c, a->name_pos, (uint32_t)strlen(a->name), "train has no option '%s'", a->name);
    const char *best = diag_suggest(a->name, names, nnames);
    diag_hint(&c->I->diags, "%s%s%sthe options are schedule, steps, lr, batch, fixed, optimizer, "
              "log_every, seed, init, init_scale and w", best ? "did you mean '" : "",
              best ? best : "", best ? "'? " : "");
  }
}

/* The names an imported program defines at its top level (and, since
 * imports run in the global scope, those of the files it imports). */
static void define_imported(Checker *c, const Program *p, int depth)
{
  for (int i = 0; i < p->stmts.n && depth < 32; i++) {
    const Stmt *s = p->stmts.v[i];
    if (s->kind == S_LET)
      push(c, s->name, V_NIL, -1, s->name_pos);
    else if (s->kind == S_FN || s->kind == S_EXTERN) {
      push(c, s->name, V_FUNC, s->params.n, s->name_pos);
      if (s->kind == S_EXTERN && !c->oom)
        c->syms[c->n - 1].is_ext = 1;
    }
    else if (s->kind == S_DECL)
      push(c, s->name, decl_kinds[s->decl], -1, s->name_pos);
    else if (s->kind == S_IMPORT) {
      Import *im = import_load(c->I, s);
      if (im && im->prog && im->state != IMPORT_CHECKING)
        define_imported(c, im->prog, depth + 1);
    }
  }
}

/* An import is checked when it is first seen, with its own names, so that a
 * cycle or an error in the imported file shows before anything runs. */
static void check_import(Checker *c, const Stmt *s)
{
  Import *im = import_load(c->I, s);
  if (!im) {
    c->errors++;
    return;
  }
  if (im->state == IMPORT_CHECKING) {
    import_cycle(c->I, s, im);
    c->errors++;
    return;
  }
  if (im->state == IMPORT_NEW) {
    im->state = IMPORT_CHECKING;
    import_push(c->I, im);
    c->errors += check_program(c->I, im->prog);
    import_pop(c->I);
    im->state = IMPORT_CHECKED;
  }
  define_imported(c, im->prog, 0);
}

static void check_stmt(Checker *c, const Stmt *s)
{
  switch (s->kind) {
  case S_LET:
    define(c, s, check_expr(c, s->value, V_NIL), -1);
    if (!c->oom && is_extern(c, s->value))
      c->syms[c->n - 1].is_ext = 1;     /* let f = some_extern: f is one too */
    break;
  case S_FN: check_fn(c, s); break;
  case S_DECL:
    if (s->has_params)
      check_decl_body(c, s);
    else
      check_decl_value(c, s);
    break;
  case S_SET: check_set(c, s); break;
  case S_REPORT: {
    VKind k = check_expr(c, s->value, V_RESULT);
    if (known(k) && k != V_RESULT) {
      ERR(c, s->value, "report needs a query result (such as boundary_mass(...)), not %s",
          kind_article(k));
      diag_hint(&c->I->diags, "use 'print' to show other values");
    }
    break;
  }
  case S_PRINT:
    for (int i = 0; i < s->exprs.n; i++)
      check_expr(c, s->exprs.v[i], V_NIL);
    break;
  case S_FOR: check_for(c, s); break;
  case S_EXPR: check_expr(c, s->value, V_NIL); break;
  case S_TRAIN: check_train(c, s); break;
  case S_EXTERN:
    c->errors += ffi_check(c->I, s);
    define(c, s, V_FUNC, s->params.n);
    if (!c->oom)
      c->syms[c->n - 1].is_ext = 1;
    break;
  case S_IMPORT: check_import(c, s); break;
  }
}

static void check_stmts(Checker *c, const StmtList *l)
{
  for (int i = 0; i < l->n; i++)
    check_stmt(c, l->v[i]);
}

int check_program(Interp *I, const Program *p)
{
  Checker c;
  memset(&c, 0, sizeof c);
  c.I = I;
  c.prog = p;
  check_stmts(&c, &p->stmts);
  rt_free(&I->rt, c.syms);
  if (c.oom) {
    /* A lost symbol makes later names look unknown: say what happened. */
    diag_clear(&I->diags);
    diag_error(&I->diags, (Pos){p->src, 1, 1}, 1, "out of memory while checking the script");
    return 1;
  }
  return c.errors;
}
