/*
 * arith.c — arithmetic on numbers, vectors and matrices.
 *
 * Element-wise operations broadcast a number over a vector or matrix, and a
 * vector of length `cols` over the rows of a matrix.  `@` is the matrix
 * product (matrix·vector, vector·matrix, matrix·matrix, and vector·vector
 * as the dot product).  Results must be finite: an operation that makes
 * NaN or infinity is an error naming the operation, never a silent NaN.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eval.h"

/* A numeric operand viewed as a flat array with a shape. */
typedef struct Arr {
  const double *v;
  size_t rows, cols;     /* number: 0×0; vector: 1×n with is_vec; matrix */
  int is_num, is_vec;
} Arr;

static Arr arr_of(Value v)
{
  Arr a = {0};
  if (v.kind == V_NUM) {
    a.is_num = 1;        /* callers read the number from the Value itself */
  } else if (v.kind == V_VEC) {
    a.is_vec = 1;
    a.v = as_vec(v)->v;
    a.rows = 1;
    a.cols = as_vec(v)->n;
  } else {
    a.v = as_mat(v)->v;
    a.rows = as_mat(v)->rows;
    a.cols = as_mat(v)->cols;
  }
  return a;
}

static double apply(Op op, double x, double y)
{
  switch (op) {
  case OP_ADD: return x + y;
  case OP_SUB: return x - y;
  case OP_MUL: return x * y;
  case OP_DIV: return x / y;
  case OP_POW: return pow(x, y);
  default: return NAN;
  }
}

static const char *shape_text(Value v, char *buf, size_t n)
{
  if (v.kind == V_VEC)
    snprintf(buf, n, "a vector of length %zu", as_vec(v)->n);
  else if (v.kind == V_MAT)
    snprintf(buf, n, "a %zu×%zu matrix", as_mat(v)->rows, as_mat(v)->cols);
  else
    snprintf(buf, n, "%s", kind_article(v.kind));
  return buf;
}

/* Explains a non-finite result of x op y. */
static int nonfinite(Interp *I, const Expr *at, Op op, double x, double y)
{
  char a[32], b[32];
  snprintf(a, sizeof a, "%.6g", x);
  snprintf(b, sizeof b, "%.6g", y);
  if (op == OP_DIV && y == 0)
    return eval_error(I, at, "division by zero (%s / 0)", a);
  if (op == OP_POW && x < 0 && y != floor(y))
    return eval_error(I, at, "%s ^ %s is not a real number", a, b);
  if (op == OP_POW && x == 0 && y < 0)
    return eval_error(I, at, "0 ^ %s is infinite", b);
  return eval_error(I, at, "%s %s %s overflows (the result is not a finite number)", a,
                    ast_op_name(op), b);
}

/* Element-wise op with broadcasting; shapes already known compatible. */
static int elementwise(Interp *I, const Expr *at, Op op, Value va, Value vb, Value *out)
{
  Arr a = arr_of(va), b = arr_of(vb);
  double xa = va.kind == V_NUM ? va.u.num : 0, xb = vb.kind == V_NUM ? vb.u.num : 0;
  if (a.is_num)
    a.v = &xa;
  if (b.is_num)
    b.v = &xb;
  const Arr *big = a.is_num ? &b : (b.is_num ? &a : (a.rows >= b.rows ? &a : &b));
  Value r = big == &a ? (va.kind == V_VEC ? val_vec(&I->rt, a.cols) : val_mat(&I->rt, a.rows, a.cols))
                      : (vb.kind == V_VEC ? val_vec(&I->rt, b.cols) : val_mat(&I->rt, b.rows, b.cols));
  if (r.kind == V_NIL)
    return eval_error(I, at, "out of memory");
  double *o = r.kind == V_VEC ? as_vec(r)->v : as_mat(r)->v;
  size_t rows = big->rows, cols = big->cols;
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) {
      double x = a.is_num ? xa : a.rows == 1 ? a.v[j] : a.v[i * cols + j];
      double y = b.is_num ? xb : b.rows == 1 ? b.v[j] : b.v[i * cols + j];
      double z = apply(op, x, y);
      if (!isfinite(z)) {
        val_drop(&I->rt, r);
        return nonfinite(I, at, op, x, y);
      }
      o[i * cols + j] = z;
    }
  *out = r;
  return 0;
}

static int compatible(Value a, Value b)
{
  if (a.kind == V_NUM || b.kind == V_NUM)
    return 1;
  Arr x = arr_of(a), y = arr_of(b);
  if (x.cols != y.cols)
    return 0;
  return x.rows == y.rows || (x.is_vec && !y.is_vec) || (y.is_vec && !x.is_vec);
}

static int matmul(Interp *I, const Expr *at, Value va, Value vb, Value *out)
{
  char sa[64], sb[64];
  if (va.kind == V_NUM || vb.kind == V_NUM)
    return eval_error(I, at, "'@' multiplies matrices and vectors, not %s and %s "
                      "(use '*' for numbers)", shape_text(va, sa, sizeof sa),
                      shape_text(vb, sb, sizeof sb));
  Arr a = arr_of(va), b = arr_of(vb);
  /* A vector is a column on the right and a row on the left. */
  size_t m = a.rows, k = a.cols, kb = b.is_vec ? b.cols : b.rows, n = b.is_vec ? 1 : b.cols;
  if (k != kb)
    return eval_error(I, at, "cannot multiply %s by %s: %zu columns against %zu rows",
                      shape_text(va, sa, sizeof sa), shape_text(vb, sb, sizeof sb), k, kb);
  Value r;
  if (a.is_vec && b.is_vec)
    r = val_num(0);
  else if (a.is_vec || b.is_vec)
    r = val_vec(&I->rt, a.is_vec ? n : m);
  else
    r = val_mat(&I->rt, m, n);
  if (r.kind == V_NIL)
    return eval_error(I, at, "out of memory");
  double *o = r.kind == V_NUM ? &r.u.num : r.kind == V_VEC ? as_vec(r)->v : as_mat(r)->v;
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      double s = 0;
      for (size_t t = 0; t < k; t++)
        s += a.v[i * k + t] * (b.is_vec ? b.v[t] : b.v[t * n + j]);
      if (!isfinite(s)) {
        val_drop(&I->rt, r);
        return eval_error(I, at, "the matrix product overflows");
      }
      o[i * n + j] = s;
    }
  *out = r;
  return 0;
}

static int same_numbers(const double *x, const double *y, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (x[i] != y[i])
      return 0;
  return 1;
}

/* Whole-value equality of bools, strings, vectors and matrices (same
 * shape and every entry equal). */
static int values_equal(Value a, Value b)
{
  switch (a.kind) {
  case V_BOOL: return a.u.b == b.u.b;
  case V_STR: return strcmp(as_str(a)->s, as_str(b)->s) == 0;
  case V_VEC:
    return as_vec(a)->n == as_vec(b)->n && same_numbers(as_vec(a)->v, as_vec(b)->v, as_vec(a)->n);
  case V_MAT:
    return as_mat(a)->rows == as_mat(b)->rows && as_mat(a)->cols == as_mat(b)->cols &&
           same_numbers(as_mat(a)->v, as_mat(b)->v, as_mat(a)->rows * as_mat(a)->cols);
  default: return 0;
  }
}

static int compare(Interp *I, const Expr *at, Op op, Value a, Value b, Value *out)
{
  if (a.kind == V_NUM && b.kind == V_NUM) {
    double x = a.u.num, y = b.u.num;
    int r = op == OP_EQ ? x == y : op == OP_NE ? x != y : op == OP_LT ? x < y
          : op == OP_LE ? x <= y : op == OP_GT ? x > y : x >= y;
    *out = val_bool(r);
    return 0;
  }
  if ((op == OP_EQ || op == OP_NE) && a.kind == b.kind &&
      (a.kind == V_BOOL || a.kind == V_STR || a.kind == V_VEC || a.kind == V_MAT)) {
    int eq = values_equal(a, b);
    *out = val_bool(op == OP_EQ ? eq : !eq);
    return 0;
  }
  return eval_error(I, at, "cannot compare %s with %s using '%s'", kind_article(a.kind),
                    kind_article(b.kind), ast_op_name(op));
}

static int concat(Interp *I, const Expr *at, Value a, Value b, Value *out)
{
  StrBuf sb;
  sb_init(&sb, &I->rt);
  sb_putn(&sb, as_str(a)->s, as_str(a)->len);
  sb_putn(&sb, as_str(b)->s, as_str(b)->len);
  Value r = sb.failed ? val_nil() : val_str(&I->rt, sb_str(&sb), sb.len);
  sb_free(&sb);
  if (r.kind == V_NIL)
    return eval_error(I, at, "out of memory");
  *out = r;
  return 0;
}

int arith_binary(Interp *I, const Expr *at, Op op, Value a, Value b, Value *out)
{
  char sa[64], sb[64];
  if (op >= OP_EQ && op <= OP_GE)
    return compare(I, at, op, a, b, out);
  if (op == OP_ADD && a.kind == V_STR && b.kind == V_STR)
    return concat(I, at, a, b, out);
  if (!val_is_array(a) || !val_is_array(b))
    return eval_error(I, at, "cannot apply '%s' to %s and %s", ast_op_name(op),
                      kind_article(a.kind), kind_article(b.kind));
  if (op == OP_MATMUL)
    return matmul(I, at, a, b, out);
  if (a.kind == V_NUM && b.kind == V_NUM) {
    double z = apply(op, a.u.num, b.u.num);
    if (!isfinite(z))
      return nonfinite(I, at, op, a.u.num, b.u.num);
    *out = val_num(z);
    return 0;
  }
  if (!compatible(a, b))
    return eval_error(I, at, "shapes do not match for '%s': %s and %s", ast_op_name(op),
                      shape_text(a, sa, sizeof sa), shape_text(b, sb, sizeof sb));
  return elementwise(I, at, op, a, b, out);
}

int arith_unary(Interp *I, const Expr *at, Op op, Value a, Value *out)
{
  if (op == OP_NOT) {
    if (a.kind != V_BOOL)
      return eval_error(I, at, "'not' needs a bool, not %s", kind_article(a.kind));
    *out = val_bool(!a.u.b);
    return 0;
  }
  if (!val_is_array(a))
    return eval_error(I, at, "cannot negate %s", kind_article(a.kind));
  if (a.kind == V_NUM) {
    *out = val_num(-a.u.num);
    return 0;
  }
  return elementwise(I, at, OP_MUL, val_num(-1), a, out);
}

int arith_map(Interp *I, const Expr *at, const char *name, double (*f)(double), Value a,
              Value *out)
{
  if (!val_is_array(a))
    return eval_error(I, at, "%s needs a number, vector or matrix, not %s", name,
                      kind_article(a.kind));
  Value r;
  if (a.kind == V_NUM) {
    r = val_num(0);
  } else {
    r = a.kind == V_VEC ? val_vec(&I->rt, as_vec(a)->n)
                        : val_mat(&I->rt, as_mat(a)->rows, as_mat(a)->cols);
    if (r.kind == V_NIL)
      return eval_error(I, at, "out of memory");
  }
  Arr x = arr_of(a);
  double one = a.kind == V_NUM ? a.u.num : 0;
  size_t n = a.kind == V_NUM ? 1 : x.rows * x.cols;
  const double *in = a.kind == V_NUM ? &one : x.v;
  double *o = r.kind == V_NUM ? &r.u.num : r.kind == V_VEC ? as_vec(r)->v : as_mat(r)->v;
  for (size_t i = 0; i < n; i++) {
    o[i] = f(in[i]);
    if (!isfinite(o[i])) {
      double bad = in[i];
      val_drop(&I->rt, r);
      return eval_error(I, at, "%s(%.6g) is not a finite number", name, bad);
    }
  }
  *out = r;
  return 0;
}

int check_finite(Interp *I, const Expr *e, Value v, const char *what)
{
  const double *p = NULL;
  size_t n = 0;
  if (v.kind == V_NUM) {
    p = &v.u.num;
    n = 1;
  } else if (v.kind == V_VEC) {
    p = as_vec(v)->v;
    n = as_vec(v)->n;
  } else if (v.kind == V_MAT) {
    p = as_mat(v)->v;
    n = as_mat(v)->rows * as_mat(v)->cols;
  }
  for (size_t i = 0; i < n; i++)
    if (!isfinite(p[i]))
      return eval_error(I, e, "%s contains %g (at element %zu)", what, p[i], i);
  return 0;
}
