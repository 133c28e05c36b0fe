/*
 * lower.c — per-sample bodies to block VM code (see lower.h).
 *
 * Lowering is a symbolic evaluation of the body.  A value is either a
 * constant (a Value, folded with exactly the top-level semantics: the same
 * arithmetic and the same builtin implementations) or a per-sample value: a
 * list of operands, one per component (a column of the input block, a
 * temporary, or a constant).  Operations on per-sample values emit VM
 * instructions; `fn` calls are inlined; other experts and routers called in
 * a body become VM calls.
 *
 * The input dimension: a declaration is first lowered in "probe" mode, with
 * x of unknown length, to learn what the body needs: a fixed dimension (W @ x
 * fixes it to W's columns), or only a minimum (x[4] needs at least 5), or the
 * dimension itself (sum(x)).  A fixed dimension gives a fixed program; the
 * others give a generic function compiled per dimension on demand (cached),
 * from the names the body used as they were when it was declared.
 */
#include "lower.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../runtime/model.h"
#include "../runtime/vm.h"
#include "builtins.h"
#include "eval.h"
#include "foreign.h"
#include "fields.h"

#define MAX_INLINE 64
#define GEMM_MIN 64          /* K·m above which W @ x is one GEMM */
#define PROBE_STOP 2         /* probe mode learned what it needed */

typedef struct LVal {
  int is_const;
  Value cv;              /* constant (borrowed from the owned list) */
  int n;                 /* per-sample components; -1: the whole input of unknown length */
  int is_vec;
  VmArg *ops;
} LVal;

typedef struct Bind {
  const char *name;
  LVal v;
} Bind;

/* What a generic function keeps: its declaration and the names its body
 * used, captured when it was declared. */
typedef struct Template {
  Interp *I;
  const Stmt *decl;
  Scope captured;
  char *what;
  int is_router;
  int oom;               /* a capture failed: the template is unusable */
} Template;

typedef struct Lower {
  Interp *I;
  Template *tpl;
  VmProg *p;
  Arena arena;
  Bind *env;
  int nenv, capenv;
  Value *owned;
  int nowned, capowned;
  int dim;               /* 0 while probing */
  int max_index;
  int constraint;        /* probe: the dimension the body forces */
  int needs_dim;         /* probe: the body needs the dimension itself */
  int depth;
  int quiet;             /* errors to rt->msg (specialising at a query) */
  int oom;               /* a constant was lost: the next error is "out of memory" */
} Lower;

static int lower(Lower *L, const Expr *e, LVal *out);

/* ------------------------------------------------------------ errors */

static int lerr(Lower *L, const Expr *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int lerr(Lower *L, const Expr *e, const char *fmt, ...)
{
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (L->oom)
    snprintf(msg, sizeof msg, "out of memory");
  if (L->quiet) {
    if (L->I->rt.status == RT_OK)
      rt_error(&L->I->rt, RT_EINVAL, "%s (in %s at %s:%u:%u)", msg, L->tpl->what,
               e->pos.src ? e->pos.src->name : "?", e->pos.line, e->pos.col);
  } else {
    diag_error(&L->I->diags, e->pos, e->len, "%s", msg);
  }
  return 1;
}

static int oom(Lower *L, const Expr *e) { return lerr(L, e, "out of memory"); }

/* Probe mode stops at the first use of the whole input whose length matters:
 * either the other operand fixes the dimension, or the body needs it. */
static int need_dim(Lower *L, int fixed_by)
{
  if (fixed_by > 0 && !L->constraint)
    L->constraint = fixed_by;
  else if (fixed_by <= 0)
    L->needs_dim = 1;
  return PROBE_STOP;
}

/* ------------------------------------------------------------ values */

static LVal lconst(Lower *L, Value v)
{
  LVal r = {1, v, 0, 0, NULL};
  if (L->nowned == L->capowned) {
    int cap = L->capowned ? L->capowned * 2 : 16;
    Value *o = rt_realloc(&L->I->rt, L->owned, (size_t)cap * sizeof *o);
    if (!o) {
      val_drop(&L->I->rt, v);
      r.cv = val_nil();
      L->oom = 1;
      return r;
    }
    L->owned = o;
    L->capowned = cap;
  }
  L->owned[L->nowned++] = v;
  return r;
}

static LVal lcols(Lower *L, int n, int is_vec)
{
  LVal r = {0, {V_NIL, {0}}, n, is_vec, NULL};
  if (n > 0)
    r.ops = arena_alloc(&L->arena, (size_t)n * sizeof *r.ops);
  return r;
}

static VmArg kconst(double k)
{
  VmArg a = {VM_CONST, 0, k};
  return a;
}

/* The components of a value: a number is one constant, a vector n of them,
 * a per-sample value its operands.  *n < 0 for the unknown-length input. */
static int components(Lower *L, const Expr *e, LVal v, int *n, VmArg **ops)
{
  *n = 0;
  *ops = NULL;
  if (!v.is_const) {
    *n = v.n;
    *ops = v.ops;
    return 0;
  }
  if (v.cv.kind == V_NUM) {
    *n = 1;
    *ops = arena_alloc(&L->arena, sizeof **ops);
    if (!*ops)
      return oom(L, e);
    (*ops)[0] = kconst(v.cv.u.num);
    return 0;
  }
  if (v.cv.kind == V_BOOL) {
    *n = 1;
    *ops = arena_alloc(&L->arena, sizeof **ops);
    if (!*ops)
      return oom(L, e);
    (*ops)[0] = kconst(v.cv.u.b);
    return 0;
  }
  if (v.cv.kind == V_VEC) {
    *n = (int)as_vec(v.cv)->n;
    *ops = arena_alloc(&L->arena, (size_t)(*n ? *n : 1) * sizeof **ops);
    if (!*ops)
      return oom(L, e);
    for (int i = 0; i < *n; i++)
      (*ops)[i] = kconst(as_vec(v.cv)->v[i]);
    return 0;
  }
  return lerr(L, e, "%s cannot be used as a per-sample number or vector",
              kind_article(v.cv.kind));
}

static VmArg emit(Lower *L, VmOp op, VmArg a, VmArg b, double k)
{
  VmIns ins;
  memset(&ins, 0, sizeof ins);
  ins.op = (uint8_t)op;
  ins.dst = vm_temp(L->p);
  ins.a = a;
  ins.b = b;
  ins.k = k;
  if (vm_emit(&L->I->rt, L->p, &ins))
    L->arena.failed = 1;
  VmArg r = {VM_TEMP, ins.dst, 0};
  return r;
}

/* Folds an operation on two constants the way the kernel would compute it. */
static int fold(VmOp op, double x, double y, double *z)
{
  switch (op) {
  case VM_ADD: *z = x + y; return 1;
  case VM_SUB: *z = x - y; return 1;
  case VM_MUL: *z = x * y; return 1;
  case VM_DIV: *z = x / y; return isfinite(*z);
  case VM_MIN: *z = x < y ? x : y; return 1;
  case VM_MAX: *z = x > y ? x : y; return 1;
  case VM_NEG: *z = -x; return 1;
  default: return 0;
  }
}

static int fold_linear(Lower *L, VmOp op, VmArg a, VmArg b, VmArg *out);

static VmArg op2(Lower *L, VmOp op, VmArg a, VmArg b)
{
  double z;
  VmArg r;
  if (a.space == VM_CONST && b.space == VM_CONST && fold(op, a.k, b.k, &z))
    return kconst(z);
  /* x + 0, x - 0, x * 1, x / 1: no instruction. */
  if (((op == VM_ADD || op == VM_SUB) && b.space == VM_CONST && b.k == 0) ||
      ((op == VM_MUL || op == VM_DIV) && b.space == VM_CONST && b.k == 1))
    return a;
  if ((op == VM_ADD && a.space == VM_CONST && a.k == 0) ||
      (op == VM_MUL && a.space == VM_CONST && a.k == 1))
    return b;
  if (fold_linear(L, op, a, b, &r))
    return r;
  return emit(L, op, a, b, 0);
}

static VmArg op1(Lower *L, VmOp op, VmArg a)
{
  double z;
  if (a.space == VM_CONST && fold(op, a.k, 0, &z))
    return kconst(z);
  return emit(L, op, a, kconst(0), 0);
}

/* The instruction that last wrote temporary t, or NULL (temporaries are
 * written once, except the rows of a GEMM or a call, which are not
 * linear combinations anyway). */
static VmIns *producer(Lower *L, VmArg a)
{
  if (a.space != VM_TEMP)
    return NULL;
  for (int i = L->p->ncode - 1; i >= 0; i--) {
    VmIns *ins = &L->p->code[i];
    if (ins->dst == a.idx && ins->op != VM_GEMM && ins->op != VM_CALL)
      return ins;
  }
  return NULL;
}

#define LINCOMB_MAX 64

/* k0 + Σ coef[j]·src[j] as one VM_LINCOMB (chained when longer than the
 * kernel takes), with zero terms dropped and constant sources folded. */
static VmArg lincomb(Lower *L, double k0, const VmArg *src, const double *coef, int n)
{
  VmArg keep[LINCOMB_MAX];
  double kc[LINCOMB_MAX];
  int m = 0;
  VmArg acc = {VM_CONST, 0, 0};
  for (int j = 0; j < n; j++) {
    if (coef[j] == 0)
      continue;
    if (src[j].space == VM_CONST) {
      k0 += coef[j] * src[j].k;
      continue;
    }
    if (m == LINCOMB_MAX - 1 && j < n - 1) {
      /* full: close this part, it becomes the first term of the next */
      acc = lincomb(L, k0, keep, kc, m);
      k0 = 0;
      m = 0;
      keep[m] = acc;
      kc[m++] = 1;
    }
    keep[m] = src[j];
    kc[m++] = coef[j];
  }
  if (m == 0)
    return kconst(k0);
  if (m == 1 && k0 == 0 && kc[0] == 1)
    return keep[0];
  VmIns ins;
  memset(&ins, 0, sizeof ins);
  ins.op = VM_LINCOMB;
  ins.dst = vm_temp(L->p);
  ins.k = k0;
  ins.nsrc = (uint32_t)m;
  ins.srcs = vm_sources(&L->I->rt, L->p, keep, (size_t)m);
  ins.mat = vm_matrix(&L->I->rt, L->p, kc, 1, (size_t)m);
  if (!ins.srcs || !ins.mat || vm_emit(&L->I->rt, L->p, &ins))
    L->arena.failed = 1;
  return (VmArg){VM_TEMP, ins.dst, 0};
}

/* a ± b, a·k, a/k where a side is a linear combination: one new lincomb
 * instead of an extra pass (the old one is dropped if nothing else reads
 * it).  Returns 0 when the pattern does not apply. */
static int fold_linear(Lower *L, VmOp op, VmArg a, VmArg b, VmArg *out)
{
  VmIns *pa = producer(L, a), *pb = producer(L, b);
  int la = pa && pa->op == VM_LINCOMB, lb = pb && pb->op == VM_LINCOMB;
  VmArg src[2 * LINCOMB_MAX];
  double coef[2 * LINCOMB_MAX], k = 0, sa = 1, sb = op == VM_SUB ? -1 : 1;
  int n = 0;
  /* Products and quotients by a constant, sums and differences: all
   * linear in their column operands. */
  if ((op == VM_MUL || op == VM_DIV) && a.space != VM_CONST && b.space == VM_CONST &&
      b.k != 0 && isfinite(1 / b.k))
    sa = op == VM_MUL ? b.k : 1 / b.k;
  else if (op == VM_MUL && a.space == VM_CONST && b.space != VM_CONST)
    return fold_linear(L, VM_MUL, b, a, out);
  else if (op != VM_ADD && op != VM_SUB)
    return 0;
  const VmIns *parts[2] = {la ? pa : NULL, (op == VM_ADD || op == VM_SUB) && lb ? pb : NULL};
  VmArg plain[2] = {a, b};
  double scale[2] = {sa, (op == VM_ADD || op == VM_SUB) ? sb : 0};
  for (int t = 0; t < 2; t++) {
    if (scale[t] == 0)
      continue;
    if (parts[t]) {
      k += scale[t] * parts[t]->k;
      for (uint32_t j = 0; j < parts[t]->nsrc; j++) {
        src[n] = parts[t]->srcs[j];
        coef[n++] = scale[t] * parts[t]->mat[j];
      }
    } else if (plain[t].space == VM_CONST) {
      k += scale[t] * plain[t].k;
    } else {
      src[n] = plain[t];
      coef[n++] = scale[t];
    }
  }
  *out = lincomb(L, k, src, coef, n);
  return 1;
}

/* ------------------------------------------------------------ names */

static Binding *captured(Lower *L, const char *name)
{
  return scope_find(&L->tpl->captured, name);
}

static int lower_name(Lower *L, const Expr *e, LVal *out)
{
  for (int i = L->nenv - 1; i >= 0; i--)
    if (strcmp(L->env[i].name, e->u.name) == 0) {
      *out = L->env[i].v;
      return 0;
    }
  Binding *b = captured(L, e->u.name);
  if (b) {
    *out = lconst(L, val_copy(b->v));
    return 0;
  }
  int n;
  if (builtin_lookup(e->u.name, &n))
    return lerr(L, e, "'%s' is a builtin function; call it, as in %s(...)", e->u.name,
                e->u.name);
  return lerr(L, e, "unknown name '%s'", e->u.name);
}

static int bind(Lower *L, const char *name, LVal v)
{
  if (L->nenv == L->capenv) {
    int cap = L->capenv ? L->capenv * 2 : 8;
    Bind *b = rt_realloc(&L->I->rt, L->env, (size_t)cap * sizeof *b);
    if (!b)
      return 1;
    L->env = b;
    L->capenv = cap;
  }
  L->env[L->nenv++] = (Bind){name, v};
  return 0;
}

/* ------------------------------------------------------------ arithmetic */

static VmOp vm_of(Op op)
{
  switch (op) {
  case OP_ADD: return VM_ADD;
  case OP_SUB: return VM_SUB;
  case OP_MUL: return VM_MUL;
  case OP_DIV: return VM_DIV;
  case OP_POW: return VM_POW;
  case OP_LT: return VM_LT;
  case OP_LE: return VM_LE;
  case OP_GT: return VM_GT;
  case OP_GE: return VM_GE;
  case OP_EQ: return VM_EQ;
  case OP_NE: return VM_NE;
  case OP_AND: return VM_AND;
  case OP_OR: return VM_OR;
  default: return VM_MOV;
  }
}

/* x ^ k for a constant k: small integer powers become multiplications and
 * k = 1/2 a square root; anything else is pow. */
static VmArg power(Lower *L, VmArg x, VmArg k)
{
  if (k.space == VM_CONST) {
    if (k.k == 0.5)
      return op1(L, VM_SQRT, x);
    if (k.k == floor(k.k) && fabs(k.k) <= 8 && k.k != 0) {
      int m = (int)fabs(k.k);
      VmArg acc = x, base = x;
      for (int i = 1; i < m; i++)
        acc = op2(L, VM_MUL, acc, base);
      return k.k > 0 ? acc : op2(L, VM_DIV, kconst(1), acc);
    }
  }
  return op2(L, VM_POW, x, k);
}

static int elementwise(Lower *L, const Expr *e, Op op, LVal a, LVal b, LVal *out)
{
  int na, nb;
  VmArg *oa, *ob;
  if (a.is_const && a.cv.kind == V_MAT)
    return lerr(L, e, "a matrix combines with per-sample values only through '@'");
  if (b.is_const && b.cv.kind == V_MAT)
    return lerr(L, e, "a matrix combines with per-sample values only through '@'");
  if (components(L, e, a, &na, &oa) || components(L, e, b, &nb, &ob))
    return 1;
  int a_vec = a.is_const ? a.cv.kind == V_VEC : a.is_vec;
  int b_vec = b.is_const ? b.cv.kind == V_VEC : b.is_vec;
  if (na < 0 || nb < 0)
    return need_dim(L, na < 0 && b_vec ? nb : nb < 0 && a_vec ? na : 0);
  if (a_vec && b_vec && na != nb)
    return lerr(L, e, "shapes do not match for '%s': vectors of length %d and %d",
                ast_op_name(op), na, nb);
  int n = a_vec ? na : nb;
  *out = lcols(L, n, a_vec || b_vec);
  if (n && !out->ops)
    return oom(L, e);
  for (int i = 0; i < n; i++) {
    VmArg x = oa[a_vec ? i : 0], y = ob[b_vec ? i : 0];
    out->ops[i] = op == OP_POW ? power(L, x, y) : op2(L, vm_of(op), x, y);
  }
  return 0;
}

/* Gathers per-sample components into consecutive columns of one space, so
 * that a GEMM or a call can read them as a block. */
static int contiguous(Lower *L, const Expr *e, VmArg *ops, int n, VmArg *first)
{
  int ok = n > 0 && ops[0].space != VM_CONST;
  for (int i = 1; ok && i < n; i++)
    ok = ops[i].space == ops[0].space && ops[i].idx == ops[0].idx + (uint32_t)i;
  if (ok) {
    *first = ops[0];
    return 0;
  }
  uint32_t base = L->p->ntemps;
  L->p->ntemps += (uint32_t)n;
  for (int i = 0; i < n; i++) {
    VmIns ins;
    memset(&ins, 0, sizeof ins);
    ins.op = VM_MOV;
    ins.dst = base + (uint32_t)i;
    ins.a = ops[i];
    if (vm_emit(&L->I->rt, L->p, &ins))
      return oom(L, e);
  }
  *first = (VmArg){VM_TEMP, base, 0};
  return 0;
}

/* out = M x for a constant K×m matrix (row-major) and m per-sample
 * components: one GEMM when large, else K axpy chains. */
static int matvec(Lower *L, const Expr *e, const double *M, int K, int m, VmArg *x, LVal *out)
{
  *out = lcols(L, K, 1);
  if (!out->ops)
    return oom(L, e);
  int all_cols = 1;
  for (int j = 0; j < m; j++)
    all_cols &= x[j].space != VM_CONST;
  if ((long)K * m > GEMM_MIN && all_cols) {
    VmIns ins;
    memset(&ins, 0, sizeof ins);
    if (contiguous(L, e, x, m, &ins.a))
      return 1;
    ins.op = VM_GEMM;
    ins.rows = (uint32_t)K;
    ins.cols = (uint32_t)m;
    ins.mat = vm_matrix(&L->I->rt, L->p, M, (size_t)K, (size_t)m);
    ins.dst = L->p->ntemps;
    L->p->ntemps += (uint32_t)K;
    if (!ins.mat || vm_emit(&L->I->rt, L->p, &ins))
      return oom(L, e);
    for (int k = 0; k < K; k++)
      out->ops[k] = (VmArg){VM_TEMP, ins.dst + (uint32_t)k, 0};
    return 0;
  }
  for (int k = 0; k < K; k++)
    out->ops[k] = lincomb(L, 0, x, M + (size_t)k * m, m);
  return 0;
}

/* Σ a_i b_i: constant factors become lincomb coefficients; products of
 * two per-sample columns are multiplied first. */
static int dot_ops(Lower *L, VmArg *a, VmArg *b, int n, VmArg *out)
{
  VmArg *src = arena_alloc(&L->arena, (size_t)(n ? n : 1) * sizeof *src);
  double *coef = arena_alloc(&L->arena, (size_t)(n ? n : 1) * sizeof *coef);
  if (!src || !coef)
    return 1;
  for (int i = 0; i < n; i++) {
    if (a[i].space == VM_CONST) {
      src[i] = b[i];
      coef[i] = a[i].k;
    } else if (b[i].space == VM_CONST) {
      src[i] = a[i];
      coef[i] = b[i].k;
    } else {
      src[i] = emit(L, VM_MUL, a[i], b[i], 0);
      coef[i] = 1;
    }
  }
  *out = lincomb(L, 0, src, coef, n);
  return 0;
}

static int matmul(Lower *L, const Expr *e, LVal a, LVal b, LVal *out)
{
  if (a.is_const && a.cv.kind == V_MAT) {
    const VMat *M = as_mat(a.cv);
    int m;
    VmArg *x;
    if (components(L, e, b, &m, &x))
      return 1;
    if (m < 0)
      return need_dim(L, (int)M->cols);
    if ((size_t)m != M->cols)
      return lerr(L, e, "cannot multiply a %zu×%zu matrix by a vector of length %d", M->rows,
                  M->cols, m);
    return matvec(L, e, M->v, (int)M->rows, m, x, out);
  }
  if (b.is_const && b.cv.kind == V_MAT) {
    /* v M = Mᵀ v */
    const VMat *M = as_mat(b.cv);
    int m;
    VmArg *x;
    if (components(L, e, a, &m, &x))
      return 1;
    if (m < 0)
      return need_dim(L, (int)M->rows);
    if ((size_t)m != M->rows)
      return lerr(L, e, "cannot multiply a vector of length %d by a %zu×%zu matrix", m,
                  M->rows, M->cols);
    double *T = arena_alloc(&L->arena, M->rows * M->cols * sizeof *T);
    if (!T)
      return oom(L, e);
    for (size_t i = 0; i < M->rows; i++)
      for (size_t j = 0; j < M->cols; j++)
        T[j * M->rows + i] = M->v[i * M->cols + j];
    return matvec(L, e, T, (int)M->cols, m, x, out);
  }
  int na, nb;
  VmArg *oa, *ob;
  if (components(L, e, a, &na, &oa) || components(L, e, b, &nb, &ob))
    return 1;
  if (na < 0 || nb < 0)
    return need_dim(L, na < 0 ? nb : na);
  if (na != nb || !(a.is_const ? a.cv.kind == V_VEC : a.is_vec))
    return lerr(L, e, "'@' of per-sample values needs two vectors of the same length");
  *out = lcols(L, 1, 0);
  if (!out->ops)
    return oom(L, e);
  return dot_ops(L, oa, ob, na, &out->ops[0]);
}

static int scalar_of(Lower *L, const Expr *e, LVal v, VmArg *a, const char *what)
{
  int n = 0;
  VmArg *ops;
  if (components(L, e, v, &n, &ops))
    return 1;
  if (n < 0)
    return need_dim(L, 0);
  if (n != 1 || (v.is_const ? v.cv.kind == V_VEC : v.is_vec))
    return lerr(L, e, "%s needs a number per sample, not a vector", what);
  *a = ops[0];
  return 0;
}

static int lower_binary(Lower *L, const Expr *e, LVal *out)
{
  LVal a, b;
  int st = lower(L, e->u.bin.a, &a);
  if (st)
    return st;
  if ((st = lower(L, e->u.bin.b, &b)))
    return st;
  Op op = e->u.bin.op;
  if (a.is_const && b.is_const) {
    Value v;
    if (op == OP_AND || op == OP_OR) {
      if (a.cv.kind != V_BOOL || b.cv.kind != V_BOOL)
        return lerr(L, e, "'%s' needs bools", ast_op_name(op));
      *out = lconst(L, val_bool(op == OP_AND ? a.cv.u.b && b.cv.u.b : a.cv.u.b || b.cv.u.b));
      return 0;
    }
    if (arith_binary(L->I, e, op, a.cv, b.cv, &v))
      return 1;
    *out = lconst(L, v);
    return 0;
  }
  if (op == OP_MATMUL)
    return matmul(L, e, a, b, out);
  if (op >= OP_EQ && op <= OP_OR) {
    VmArg x, y;
    if ((st = scalar_of(L, e->u.bin.a, a, &x, "a comparison")) ||
        (st = scalar_of(L, e->u.bin.b, b, &y, "a comparison")))
      return st;
    *out = lcols(L, 1, 0);
    if (!out->ops)
      return oom(L, e);
    out->ops[0] = op2(L, vm_of(op), x, y);
    return 0;
  }
  return elementwise(L, e, op, a, b, out);
}

static int lower_unary(Lower *L, const Expr *e, LVal *out)
{
  LVal a;
  int st = lower(L, e->u.un.a, &a);
  if (st)
    return st;
  if (a.is_const) {
    Value v;
    if (arith_unary(L->I, e, e->u.un.op, a.cv, &v))
      return 1;
    *out = lconst(L, v);
    return 0;
  }
  if (a.n < 0)
    return need_dim(L, 0);
  *out = lcols(L, a.n, a.is_vec);
  if (a.n && !out->ops)
    return oom(L, e);
  for (int i = 0; i < a.n; i++)
    out->ops[i] = op1(L, e->u.un.op == OP_NOT ? VM_NOT : VM_NEG, a.ops[i]);
  return 0;
}

/* ------------------------------------------------------------ lists, index */

static int lower_list(Lower *L, const Expr *e, LVal *out)
{
  int n = e->u.list.n, all_const = 1, st;
  LVal *items = arena_alloc(&L->arena, (size_t)(n ? n : 1) * sizeof *items);
  if (!items)
    return oom(L, e);
  for (int i = 0; i < n; i++) {
    if ((st = lower(L, e->u.list.v[i], &items[i])))
      return st;
    all_const &= items[i].is_const;
  }
  if (all_const) {
    /* Fold with the top-level list rules (numbers make a vector, ...). */
    Value *vals = arena_alloc(&L->arena, (size_t)(n ? n : 1) * sizeof *vals), v;
    if (!vals)
      return oom(L, e);
    for (int i = 0; i < n; i++)
      vals[i] = items[i].cv;
    if (eval_build_list(L->I, e, vals, (size_t)n, &v))
      return L->quiet ? lerr(L, e, "cannot build this list") : 1;
    *out = lconst(L, v);
    return 0;
  }
  *out = lcols(L, n, 1);
  if (n && !out->ops)
    return oom(L, e);
  for (int i = 0; i < n; i++)
    if ((st = scalar_of(L, e->u.list.v[i], items[i], &out->ops[i], "an entry of a per-sample vector")))
      return st;
  return 0;
}

static int const_index(Lower *L, const Expr *ie, int len, const char *what, int *out)
{
  LVal v;
  int st = lower(L, ie, &v);
  if (st)
    return st;
  if (!v.is_const || v.cv.kind != V_NUM)
    return lerr(L, ie, "an index inside %s must be a constant number", L->tpl->what);
  double x = v.cv.u.num;
  if (x != floor(x) || x < 0)
    return lerr(L, ie, "an index must be a whole number >= 0, not %g", x);
  if (len >= 0 && x >= len)
    return lerr(L, ie, "index %g is out of bounds for %s of length %d (indices are 0 to %d)",
                x, what, len, len - 1);
  if (x >= INT_MAX)      /* the probe's input has no length yet: bound the cast */
    return lerr(L, ie, "index %g is too large for any input", x);
  *out = (int)x;
  return 0;
}

static int lower_index(Lower *L, const Expr *e, LVal *out)
{
  LVal obj;
  int st = lower(L, e->u.index.obj, &obj);
  if (st)
    return st;
  for (int k = 0; k < e->u.index.idx.n; k++) {
    const Expr *ie = e->u.index.idx.v[k];
    int i = 0;
    if (obj.is_const) {
      /* Constant indexing with the top level's rules and messages. */
      LVal iv;
      Value v;
      if ((st = lower(L, ie, &iv)))
        return st;
      if (!iv.is_const || iv.cv.kind != V_NUM)
        return lerr(L, ie, "an index inside %s must be a constant number", L->tpl->what);
      if (eval_index_value(L->I, ie, obj.cv, iv.cv.u.num, &v))
        return L->quiet ? lerr(L, ie, "index out of bounds") : 1;
      obj = lconst(L, v);
      continue;
    }
    if (!obj.is_vec)
      return lerr(L, ie, "cannot index a number");
    if ((st = const_index(L, ie, obj.n, obj.n < 0 || L->dim == 0 ? "x" : "the inputs", &i)))
      return st;
    if (obj.n < 0) {     /* the probed input of unknown length */
      if (i > L->max_index)
        L->max_index = i;
      *out = lcols(L, 1, 0);
      if (!out->ops)
        return oom(L, e);
      out->ops[0] = (VmArg){VM_INPUT, (uint32_t)i, 0};
      obj = *out;
      continue;
    }
    if (obj.ops[0].space == VM_INPUT && (int)obj.ops[obj.n - 1].idx == obj.n - 1 &&
        i > L->max_index)
      L->max_index = i;
    VmArg pick = obj.ops[i];
    obj = lcols(L, 1, 0);
    if (!obj.ops)
      return oom(L, e);
    obj.ops[0] = pick;
  }
  *out = obj;
  return 0;
}

static int lower_field(Lower *L, const Expr *e, LVal *out)
{
  LVal obj;
  int st = lower(L, e->u.field.obj, &obj);
  if (st)
    return st;
  if (!obj.is_const)
    return lerr(L, e, "per-sample values have no fields");
  Value v;
  if (field_of(L->I, e, obj.cv, &v))
    return L->quiet ? lerr(L, e, "no such field") : 1;
  *out = lconst(L, v);
  return 0;
}

/* ------------------------------------------------------------ if */

static int lower_if(Lower *L, const Expr *e, LVal *out)
{
  LVal c;
  int st = lower(L, e->u.cond.c, &c);
  if (st)
    return st;
  if (c.is_const) {
    if (c.cv.kind != V_BOOL)
      return lerr(L, e->u.cond.c, "the condition of 'if' must be a bool");
    return lower(L, c.cv.u.b ? e->u.cond.a : e->u.cond.b, out);
  }
  VmArg cond;
  LVal a, b;
  if ((st = scalar_of(L, e->u.cond.c, c, &cond, "the condition of 'if'")) ||
      (st = lower(L, e->u.cond.a, &a)) || (st = lower(L, e->u.cond.b, &b)))
    return st;
  int na, nb;
  VmArg *oa, *ob;
  if (components(L, e, a, &na, &oa) || components(L, e, b, &nb, &ob))
    return 1;
  if (na < 0 || nb < 0)
    return need_dim(L, na < 0 ? nb : na);
  if (na != nb)
    return lerr(L, e, "the two branches of 'if' give %d and %d values per sample", na, nb);
  *out = lcols(L, na, na > 1 || (a.is_const ? a.cv.kind == V_VEC : a.is_vec));
  if (na && !out->ops)
    return oom(L, e);
  for (int i = 0; i < na; i++) {
    VmIns ins;
    memset(&ins, 0, sizeof ins);
    ins.op = VM_SELECT;
    ins.dst = vm_temp(L->p);
    ins.c = cond;
    ins.a = oa[i];
    ins.b = ob[i];
    if (vm_emit(&L->I->rt, L->p, &ins))
      return oom(L, e);
    out->ops[i] = (VmArg){VM_TEMP, ins.dst, 0};
  }
  return 0;
}

/* ------------------------------------------------------------ calls */

static const struct { const char *name; VmOp op; } unary_builtins[] = {
    {"sin", VM_SIN}, {"cos", VM_COS}, {"tan", VM_TAN}, {"exp", VM_EXP}, {"log", VM_LOG},
    {"log1p", VM_LOG1P}, {"sqrt", VM_SQRT}, {"abs", VM_ABS}, {"tanh", VM_TANH},
    {"sigmoid", VM_SIGMOID}, {"softplus", VM_SOFTPLUS}, {"erf", VM_ERF}};

static int map_unary(Lower *L, const Expr *e, VmOp op, LVal a, LVal *out)
{
  int n;
  VmArg *ops;
  if (components(L, e, a, &n, &ops))
    return 1;
  if (n < 0)
    return need_dim(L, 0);
  *out = lcols(L, n, a.is_vec);
  if (n && !out->ops)
    return oom(L, e);
  for (int i = 0; i < n; i++)
    out->ops[i] = op1(L, op, ops[i]);
  return 0;
}

/* sum, norm, min/max of one vector, dot, len: reductions over components. */
static int reduce(Lower *L, const Expr *e, const char *name, LVal *args, int nargs, LVal *out)
{
  int n;
  VmArg *ops, r;
  if (components(L, e, args[0], &n, &ops))
    return 1;
  if (n < 0 && strcmp(name, "dot") == 0 && nargs == 2) {
    /* dot(x, [1, 2]): the other operand's length fixes the dimension. */
    int m;
    VmArg *o2;
    if (components(L, e, args[1], &m, &o2))
      return 1;
    return need_dim(L, m > 0 ? m : 0);
  }
  if (n < 0)
    return need_dim(L, 0);
  if (strcmp(name, "len") == 0) {
    *out = lconst(L, val_num(args[0].is_vec ? n : 1));
    return 0;
  }
  if (strcmp(name, "dot") == 0) {
    int m;
    VmArg *o2;
    if (components(L, e, args[1], &m, &o2))
      return 1;
    if (m < 0)
      return need_dim(L, n);
    if (m != n)
      return lerr(L, e, "dot() of vectors of length %d and %d", n, m);
    dot_ops(L, ops, o2, n, &r);
  } else if (strcmp(name, "norm") == 0) {
    dot_ops(L, ops, ops, n, &r);
    r = op1(L, VM_SQRT, r);
  } else if (strcmp(name, "sum") == 0) {
    r = kconst(0);
    for (int i = 0; i < n; i++)
      r = op2(L, VM_ADD, r, ops[i]);
  } else {
    VmOp op = strcmp(name, "min") == 0 ? VM_MIN : VM_MAX;
    if (n == 0)
      return lerr(L, e, "%s() of an empty vector", name);
    r = ops[0];
    for (int i = 1; i < n; i++)
      r = op2(L, op, r, ops[i]);
  }
  (void)nargs;
  *out = lcols(L, 1, 0);
  if (!out->ops)
    return oom(L, e);
  out->ops[0] = r;
  return 0;
}

/* min(a, b) and max(a, b) element-wise, with broadcasting (reduce() does
 * the one-argument forms). */
static int minmax2(Lower *L, const Expr *e, VmOp op, LVal a, LVal b, LVal *out)
{
  int na, nb;
  VmArg *oa, *ob;
  if (components(L, e, a, &na, &oa) || components(L, e, b, &nb, &ob))
    return 1;
  int a_vec = a.is_const ? a.cv.kind == V_VEC : a.is_vec;
  int b_vec = b.is_const ? b.cv.kind == V_VEC : b.is_vec;
  if (na < 0 || nb < 0)
    return need_dim(L, na < 0 && b_vec ? nb : nb < 0 && a_vec ? na : 0);
  if (a_vec && b_vec && na != nb)
    return lerr(L, e, "%s() of vectors of length %d and %d", op == VM_MIN ? "min" : "max",
                na, nb);
  int n = a_vec ? na : nb;
  *out = lcols(L, n, a_vec || b_vec);
  if (n && !out->ops)
    return oom(L, e);
  for (int i = 0; i < n; i++)
    out->ops[i] = op2(L, op, oa[a_vec ? i : 0], ob[b_vec ? i : 0]);
  return 0;
}

static int call_math(Lower *L, const Expr *e, const Builtin *b, LVal *args, int nargs,
                     LVal *out)
{
  for (size_t k = 0; k < sizeof unary_builtins / sizeof unary_builtins[0]; k++)
    if (strcmp(b->name, unary_builtins[k].name) == 0)
      return map_unary(L, e, unary_builtins[k].op, args[0], out);
  if ((strcmp(b->name, "min") == 0 || strcmp(b->name, "max") == 0) && nargs == 2)
    return minmax2(L, e, b->name[1] == 'i' ? VM_MIN : VM_MAX, args[0], args[1], out);
  const char *red[] = {"sum", "norm", "min", "max", "dot", "len"};
  for (size_t k = 0; k < sizeof red / sizeof red[0]; k++)
    if (strcmp(b->name, red[k]) == 0)
      return reduce(L, e, b->name, args, nargs, out);
  return lerr(L, e, "%s() needs constant arguments inside %s", b->name, L->tpl->what);
}

/* Binds call arguments to a builtin's parameter slots (positional, then by
 * name); the checker has already reported unknown names. */
static int builtin_slots(Lower *L, const Expr *e, const Builtin *b, const Expr **slots)
{
  int pos = 0;
  for (int k = 0; k < e->u.call.args.n; k++) {
    const Arg *a = &e->u.call.args.v[k];
    int slot = a->name ? builtin_param(b, a->name) : pos++;
    if (slot < 0 || slot >= b->nparams)
      return lerr(L, a->value, "bad argument to %s()", b->name);
    slots[slot] = a->value;
  }
  return 0;
}

static int call_builtin(Lower *L, const Expr *e, const Builtin *b, LVal *out)
{
  const Expr *slots[MAX_PARAMS] = {0};
  LVal args[MAX_PARAMS];
  int st, nargs = 0, all_const = 1;
  if (builtin_slots(L, e, b, slots))
    return 1;
  for (int i = 0; i < b->nparams; i++) {
    if (!slots[i])
      continue;
    if ((st = lower(L, slots[i], &args[i])))
      return st;
    all_const &= args[i].is_const;
    nargs = i + 1;
  }
  if (all_const) {
    Value vals[MAX_PARAMS];
    for (int i = 0; i < b->nparams; i++)
      vals[i] = slots[i] ? args[i].cv : val_nil();
    Value v;
    if (eval_builtin_values(L->I, b, e, vals, slots, &v))
      return L->quiet ? lerr(L, e, "%s() failed", b->name) : 1;
    *out = lconst(L, v);
    return 0;
  }
  return call_math(L, e, b, args, nargs, out);
}

/* A user fn: its body is lowered in place with the parameters bound to the
 * argument values (no call at run time). */
static int inline_fn(Lower *L, const Expr *e, const Stmt *def, LVal *out)
{
  if (e->u.call.args.n != def->params.n)
    return lerr(L, e, "%s() takes %d argument%s but %d %s given", def->name, def->params.n,
                def->params.n == 1 ? "" : "s", e->u.call.args.n,
                e->u.call.args.n == 1 ? "was" : "were");
  if (L->depth >= MAX_INLINE)
    return lerr(L, e, "%s() calls itself too deeply to run per sample (recursion is only "
                "possible outside per-sample code)", def->name);
  LVal *args = arena_alloc(&L->arena, (size_t)(def->params.n ? def->params.n : 1) * sizeof *args);
  if (!args)
    return oom(L, e);
  int st;
  for (int i = 0; i < def->params.n; i++)
    if ((st = lower(L, e->u.call.args.v[i].value, &args[i])))
      return st;
  int mark = L->nenv;
  for (int i = 0; i < def->params.n; i++)
    if (bind(L, def->params.v[i].name, args[i]))
      return oom(L, e);
  L->depth++;
  st = lower(L, def->value, out);
  L->depth--;
  L->nenv = mark;
  return st;
}


/* A VM call of the block function fn (the reference is consumed: the
 * program holds its own) on the n inputs in args; its out_dim results
 * become *out, a vector when as_vec. */
static int emit_call(Lower *L, const Expr *e, BlockFn *fn, VmArg *args, int n, int as_vec,
                     LVal *out)
{
  VmIns ins;
  memset(&ins, 0, sizeof ins);
  ins.op = VM_CALL;
  ins.fn = fn;
  int st = contiguous(L, e, args, n, &ins.a);
  ins.dst = L->p->ntemps;
  L->p->ntemps += (uint32_t)fn->out_dim;
  if (!st && vm_emit(&L->I->rt, L->p, &ins))
    st = oom(L, e);
  *out = lcols(L, fn->out_dim, as_vec);
  for (int k = 0; !st && k < fn->out_dim; k++)
    out->ops[k] = (VmArg){VM_TEMP, ins.dst + (uint32_t)k, 0};
  blockfn_unref(&L->I->rt, fn);
  return st;
}

/* An expert, router or target called in a body: affine and linear ones are
 * expanded; expression ones become a VM call of their block function. */
static int call_object(Lower *L, const Expr *e, Value obj, LVal *out)
{
  if (e->u.call.args.n != 1)
    return lerr(L, e, "%s takes one argument (x)", kind_article(obj.kind));
  LVal a;
  int st = lower(L, e->u.call.args.v[0].value, &a), m;
  VmArg *x;
  if (st)
    return st;
  if (components(L, e, a, &m, &x))
    return 1;
  if (m < 0)
    return need_dim(L, 0);
  if (obj.kind == V_EXPERT && ((Expert *)obj.u.p)->kind == EXPERT_AFFINE) {
    const Expert *ex = obj.u.p;
    if (ex->dim != m)
      return lerr(L, e, "this affine expert takes %d inputs, not %d", ex->dim, m);
    LVal r;
    if (matvec(L, e, ex->beta, 1, m, x, &r))
      return 1;
    r.is_vec = 0;
    r.ops[0] = op2(L, VM_ADD, r.ops[0], kconst(ex->c));
    *out = r;
    return 0;
  }
  if (obj.kind == V_ROUTER && ((Router *)obj.u.p)->kind == ROUTER_LINEAR) {
    const Router *r = obj.u.p;
    if (r->dim != m)
      return lerr(L, e, "this router takes %d inputs, not %d", r->dim, m);
    if (matvec(L, e, r->W, r->K, m, x, out))
      return 1;
    for (int k = 0; k < r->K; k++)
      out->ops[k] = op2(L, VM_ADD, out->ops[k], kconst(r->b[k]));
    return 0;
  }
  BlockFn *fn = obj.kind == V_EXPERT   ? ((Expert *)obj.u.p)->fn
                : obj.kind == V_ROUTER ? ((Router *)obj.u.p)->fn
                : obj.kind == V_TARGET ? ((Target *)obj.u.p)->fn
                                       : NULL;
  if (!fn)
    return lerr(L, e, "%s cannot be called per sample", kind_article(obj.kind));
  BlockFn *at;
  if (blockfn_at_dim(&L->I->rt, fn, m, &at)) {
    int r = lerr(L, e, "%s", L->I->rt.msg);
    rt_clear(&L->I->rt);
    return r;
  }
  return emit_call(L, e, at, x, m, at->out_dim > 1, out);
}

/* An extern (or host function) called in a body: a VM call of a block
 * function that calls C once per sample (or once per block). */
static int call_foreign(Lower *L, const Expr *e, Foreign *F, LVal *out)
{
  int na = e->u.call.args.n, np = ffi_nparams(F), widths[FFI_MAX_PARAMS], total = 0, st;
  if (na != np)
    return lerr(L, e, "%s() takes %d argument%s but %d %s given", ffi_name(F), np,
                np == 1 ? "" : "s", na, na == 1 ? "was" : "were");
  if (np == 0)
    return lerr(L, e, "%s() takes no arguments, so it cannot vary per sample; call it "
                "outside, as in let c = %s()", ffi_name(F), ffi_name(F));
  VmArg *ops[FFI_MAX_PARAMS];
  for (int i = 0; i < na; i++) {
    LVal a;
    const Expr *ae = e->u.call.args.v[i].value;
    char msg[300];
    if ((st = lower(L, ae, &a)) || (st = components(L, ae, a, &widths[i], &ops[i])))
      return st;
    int is_vec = a.is_const ? a.cv.kind == V_VEC : a.is_vec;
    if (ffi_arg_mismatch(F, i, is_vec, widths[i], msg, sizeof msg))
      return lerr(L, ae, "%s", msg);
    if (widths[i] < 0)           /* the whole input: a declared size fixes it */
      return need_dim(L, ffi_param_dim(F, i));
    total += widths[i];
  }
  VmArg *cat = arena_alloc(&L->arena, (size_t)(total ? total : 1) * sizeof *cat);
  if (!cat)
    return oom(L, e);
  for (int i = 0, k = 0; i < na; k += widths[i], i++)
    memcpy(cat + k, ops[i], (size_t)widths[i] * sizeof *cat);
  BlockFn *fn;
  if (ffi_blockfn(&L->I->rt, F, widths, &fn))
    return oom(L, e);
  return emit_call(L, e, fn, cat, total, ffi_returns_vec(F), out);
}

static int lower_call(Lower *L, const Expr *e, LVal *out)
{
  const Expr *fn = e->u.call.fn;
  if (fn->kind != E_NAME)
    return lerr(L, fn, "only named functions can be called");
  for (int i = L->nenv - 1; i >= 0; i--)
    if (strcmp(L->env[i].name, fn->u.name) == 0)
      return lerr(L, fn, "'%s' is a value, not a function", fn->u.name);
  Binding *b = captured(L, fn->u.name);
  if (b && ffi_is_foreign(b->v))
    return call_foreign(L, e, as_func(b->v)->ext, out);
  if (b && b->v.kind == V_FUNC)
    return inline_fn(L, e, as_func(b->v)->def, out);
  if (b && (b->v.kind == V_EXPERT || b->v.kind == V_ROUTER || b->v.kind == V_TARGET))
    return call_object(L, e, b->v, out);
  if (b)
    return lerr(L, fn, "'%s' is %s, not a function", fn->u.name, kind_article(b->v.kind));
  const Builtin *bi = builtin_choose(fn->u.name, V_NIL, &e->u.call.args);
  if (!bi)
    return lerr(L, fn, "unknown name '%s'", fn->u.name);
  return call_builtin(L, e, bi, out);
}

static int lower_node(Lower *L, const Expr *e, LVal *out)
{
  switch (e->kind) {
  case E_NUM: *out = lconst(L, val_num(e->u.num)); return 0;
  case E_BOOL: *out = lconst(L, val_bool(e->u.boolean)); return 0;
  case E_STR: return lerr(L, e, "strings cannot be used inside %s", L->tpl->what);
  case E_NAME: return lower_name(L, e, out);
  case E_LIST: return lower_list(L, e, out);
  case E_CALL: return lower_call(L, e, out);
  case E_INDEX: return lower_index(L, e, out);
  case E_FIELD: return lower_field(L, e, out);
  case E_UNARY: return lower_unary(L, e, out);
  case E_BINARY: return lower_binary(L, e, out);
  case E_IF: return lower_if(L, e, out);
  }
  return lerr(L, e, "cannot lower this expression");
}

/* Every node goes through here, so a constant lost to an allocation
 * failure (lconst) is an error at the node that made it, before any
 * parent can use it. */
static int lower(Lower *L, const Expr *e, LVal *out)
{
  if (!e)
    return 1;
  int st = lower_node(L, e, out);
  if (!st && L->oom)
    st = lerr(L, e, "out of memory");
  return st;
}

/* ------------------------------------------------------------ capture */

static void capture_expr(Interp *I, Template *t, const Expr *e, const ParamList *bound);

static int is_bound(const ParamList *p, const char *name)
{
  for (int i = 0; p && i < p->n; i++)
    if (strcmp(p->v[i].name, name) == 0)
      return 1;
  return 0;
}

/* Copies the value of a free name into the template (once), and follows
 * the bodies of functions it names. */
static void capture_name(Interp *I, Template *t, const char *name, const ParamList *bound)
{
  if (t->oom || is_bound(bound, name) || scope_find(&t->captured, name))
    return;
  Binding *b = interp_lookup(I, name);
  if (!b)
    return;
  /* Binding before descending is what ends recursion through recursive
   * functions, so a failed bind must stop the walk. */
  if (scope_bind(I, &t->captured, name, val_copy(b->v), b->pos)) {
    t->oom = 1;
    return;
  }
  if (b->v.kind == V_FUNC && as_func(b->v)->def)
    capture_expr(I, t, as_func(b->v)->def->value, &as_func(b->v)->def->params);
}

static void capture_expr(Interp *I, Template *t, const Expr *e, const ParamList *bound)
{
  if (!e)
    return;
  switch (e->kind) {
  case E_NAME: capture_name(I, t, e->u.name, bound); break;
  case E_LIST:
    for (int i = 0; i < e->u.list.n; i++)
      capture_expr(I, t, e->u.list.v[i], bound);
    break;
  case E_CALL:
    capture_expr(I, t, e->u.call.fn, bound);
    for (int i = 0; i < e->u.call.args.n; i++)
      capture_expr(I, t, e->u.call.args.v[i].value, bound);
    break;
  case E_INDEX:
    capture_expr(I, t, e->u.index.obj, bound);
    for (int i = 0; i < e->u.index.idx.n; i++)
      capture_expr(I, t, e->u.index.idx.v[i], bound);
    break;
  case E_FIELD: capture_expr(I, t, e->u.field.obj, bound); break;
  case E_UNARY: capture_expr(I, t, e->u.un.a, bound); break;
  case E_BINARY:
    capture_expr(I, t, e->u.bin.a, bound);
    capture_expr(I, t, e->u.bin.b, bound);
    break;
  case E_IF:
    capture_expr(I, t, e->u.cond.c, bound);
    capture_expr(I, t, e->u.cond.a, bound);
    capture_expr(I, t, e->u.cond.b, bound);
    break;
  default: break;
  }
}

/* ------------------------------------------------------------ compiling */

static void mark(unsigned char *live, VmArg a)
{
  if (a.space == VM_TEMP)
    live[a.idx] = 1;
}

/* Removes instructions whose results nothing reads (left behind when a
 * linear combination was folded into a bigger one), walking backwards from
 * the outputs.  The flag array lives on the stack for small programs. */
static void drop_dead(Rt *rt, VmProg *p)
{
  unsigned char small[4096], *live = small;
  if (p->ntemps > sizeof small)
    return;                       /* large programs keep everything */
  memset(live, 0, p->ntemps);
  for (int k = 0; k < p->out_dim; k++)
    mark(live, p->out[k]);
  for (int i = p->ncode - 1; i >= 0; i--) {
    VmIns *ins = &p->code[i];
    uint32_t width = ins->op == VM_GEMM ? ins->rows : ins->op == VM_CALL ? (uint32_t)ins->fn->out_dim : 1;
    int used = 0;
    for (uint32_t r = 0; r < width; r++)
      used |= live[ins->dst + r];
    if (!used) {
      ins->op = VM_NOPS;          /* marked dead; compacted below */
      continue;
    }
    mark(live, ins->a);
    mark(live, ins->b);
    mark(live, ins->c);
    if (ins->op == VM_GEMM || ins->op == VM_CALL) {
      uint32_t n = ins->op == VM_GEMM ? ins->cols : (uint32_t)ins->fn->in_dim;
      for (uint32_t j = 0; j < n; j++)
        mark(live, (VmArg){ins->a.space, ins->a.idx + j, 0});
    }
    for (uint32_t j = 0; j < ins->nsrc; j++)
      mark(live, ins->srcs[j]);
  }
  int k = 0;
  for (int i = 0; i < p->ncode; i++)
    if (p->code[i].op != VM_NOPS)
      p->code[k++] = p->code[i];
    else
      blockfn_unref(rt, p->code[i].fn);   /* a dead call drops its reference */
  p->ncode = k;
}

static void lower_free(Lower *L)
{
  for (int i = 0; i < L->nowned; i++)
    val_drop(&L->I->rt, L->owned[i]);
  rt_free(&L->I->rt, L->owned);
  rt_free(&L->I->rt, L->env);
  arena_free(&L->arena);
  vm_free(&L->I->rt, L->p);
}

/* Lowers the template's body for inputs of dimension dim (0: probe).
 * Returns 0 with *prog set, 1 after an error, PROBE_STOP from a probe. */
static int compile(Template *t, int dim, int quiet, Lower *L, VmProg **prog)
{
  Interp *I = t->I;
  const Stmt *s = t->decl;
  memset(L, 0, sizeof *L);
  L->I = I;
  L->tpl = t;
  L->dim = dim;
  L->max_index = -1;
  L->quiet = quiet;
  arena_init(&L->arena, &I->rt);
  L->p = vm_new(&I->rt, t->what, dim);
  /* x is a vector of dim inputs; a schedule's t is one number per step. */
  int scalar = s->kind == S_DECL && s->decl == D_SCHEDULE;
  LVal x = lcols(L, dim > 0 ? dim : -1, !scalar);
  for (int j = 0; j < dim && x.ops; j++)
    x.ops[j] = (VmArg){VM_INPUT, (uint32_t)j, 0};
  if (!L->p || (dim > 0 && !x.ops) || bind(L, s->params.v[0].name, x))
    return lerr(L, s->value, "out of memory");
  LVal r;
  int st = lower(L, s->value, &r);
  if (!st && (L->arena.failed || L->oom))
    st = lerr(L, s->value, "out of memory");
  if (st)
    return st;
  int n;
  VmArg *ops;
  if (components(L, s->value, r, &n, &ops))
    return 1;
  if (n < 0)
    return need_dim(L, 0);
  int vec = r.is_const ? r.cv.kind == V_VEC : r.is_vec;
  if (!t->is_router && (n != 1 || vec))
    return lerr(L, s->value, "%s must give one number per sample, but its body gives a vector "
                "of %d", t->what, n);
  if (t->is_router && (!vec || n < 2))
    return lerr(L, s->value, "router %s must give a vector of K >= 2 logits per sample%s",
                s->name, vec ? "" : ", not a number");
  if (vm_set_outputs(&I->rt, L->p, ops, n))
    return lerr(L, s->value, "out of memory");
  drop_dead(&I->rt, L->p);
  *prog = L->p;
  L->p = NULL;
  return 0;
}

static RtStatus specialize(Rt *rt, const BlockFn *generic, int dim, BlockFn **out)
{
  Template *t = generic->ctx;
  Lower L;
  VmProg *p = NULL;
  rt_clear(rt);
  int st = compile(t, dim, 1, &L, &p);
  lower_free(&L);
  if (st)
    return rt->status ? rt->status : rt_error(rt, RT_EINVAL, "%s cannot take inputs of "
                                               "dimension %d", t->what, dim);
  *out = vm_blockfn(rt, p);
  return *out ? RT_OK : RT_ENOMEM;
}

static void template_free(Rt *rt, void *ctx)
{
  Template *t = ctx;
  scope_free(t->I, &t->captured);
  rt_free(rt, t->what);
  rt_free(rt, t);
}

/* The largest literal index applied to the parameter itself (x[3] gives 3;
 * -1 if none).  The probe stops at the first whole-input use (sum(x)), so
 * `sum(x) + x[1]` would otherwise be compiled for one input and then
 * refused; the expression depth limit bounds the recursion. */
static int literal_index(const Expr *e, const char *param)
{
  if (!e)
    return -1;
  int m = -1, k;
#define MAXOF(x) do { k = (x); if (k > m) m = k; } while (0)
  switch (e->kind) {
  case E_LIST:
    for (int i = 0; i < e->u.list.n; i++)
      MAXOF(literal_index(e->u.list.v[i], param));
    break;
  case E_CALL:
    MAXOF(literal_index(e->u.call.fn, param));
    for (int i = 0; i < e->u.call.args.n; i++)
      MAXOF(literal_index(e->u.call.args.v[i].value, param));
    break;
  case E_INDEX: {
    const Expr *o = e->u.index.obj;
    const ExprList *ix = &e->u.index.idx;
    if (o->kind == E_NAME && strcmp(o->u.name, param) == 0 && ix->n == 1 &&
        ix->v[0]->kind == E_NUM && ix->v[0]->u.num >= 0 && ix->v[0]->u.num < 1e6 &&
        ix->v[0]->u.num == (int)ix->v[0]->u.num)
      MAXOF((int)ix->v[0]->u.num);
    MAXOF(literal_index(o, param));
    for (int i = 0; i < ix->n; i++)
      MAXOF(literal_index(ix->v[i], param));
    break;
  }
  case E_FIELD: MAXOF(literal_index(e->u.field.obj, param)); break;
  case E_UNARY: MAXOF(literal_index(e->u.un.a, param)); break;
  case E_BINARY:
    MAXOF(literal_index(e->u.bin.a, param));
    MAXOF(literal_index(e->u.bin.b, param));
    break;
  case E_IF:
    MAXOF(literal_index(e->u.cond.c, param));
    MAXOF(literal_index(e->u.cond.a, param));
    MAXOF(literal_index(e->u.cond.b, param));
    break;
  default: break;
  }
#undef MAXOF
  return m;
}

/* The dimension the body needs: fixed (W @ x fixes it), or only a minimum
 * (x[4] needs 5).  Returns 1 after an error in the body. */
static int probe(Template *t, int *fixed, int *min_dim)
{
  Lower L;
  VmProg *p = NULL;
  int st = compile(t, 0, 0, &L, &p);
  *fixed = L.constraint;
  int lit = t->decl->params.n > 0 ? literal_index(t->decl->value, t->decl->params.v[0].name) : -1;
  if (lit > L.max_index)
    L.max_index = lit;
  *min_dim = L.max_index + 1 > 1 ? L.max_index + 1 : 1;
  lower_free(&L);
  vm_free(&t->I->rt, p);
  return st == 1;
}

/* A block function for the declaration: fixed when the body fixes the
 * dimension, else generic (compiled now for its smallest dimension, to
 * report errors early, and later for each dimension a query asks for). */
static BlockFn *build_fn(Interp *I, Template *t, int *err, int *owns_template)
{
  int fixed, min_dim;
  *owns_template = 0;
  if (t->decl->kind == S_DECL && t->decl->decl == D_SCHEDULE) {
    fixed = 1;                /* t is one number per step */
    *err = 0;
  } else {
    *err = probe(t, &fixed, &min_dim);
  }
  if (*err)
    return NULL;
  Lower L;
  VmProg *p = NULL;
  *err = compile(t, fixed ? fixed : min_dim, 0, &L, &p) != 0;
  lower_free(&L);
  if (*err)
    return NULL;
  /* From here a NULL with *err == 0 means out of memory (the caller says so). */
  if (fixed)
    return vm_blockfn(&I->rt, p);
  /* Generic: the program just built serves dimension min_dim from the cache. */
  BlockFn *first = vm_blockfn(&I->rt, p);
  BlockFn *g = NULL;
  *owns_template = first != NULL;   /* blockfn_new frees t even when it fails */
  if (first)
    g = blockfn_new(&I->rt, t->what, -1, first->out_dim, t, template_free);
  if (!g) {
    blockfn_unref(&I->rt, first);
    return NULL;
  }
  g->min_dim = min_dim;
  g->specialize = specialize;
  g->cache[0].dim = min_dim;
  g->cache[0].fn = first;
  g->ncache = 1;
  return g;
}

static void template_free(Rt *rt, void *ctx);

static Template *template_new(Interp *I, const Stmt *s)
{
  Template *t = rt_calloc(&I->rt, 1, sizeof *t);
  if (!t)
    return NULL;
  t->I = I;
  t->decl = s;
  t->is_router = s->kind == S_DECL && s->decl == D_ROUTER;
  StrBuf b;
  sb_init(&b, &I->rt);
  sb_printf(&b, "%s %s", s->kind == S_FN ? "fn" : ast_decl_name(s->decl), s->name);
  t->what = sb_take(&b);
  if (t->what)
    capture_expr(I, t, s->value, &s->params);
  if (!t->what || t->oom) {
    template_free(&I->rt, t);
    return NULL;
  }
  return t;
}

/* ------------------------------------------------------------ schedules */

/* `schedule A(t) = ... with steps = N`: the body runs on the VM over the
 * block t = 0, 1, ..., N-1. */
static int schedule_values(Interp *I, const Stmt *s, BlockFn *f, Value *out)
{
  double steps;
  if (eval_number(I, s->opts.v[0].value, &steps))
    return 1;
  if (steps != floor(steps) || steps < 1 || steps > 1e8)
    return eval_error(I, s->opts.v[0].value, "steps must be a whole number from 1 to "
                      "100000000, not %g", steps);
  size_t n = (size_t)steps;
  Rt *rt = &I->rt;
  double *t = rt_array(rt, n, sizeof *t), *tau = rt_array(rt, n, sizeof *tau);
  double *scratch = rt_array(rt, blockfn_scratch(f, n) + 1, sizeof *scratch);
  int err = !t || !tau || !scratch ? eval_error(I, s->value, "out of memory") : 0;
  BlockErr be = {0};
  for (size_t i = 0; !err && i < n; i++)
    t[i] = (double)i;
  if (!err && f->eval(f, n, t, n, tau, n, scratch, &be))
    err = eval_error(I, s->value, "%s", be.msg);
  Schedule *sc;
  if (!err && schedule_new(rt, tau, n, &sc)) {
    err = eval_error(I, s->value, "%s", rt->msg);
    rt_clear(rt);
  } else if (!err) {
    *out = val_obj(V_SCHED, sc);
  }
  rt_free(rt, t);
  rt_free(rt, tau);
  rt_free(rt, scratch);
  return err;
}

/* ------------------------------------------------------------ declarations */

static int wrap(Interp *I, const Stmt *s, BlockFn *f, Value *out)
{
  Rt *rt = &I->rt;
  RtStatus st = RT_OK;
  double noise = 0;
  if (s->noise && eval_number(I, s->noise, &noise))
    return 1;
  switch (s->decl) {
  case D_EXPERT: {
    Expert *e;
    if (!(st = expert_fn(rt, f, &e)))
      *out = val_obj(V_EXPERT, e);
    break;
  }
  case D_TARGET: {
    Target *t;
    if (!(st = target_fn(rt, f, noise, &t))) {
      *out = val_obj(V_TARGET, t);
    } else {
      eval_error(I, s->noise ? s->noise : s->value, "%s", rt->msg);
      rt_clear(rt);
      return 1;
    }
    break;
  }
  case D_ROUTER: {
    Router *r;
    if (!(st = router_fn(rt, f, &r)))
      *out = val_obj(V_ROUTER, r);
    break;
  }
  case D_SCHEDULE:
    return schedule_values(I, s, f, out);
  default:
    return eval_error_at(I, s->pos, 1, "a %s cannot be written as an expression in %s",
                         ast_decl_name(s->decl), s->params.v[0].name);
  }
  if (st) {
    eval_error(I, s->value, "%s", rt->msg);
    rt_clear(rt);
    return 1;
  }
  return 0;
}

int lower_decl(Interp *I, const Stmt *s, Value *out)
{
  *out = val_nil();
  if (s->params.n != 1)
    return eval_error_at(I, s->pos, 1, "%s %s takes exactly one parameter", ast_decl_name(s->decl),
                         s->name);
  if (s->decl == D_LAW || s->decl == D_MODEL)
    return eval_error_at(I, s->pos, 1, "a %s cannot be written as an expression in %s; build "
                         "it with a constructor", ast_decl_name(s->decl), s->params.v[0].name);
  Template *t = template_new(I, s);
  if (!t)
    return eval_error_at(I, s->pos, 1, "out of memory");
  int err, owned;
  BlockFn *f = build_fn(I, t, &err, &owned);
  if (!owned)
    template_free(&I->rt, t);     /* a fixed program does not need it */
  if (err || !f)
    return err ? 1 : eval_error_at(I, s->pos, 1, "out of memory");
  if (I->dump_plan)
    lower_dump(I, f);
  err = wrap(I, s, f, out);
  blockfn_unref(&I->rt, f);
  return err;
}

int lower_fn_expert(Interp *I, const Stmt *def, const Expr *at, Expert **out)
{
  *out = NULL;
  if (def->params.n != 1)
    return eval_error(I, at, "%s() must take one parameter (x) to be used per sample, not %d",
                      def->name, def->params.n);
  Template *t = template_new(I, def);
  if (!t)
    return eval_error(I, at, "out of memory");
  int err, owned;
  BlockFn *f = build_fn(I, t, &err, &owned);
  if (!owned)
    template_free(&I->rt, t);
  if (err || !f)
    return err ? 1 : eval_error(I, at, "out of memory");
  RtStatus st = expert_fn(&I->rt, f, out);
  blockfn_unref(&I->rt, f);
  if (st) {
    eval_error(I, at, "%s", I->rt.msg);
    rt_clear(&I->rt);
    return 1;
  }
  return 0;
}

void lower_dump(Interp *I, BlockFn *f)
{
  StrBuf b;
  sb_init(&b, &I->rt);
  if (f->in_dim < 0) {
    sb_printf(&b, "# %s takes inputs of any dimension >= %d; compiled for %d:\n", f->name,
              f->min_dim, f->cache[0].dim);
    f = f->cache[0].fn;
  }
  vm_dump(&b, f->ctx);
  if (!b.failed)
    interp_print(I, sb_str(&b), b.len);
  sb_free(&b);
}
