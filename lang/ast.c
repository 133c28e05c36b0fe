/*
 * ast.c — constructors for the syntax tree and its --dump-ast form.
 *
 * Every constructor accepts NULL children (they come from subtrees lost to a
 * syntax error) and returns NULL only when the arena is out of memory.
 */
#include "ast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/strbuf.h"

static Pos tok_pos(AstBuilder *b, Token t)
{
  Pos p = {b->src, t.line, t.col};
  return p;
}

static uint32_t tok_off(AstBuilder *b, Token t)
{
  return (uint32_t)(t.p - b->src->text);
}

static Expr *new_expr(AstBuilder *b, ExprKind k, Token t)
{
  Expr *e = arena_alloc(b->arena, sizeof *e);
  if (!e)
    return NULL;
  e->kind = k;
  e->pos = tok_pos(b, t);
  e->off = tok_off(b, t);
  e->len = t.len;
  e->depth = 1;
  return e;
}

/* Extends e's source range to end where `end` ends. */
static void extend_to(Expr *e, uint32_t end_off)
{
  if (e && end_off > e->off)
    e->len = end_off - e->off;
}

static uint32_t expr_end(const Expr *e) { return e ? e->off + e->len : 0; }

static uint32_t depth_of(const Expr *e) { return e ? e->depth : 0; }

static uint32_t list_depth(const ExprList *l)
{
  uint32_t d = 0;
  for (int i = 0; i < l->n; i++)
    d = depth_of(l->v[i]) > d ? depth_of(l->v[i]) : d;
  return d;
}

/* Sets e's depth one above its deepest child and reports, once, a tree
 * deeper than AST_MAX_DEPTH. */
static Expr *deepen(AstBuilder *b, Expr *e, uint32_t child)
{
  if (!e)
    return NULL;
  e->depth = child + 1;
  if (e->depth > AST_MAX_DEPTH && !b->too_deep && b->diags) {
    b->too_deep = 1;
    diag_error(b->diags, e->pos, 1, "expression too deep: more than %d nested operations",
               AST_MAX_DEPTH);
    diag_hint(b->diags, "split it into parts with let");
  }
  return e;
}

Expr *ast_num(AstBuilder *b, Token t)
{
  Expr *e = new_expr(b, E_NUM, t);
  if (!e)
    return NULL;
  char buf[128];
  size_t n = 0;
  for (uint32_t i = 0; i < t.len && n + 1 < sizeof buf; i++)
    if (t.p[i] != '_')
      buf[n++] = t.p[i];
  buf[n] = '\0';
  e->u.num = strtod(buf, NULL);
  return e;
}

char *ast_unescape(AstBuilder *b, Token t, size_t *len)
{
  /* t spans the quotes; the lexer has checked the escapes. */
  char *s = arena_alloc(b->arena, t.len);
  if (!s)
    return NULL;
  size_t n = 0;
  for (uint32_t i = 1; i + 1 < t.len; i++) {
    char c = t.p[i];
    if (c == '\\' && i + 2 < t.len) {
      c = t.p[++i];
      c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == '0' ? '\0' : c;
    }
    s[n++] = c;
  }
  s[n] = '\0';
  if (len)
    *len = n;
  return s;
}

Expr *ast_str(AstBuilder *b, Token t)
{
  Expr *e = new_expr(b, E_STR, t);
  if (e)
    e->u.str.s = ast_unescape(b, t, &e->u.str.len);
  return e;
}

Expr *ast_bool(AstBuilder *b, Token t, int value)
{
  Expr *e = new_expr(b, E_BOOL, t);
  if (e)
    e->u.boolean = value;
  return e;
}

Expr *ast_name(AstBuilder *b, Token t)
{
  Expr *e = new_expr(b, E_NAME, t);
  if (e)
    e->u.name = arena_strndup(b->arena, t.p, t.len);
  return e;
}

Expr *ast_list(AstBuilder *b, Token open, ExprList items, Token close)
{
  Expr *e = new_expr(b, E_LIST, open);
  if (!e)
    return NULL;
  e->u.list = items;
  extend_to(e, tok_off(b, close) + close.len);
  return deepen(b, e, list_depth(&items));
}

Expr *ast_call(AstBuilder *b, Expr *fn, ArgList args, Token close)
{
  if (!fn)
    return NULL;
  Expr *e = arena_alloc(b->arena, sizeof *e);
  if (!e)
    return NULL;
  e->kind = E_CALL;
  e->pos = fn->pos;
  e->off = fn->off;
  e->u.call.fn = fn;
  e->u.call.args = args;
  extend_to(e, tok_off(b, close) + close.len);
  uint32_t d = depth_of(fn);
  for (int i = 0; i < args.n; i++)
    d = depth_of(args.v[i].value) > d ? depth_of(args.v[i].value) : d;
  return deepen(b, e, d);
}

Expr *ast_index(AstBuilder *b, Expr *obj, ExprList idx, Token close)
{
  if (!obj)
    return NULL;
  Expr *e = arena_alloc(b->arena, sizeof *e);
  if (!e)
    return NULL;
  e->kind = E_INDEX;
  e->pos = obj->pos;
  e->off = obj->off;
  e->u.index.obj = obj;
  e->u.index.idx = idx;
  extend_to(e, tok_off(b, close) + close.len);
  uint32_t d = list_depth(&idx);
  return deepen(b, e, depth_of(obj) > d ? depth_of(obj) : d);
}

Expr *ast_field(AstBuilder *b, Expr *obj, Token name)
{
  if (!obj)
    return NULL;
  Expr *e = arena_alloc(b->arena, sizeof *e);
  if (!e)
    return NULL;
  e->kind = E_FIELD;
  e->pos = obj->pos;
  e->off = obj->off;
  e->u.field.obj = obj;
  e->u.field.name = arena_strndup(b->arena, name.p, name.len);
  e->u.field.name_pos = tok_pos(b, name);
  extend_to(e, tok_off(b, name) + name.len);
  return deepen(b, e, depth_of(obj));
}

Expr *ast_unary(AstBuilder *b, Token op, Op kind, Expr *a)
{
  Expr *e = new_expr(b, E_UNARY, op);
  if (!e)
    return NULL;
  e->u.un.op = kind;
  e->u.un.a = a;
  extend_to(e, expr_end(a));
  return deepen(b, e, depth_of(a));
}

Expr *ast_binary(AstBuilder *b, Op op, Expr *a, Expr *c)
{
  if (!a || !c)
    return a ? a : c;
  Expr *e = arena_alloc(b->arena, sizeof *e);
  if (!e)
    return NULL;
  e->kind = E_BINARY;
  e->pos = a->pos;
  e->off = a->off;
  e->u.bin.op = op;
  e->u.bin.a = a;
  e->u.bin.b = c;
  extend_to(e, expr_end(c));
  return deepen(b, e, depth_of(a) > depth_of(c) ? depth_of(a) : depth_of(c));
}

Expr *ast_if(AstBuilder *b, Token kw, Expr *c, Expr *a, Expr *e2)
{
  Expr *e = new_expr(b, E_IF, kw);
  if (!e)
    return NULL;
  e->u.cond.c = c;
  e->u.cond.a = a;
  e->u.cond.b = e2;
  extend_to(e, expr_end(e2));
  uint32_t d = depth_of(c) > depth_of(a) ? depth_of(c) : depth_of(a);
  return deepen(b, e, d > depth_of(e2) ? d : depth_of(e2));
}

/* Parentheses leave no node, but the expression's range grows to cover them
 * so a caret under "(a + b)" includes the brackets. */
Expr *ast_paren(AstBuilder *b, Token open, Expr *e, Token close)
{
  if (!e)
    return NULL;
  uint32_t start = tok_off(b, open);
  uint32_t end = tok_off(b, close) + close.len;
  if (e->kind == E_NAME || e->kind == E_NUM)
    return e;              /* keep a plain caret on plain atoms */
  e->pos = tok_pos(b, open);
  e->off = start;
  e->len = end - start;
  return e;
}

/* Lists grow by doubling inside the arena; the abandoned copies are freed
 * with the arena. */
#define GROW(b, l, T)                                                        \
  do {                                                                       \
    if ((l)->n == (l)->cap) {                                                \
      int cap_ = (l)->cap ? (l)->cap * 2 : 4;                                \
      T *v_ = arena_grow((b)->arena, (l)->v, (size_t)(l)->n, (size_t)cap_,   \
                         sizeof(T));                                         \
      if (!v_)                                                               \
        return;                                                              \
      (l)->v = v_;                                                           \
      (l)->cap = cap_;                                                       \
    }                                                                        \
  } while (0)

void ast_exprs_add(AstBuilder *b, ExprList *l, Expr *e)
{
  GROW(b, l, Expr *);
  l->v[l->n++] = e;
}

void ast_args_add(AstBuilder *b, ArgList *l, const Token *name, Expr *e)
{
  GROW(b, l, Arg);
  Arg *a = &l->v[l->n++];
  memset(a, 0, sizeof *a);
  if (name) {
    a->name = arena_strndup(b->arena, name->p, name->len);
    a->name_pos = tok_pos(b, *name);
  }
  a->value = e;
}

void ast_params_add(AstBuilder *b, ParamList *l, Token name, const Token *type)
{
  GROW(b, l, Param);
  Param *p = &l->v[l->n++];
  memset(p, 0, sizeof *p);
  p->name = arena_strndup(b->arena, name.p, name.len);
  p->pos = tok_pos(b, name);
  if (type) {
    p->type = arena_strndup(b->arena, type->p, type->len);
    p->type_pos = tok_pos(b, *type);
  }
}

Token ast_join(Token a, Token b)
{
  a.len = (uint32_t)(b.p + b.len - a.p);
  return a;
}

void ast_stmts_add(AstBuilder *b, StmtList *l, Stmt *s)
{
  if (!s)
    return;
  GROW(b, l, Stmt *);
  l->v[l->n++] = s;
}

Stmt *ast_stmt(AstBuilder *b, StmtKind kind, Token kw)
{
  Stmt *s = arena_alloc(b->arena, sizeof *s);
  if (!s)
    return NULL;
  s->kind = kind;
  s->pos = tok_pos(b, kw);
  s->off = tok_off(b, kw);
  s->len = kw.len;
  return s;
}

static void stmt_name(AstBuilder *b, Stmt *s, Token name)
{
  s->name = arena_strndup(b->arena, name.p, name.len);
  s->name_pos = tok_pos(b, name);
}

static void stmt_extend(Stmt *s, const Expr *e)
{
  if (s && e && e->off + e->len > s->off)
    s->len = e->off + e->len - s->off;
}

Stmt *ast_let(AstBuilder *b, Token kw, Token name, Expr *value)
{
  Stmt *s = ast_stmt(b, S_LET, kw);
  if (!s)
    return NULL;
  stmt_name(b, s, name);
  s->value = value;
  stmt_extend(s, value);
  return s;
}

Stmt *ast_fn(AstBuilder *b, Token kw, Token name, ParamList p, Expr *body)
{
  Stmt *s = ast_stmt(b, S_FN, kw);
  if (!s)
    return NULL;
  stmt_name(b, s, name);
  s->has_params = 1;
  s->params = p;
  s->value = body;
  stmt_extend(s, body);
  return s;
}

static DeclKind decl_of(int tk);

Stmt *ast_decl(AstBuilder *b, Token kw, Token name, const ParamList *p, Expr *value)
{
  Stmt *s = ast_stmt(b, S_DECL, kw);
  if (!s)
    return NULL;
  s->decl = decl_of(kw.kind);
  stmt_name(b, s, name);
  if (p) {
    s->has_params = 1;
    s->params = *p;
  }
  s->value = value;
  stmt_extend(s, value);
  return s;
}

Stmt *ast_decl_tail(AstBuilder *b, Stmt *s, Expr *noise, ArgList opts)
{
  (void)b;
  if (!s)
    return NULL;
  s->noise = noise;
  s->opts = opts;
  stmt_extend(s, noise);
  if (opts.n)
    stmt_extend(s, opts.v[opts.n - 1].value);
  return s;
}

Stmt *ast_set(AstBuilder *b, Token kw, Token name, Expr *value)
{
  Stmt *s = ast_stmt(b, S_SET, kw);
  if (!s)
    return NULL;
  stmt_name(b, s, name);
  s->value = value;
  stmt_extend(s, value);
  return s;
}

Stmt *ast_report(AstBuilder *b, Token kw, Expr *e)
{
  Stmt *s = ast_stmt(b, S_REPORT, kw);
  if (s) {
    s->value = e;
    stmt_extend(s, e);
  }
  return s;
}

Stmt *ast_print(AstBuilder *b, Token kw, ExprList l)
{
  Stmt *s = ast_stmt(b, S_PRINT, kw);
  if (s) {
    s->exprs = l;
    if (l.n)
      stmt_extend(s, l.v[l.n - 1]);
  }
  return s;
}

Stmt *ast_for(AstBuilder *b, Token kw, Token var, Expr *seq, StmtList body, Token close)
{
  Stmt *s = ast_stmt(b, S_FOR, kw);
  if (!s)
    return NULL;
  stmt_name(b, s, var);
  s->value = seq;
  s->body = body;
  s->len = tok_off(b, close) + close.len - s->off;
  return s;
}

Stmt *ast_import(AstBuilder *b, Token kw, Token path)
{
  Stmt *s = ast_stmt(b, S_IMPORT, kw);
  if (!s)
    return NULL;
  s->path = ast_unescape(b, path, NULL);
  s->path_pos = tok_pos(b, path);
  s->len = tok_off(b, path) + path.len - s->off;
  return s;
}

Stmt *ast_extern(AstBuilder *b, Token kw, Token name, ParamList p, Token ret, Token lib)
{
  Stmt *s = ast_stmt(b, S_EXTERN, kw);
  if (!s)
    return NULL;
  stmt_name(b, s, name);
  s->has_params = 1;
  s->params = p;
  s->ret_type = arena_strndup(b->arena, ret.p, ret.len);
  s->ret_pos = tok_pos(b, ret);
  s->path = ast_unescape(b, lib, NULL);
  s->path_pos = tok_pos(b, lib);
  s->len = tok_off(b, lib) + lib.len - s->off;
  return s;
}

Stmt *ast_train(AstBuilder *b, Token kw, Expr *m, Expr *y, Expr *x, ArgList opts)
{
  Stmt *s = ast_stmt(b, S_TRAIN, kw);
  if (!s)
    return NULL;
  s->value = m;
  s->target = y;
  s->law = x;
  s->opts = opts;
  stmt_extend(s, x);
  if (opts.n)
    stmt_extend(s, opts.v[opts.n - 1].value);
  return s;
}

Stmt *ast_expr_stmt(AstBuilder *b, Expr *e)
{
  if (!e)
    return NULL;
  Stmt *s = arena_alloc(b->arena, sizeof *s);
  if (!s)
    return NULL;
  s->kind = S_EXPR;
  s->pos = e->pos;
  s->off = e->off;
  s->len = e->len;
  s->value = e;
  return s;
}

const char *ast_text(const Expr *e, size_t *len)
{
  *len = e->len;
  return e->pos.src->text + e->off;
}

const char *ast_op_name(Op op)
{
  static const char *const names[] = {
      "+", "-", "*", "/", "^", "@", "==", "!=", "<", "<=", ">", ">=",
      "and", "or", "-", "not"};
  return names[op];
}

const char *ast_decl_name(DeclKind k)
{
  static const char *const names[] = {"law", "router", "expert", "target", "model",
                                      "schedule"};
  return names[k];
}

#include "parser.h"

static DeclKind decl_of(int tk)
{
  switch (tk) {
  case TK_LAW: return D_LAW;
  case TK_ROUTER: return D_ROUTER;
  case TK_EXPERT: return D_EXPERT;
  case TK_TARGET: return D_TARGET;
  case TK_MODEL: return D_MODEL;
  default: return D_SCHEDULE;
  }
}

/* ------------------------------------------------------------------ dump */

static void dump_expr(StrBuf *o, const Expr *e);

static void dump_pos(StrBuf *o, Pos p) { sb_printf(o, "@%u:%u", p.line, p.col); }

static void dump_list(StrBuf *o, const ExprList *l)
{
  for (int i = 0; i < l->n; i++) {
    sb_putc(o, ' ');
    dump_expr(o, l->v[i]);
  }
}

static void dump_args(StrBuf *o, const ArgList *l)
{
  for (int i = 0; i < l->n; i++) {
    if (l->v[i].name)
      sb_printf(o, " (%s= ", l->v[i].name);
    else
      sb_putc(o, ' ');
    dump_expr(o, l->v[i].value);
    if (l->v[i].name)
      sb_putc(o, ')');
  }
}

static void dump_str(StrBuf *o, const char *s, size_t n)
{
  sb_putc(o, '"');
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '"' || c == '\\')
      sb_printf(o, "\\%c", c);
    else if (c == '\n')
      sb_puts(o, "\\n");
    else if (c == '\t')
      sb_puts(o, "\\t");
    else
      sb_putc(o, c);
  }
  sb_putc(o, '"');
}

static void dump_expr(StrBuf *o, const Expr *e)
{
  if (!e) {
    sb_puts(o, "<error>");
    return;
  }
  switch (e->kind) {
  case E_NUM:
    /* A literal too large for a double (1e999) is shown as written: the
     * dump runs before the check that refuses it, and must not print inf. */
    if (!isfinite(e->u.num)) {
      size_t n;
      const char *t = ast_text(e, &n);
      sb_putn(o, t, n);
    } else {
      sb_num(o, e->u.num);
    }
    return;
  case E_BOOL: sb_puts(o, e->u.boolean ? "true" : "false"); return;
  case E_STR: dump_str(o, e->u.str.s, e->u.str.len); return;
  case E_NAME: sb_puts(o, e->u.name); return;
  default: break;
  }
  sb_putc(o, '(');
  switch (e->kind) {
  case E_LIST: sb_puts(o, "list"); dump_list(o, &e->u.list); break;
  case E_CALL:
    sb_puts(o, "call ");
    dump_expr(o, e->u.call.fn);
    dump_args(o, &e->u.call.args);
    break;
  case E_INDEX:
    sb_puts(o, "index ");
    dump_expr(o, e->u.index.obj);
    dump_list(o, &e->u.index.idx);
    break;
  case E_FIELD:
    sb_puts(o, "field ");
    dump_expr(o, e->u.field.obj);
    sb_printf(o, " %s", e->u.field.name);
    break;
  case E_UNARY:
    sb_printf(o, "%s ", ast_op_name(e->u.un.op));
    dump_expr(o, e->u.un.a);
    break;
  case E_BINARY:
    sb_printf(o, "%s ", ast_op_name(e->u.bin.op));
    dump_expr(o, e->u.bin.a);
    sb_putc(o, ' ');
    dump_expr(o, e->u.bin.b);
    break;
  case E_IF:
    sb_puts(o, "if ");
    dump_expr(o, e->u.cond.c);
    sb_putc(o, ' ');
    dump_expr(o, e->u.cond.a);
    sb_putc(o, ' ');
    dump_expr(o, e->u.cond.b);
    break;
  default: break;
  }
  sb_putc(o, ')');
}

static void dump_params(StrBuf *o, const ParamList *p)
{
  sb_putc(o, '(');
  for (int i = 0; i < p->n; i++) {
    sb_printf(o, "%s%s", i ? " " : "", p->v[i].name);
    if (p->v[i].type)
      sb_printf(o, ":%s", p->v[i].type);
  }
  sb_putc(o, ')');
}

static void dump_stmts(StrBuf *o, const StmtList *l, int indent);

static void dump_stmt(StrBuf *o, const Stmt *s, int indent)
{
  static const char *const kinds[] = {"let", "fn", "decl", "set", "report", "print",
                                      "for", "import", "extern", "train", "expr"};
  sb_printf(o, "%*s(%s", indent, "", kinds[s->kind]);
  if (s->kind == S_DECL)
    sb_printf(o, " %s", ast_decl_name(s->decl));
  if (s->name)
    sb_printf(o, " %s", s->name);
  sb_putc(o, ' ');
  dump_pos(o, s->pos);
  if (s->has_params) {
    sb_putc(o, ' ');
    dump_params(o, &s->params);
  }
  if (s->kind == S_EXTERN)
    sb_printf(o, " -> %s", s->ret_type);
  if (s->path) {
    sb_putc(o, ' ');
    dump_str(o, s->path, strlen(s->path));
  }
  if (s->value) {
    sb_putc(o, ' ');
    dump_expr(o, s->value);
  }
  if (s->target) {
    sb_puts(o, " (on ");
    dump_expr(o, s->target);
    sb_puts(o, ") (under ");
    dump_expr(o, s->law);
    sb_putc(o, ')');
  }
  dump_list(o, &s->exprs);
  if (s->noise) {
    sb_puts(o, " (noise ");
    dump_expr(o, s->noise);
    sb_putc(o, ')');
  }
  if (s->opts.n) {
    sb_puts(o, " (with");
    dump_args(o, &s->opts);
    sb_putc(o, ')');
  }
  if (s->kind == S_FOR) {
    sb_putc(o, '\n');
    dump_stmts(o, &s->body, indent + 2);
    sb_printf(o, "%*s", indent, "");
  }
  sb_puts(o, ")\n");
}

static void dump_stmts(StrBuf *o, const StmtList *l, int indent)
{
  for (int i = 0; i < l->n; i++)
    dump_stmt(o, l->v[i], indent);
}

void ast_dump(StrBuf *out, const Program *p)
{
  dump_stmts(out, &p->stmts, 0);
}
