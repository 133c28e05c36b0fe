/*
 * ast.h — the syntax tree of a moe script.
 *
 * Nodes live in the Program's arena.  Constructors accept NULL children (a
 * subtree lost to a syntax error) and never fail loudly: on allocation
 * failure they return NULL and mark the arena failed, so grammar actions are
 * one call each with no cleanup logic.  Every node carries its position and
 * the byte range of source it covers (for carets and report headings).
 */
#ifndef MOE_AST_H
#define MOE_AST_H

#include "arena.h"
#include "diag.h"
#include "source.h"
#include "token.h"

typedef enum ExprKind {
  E_NUM, E_STR, E_BOOL, E_NAME, E_LIST, E_CALL, E_INDEX, E_FIELD,
  E_UNARY, E_BINARY, E_IF
} ExprKind;

typedef enum Op {
  OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW, OP_MATMUL,
  OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_AND, OP_OR,
  OP_NEG, OP_NOT
} Op;

typedef struct Expr Expr;

typedef struct Arg {
  const char *name;      /* NULL for a positional argument */
  Pos name_pos;
  Expr *value;
} Arg;

typedef struct ArgList {
  int n, cap;
  Arg *v;
} ArgList;

typedef struct ExprList {
  int n, cap;
  Expr **v;
} ExprList;

struct Expr {
  ExprKind kind;
  Pos pos;
  uint32_t off, len;     /* source bytes covered */
  uint32_t depth;        /* height of the tree below (a leaf is 1) */
  union {
    double num;
    int boolean;
    struct { char *s; size_t len; } str;
    const char *name;
    ExprList list;                            /* [a, b, ...] */
    struct { Expr *fn; ArgList args; } call;
    struct { Expr *obj; ExprList idx; } index;
    struct { Expr *obj; const char *name; Pos name_pos; } field;
    struct { Op op; Expr *a; } un;
    struct { Op op; Expr *a, *b; } bin;
    struct { Expr *c, *a, *b; } cond;         /* if c then a else b */
  } u;
};

typedef enum StmtKind {
  S_LET, S_FN, S_DECL, S_SET, S_REPORT, S_PRINT, S_FOR, S_IMPORT,
  S_EXTERN, S_TRAIN, S_EXPR
} StmtKind;

/* The declaration keywords; each promises the kind of object it binds. */
typedef enum DeclKind {
  D_LAW, D_ROUTER, D_EXPERT, D_TARGET, D_MODEL, D_SCHEDULE
} DeclKind;

typedef struct Param {
  const char *name;
  Pos pos;
  const char *type;      /* extern parameters: "num", "vec", "vec[3]" ...; else NULL */
  Pos type_pos;
} Param;

typedef struct ParamList {
  int n, cap;
  Param *v;
} ParamList;

typedef struct Stmt Stmt;

typedef struct StmtList {
  int n, cap;
  Stmt **v;
} StmtList;

struct Stmt {
  StmtKind kind;
  Pos pos;
  uint32_t off, len;
  const char *name;      /* let, fn, decl, set, for variable, extern */
  Pos name_pos;
  DeclKind decl;         /* S_DECL */
  int has_params;        /* `router q(x) = ...` form (S_DECL), always for S_FN */
  ParamList params;
  Expr *value;           /* the right-hand side; S_TRAIN: the model */
  Expr *noise;           /* `noise s` after a target (S_DECL), else NULL */
  ArgList opts;          /* `with a = 1, b = 2` (S_DECL schedule, S_TRAIN) */
  ExprList exprs;        /* S_PRINT: the values printed */
  StmtList body;         /* S_FOR */
  Expr *target, *law;    /* S_TRAIN: on y under X */
  char *path;            /* S_IMPORT, S_EXTERN: the string (unescaped) */
  Pos path_pos;
  const char *ret_type;  /* S_EXTERN */
  Pos ret_pos;
};

typedef struct Program {
  Arena arena;
  StmtList stmts;
  const Source *src;
} Program;

/* Builder context shared by the grammar actions. */
/* Deeper expression trees are refused: the checker, the evaluator and the
 * lowering walk trees recursively, and a 100000-term sum must be an error,
 * not a stack overflow. */
#define AST_MAX_DEPTH 1000

typedef struct AstBuilder {
  Arena *arena;
  const Source *src;
  DiagList *diags;       /* for the depth error */
  int too_deep;          /* reported once */
} AstBuilder;

Expr *ast_num(AstBuilder *b, Token t);
Expr *ast_str(AstBuilder *b, Token t);
Expr *ast_bool(AstBuilder *b, Token t, int value);
Expr *ast_name(AstBuilder *b, Token t);
Expr *ast_list(AstBuilder *b, Token open, ExprList items, Token close);
Expr *ast_call(AstBuilder *b, Expr *fn, ArgList args, Token close);
Expr *ast_index(AstBuilder *b, Expr *obj, ExprList idx, Token close);
Expr *ast_field(AstBuilder *b, Expr *obj, Token name);
Expr *ast_unary(AstBuilder *b, Token op, Op kind, Expr *a);
Expr *ast_binary(AstBuilder *b, Op op, Expr *a, Expr *c);
Expr *ast_if(AstBuilder *b, Token kw, Expr *c, Expr *a, Expr *e);
Expr *ast_paren(AstBuilder *b, Token open, Expr *e, Token close);

void ast_exprs_add(AstBuilder *b, ExprList *l, Expr *e);
void ast_args_add(AstBuilder *b, ArgList *l, const Token *name, Expr *e);
void ast_params_add(AstBuilder *b, ParamList *l, Token name, const Token *type);
void ast_stmts_add(AstBuilder *b, StmtList *l, Stmt *s);

Stmt *ast_stmt(AstBuilder *b, StmtKind kind, Token kw);
Stmt *ast_let(AstBuilder *b, Token kw, Token name, Expr *value);
Stmt *ast_fn(AstBuilder *b, Token kw, Token name, ParamList p, Expr *body);
Stmt *ast_decl(AstBuilder *b, Token kw, Token name, const ParamList *p, Expr *value);
Stmt *ast_decl_tail(AstBuilder *b, Stmt *s, Expr *noise, ArgList opts);
Stmt *ast_set(AstBuilder *b, Token kw, Token name, Expr *value);
Stmt *ast_report(AstBuilder *b, Token kw, Expr *e);
Stmt *ast_print(AstBuilder *b, Token kw, ExprList l);
Stmt *ast_for(AstBuilder *b, Token kw, Token var, Expr *seq, StmtList body, Token close);
Stmt *ast_import(AstBuilder *b, Token kw, Token path);
Stmt *ast_extern(AstBuilder *b, Token kw, Token name, ParamList p, Token ret, Token lib);
Stmt *ast_train(AstBuilder *b, Token kw, Expr *m, Expr *y, Expr *x, ArgList opts);
Stmt *ast_expr_stmt(AstBuilder *b, Expr *e);

/* One token spanning a through b (same source, b after a): `vec[3]`. */
Token ast_join(Token a, Token b);

/* Decodes a string token's escapes into the arena; *len gets the length. */
char *ast_unescape(AstBuilder *b, Token t, size_t *len);

/* The source text an expression covers (a view; not NUL-terminated). */
const char *ast_text(const Expr *e, size_t *len);

/* Operator spelling, e.g. "+", "@", "not". */
const char *ast_op_name(Op op);
const char *ast_decl_name(DeclKind k);

/* Writes the --dump-ast form of a program. */
struct StrBuf;
void ast_dump(struct StrBuf *out, const Program *p);

#endif
