/*
 * builtins.h — the table of built-in functions, constructors and queries.
 *
 * One table serves the checker (names, parameters, the kinds they accept,
 * what each call builds) and the evaluator (the implementation).  Adding a
 * builtin means adding one row and one function.
 */
#ifndef MOE_BUILTINS_H
#define MOE_BUILTINS_H

#include "interp.h"

/* Kind sets: bit k stands for VKind k. */
#define KS(k) (1u << (k))
#define KS_ANY 0xFFFFu
#define KS_NUMERIC (KS(V_NUM) | KS(V_VEC) | KS(V_MAT))
#define KS_POINTS (KS(V_VEC) | KS(V_MAT))

enum {
  P_REQ = 1,        /* must be given */
  P_NAMED = 2,      /* only by name */
};

typedef struct BParam {
  const char *name;
  unsigned kinds;
  unsigned flags;
} BParam;

#define MAX_PARAMS 16

/* One evaluated call: argument values in parameter order (V_NIL when not
 * given) and the expressions they came from, for positioned errors. */
typedef struct Call {
  Interp *I;
  const struct Builtin *b;
  const Expr *expr;              /* the call */
  Value arg[MAX_PARAMS];
  const Expr *arg_expr[MAX_PARAMS];
  VKind expect;                  /* kind the context asks for (V_NIL: any) */
  const char *decl_name;         /* the declared name, for messages ("law X") */
} Call;

typedef int (*BImpl)(Call *c, Value *out);

typedef struct Builtin {
  const char *name;
  VKind result;          /* V_NIL: depends on the arguments (math) */
  const BParam *params;
  int nparams;
  BImpl impl;
  int bare;              /* may be used without parentheses (softmax) */
  int estimates;         /* takes samples, seed, method */
  const char *summary;   /* one line for :help and error hints */
} Builtin;

/* All builtins with this name (usually one; `linear` is a router and a
 * schedule).  *n gets their number. */
const Builtin *builtin_lookup(const char *name, int *n);

/* Picks the builtin for a call from the kind the context expects and the
 * argument names used. */
const Builtin *builtin_choose(const char *name, VKind expect, const ArgList *args);

/* Every builtin name (for suggestions and completion); NULL-terminated. */
const char *const *builtin_names(void);

/* The position of parameter `name` in b, or -1. */
int builtin_param(const Builtin *b, const char *name);

/* "W, b" — the parameter list for messages. */
void builtin_params_text(StrBuf *sb, const Builtin *b);

/* Reports an error at argument i (or the call when i < 0); returns 1. */
int call_error(Call *c, int i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The runtime error in I->rt, positioned at argument i or the call. */
int call_rt_error(Call *c, int i);

#endif
