/*
 * bi_math.c — the math builtins: element-wise functions, reductions,
 * constructors of arrays, and load().
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "../runtime/datafile.h"
#include "../runtime/model.h"
#include "bi.h"
#include "eval.h"

static double sigmoid(double x)
{
  return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

/* log(1 + e^x) without overflow for large x or loss for very negative x. */
static double softplus(double x)
{
  return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

static int map1(Call *c, const char *name, double (*f)(double), Value *out)
{
  return arith_map(c->I, c->expr, name, f, c->arg[0], out);
}

/* Domain checks first, so the message says why instead of "NaN". */
static int positive_only(Call *c, const char *name, double lo, int strict)
{
  size_t n = 1;
  double *tmp = NULL;
  const double *v = &c->arg[0].u.num;   /* a number needs no copy */
  if (c->arg[0].kind != V_NUM)
    v = val_numbers(c->I, c->arg[0], &n, &tmp);
  if (!v && c->I->rt.status == RT_ENOMEM) {
    rt_clear(&c->I->rt);
    return call_error(c, -1, "out of memory");
  }
  if (c->arg[0].kind == V_MAT) {
    v = as_mat(c->arg[0])->v;
    n = as_mat(c->arg[0])->rows * as_mat(c->arg[0])->cols;
  }
  for (size_t i = 0; v && i < n; i++)
    if (strict ? !(v[i] > lo) : !(v[i] >= lo)) {
      double bad = v[i];
      rt_free(&c->I->rt, tmp);
      return call_error(c, -1, "%s(%g) is not a real number (%s needs x %s %g)", name, bad,
                        name, strict ? ">" : ">=", lo);
    }
  rt_free(&c->I->rt, tmp);
  return 0;
}

int bi_sin(Call *c, Value *out) { return map1(c, "sin", sin, out); }
int bi_cos(Call *c, Value *out) { return map1(c, "cos", cos, out); }
int bi_tan(Call *c, Value *out) { return map1(c, "tan", tan, out); }
int bi_exp(Call *c, Value *out) { return map1(c, "exp", exp, out); }
int bi_abs(Call *c, Value *out) { return map1(c, "abs", fabs, out); }
int bi_tanh(Call *c, Value *out) { return map1(c, "tanh", tanh, out); }
int bi_sigmoid(Call *c, Value *out) { return map1(c, "sigmoid", sigmoid, out); }
int bi_softplus(Call *c, Value *out) { return map1(c, "softplus", softplus, out); }
int bi_erf(Call *c, Value *out) { return map1(c, "erf", erf, out); }

int bi_log(Call *c, Value *out)
{
  return positive_only(c, "log", 0, 1) || map1(c, "log", log, out);
}

int bi_log1p(Call *c, Value *out)
{
  return positive_only(c, "log1p", -1, 1) || map1(c, "log1p", log1p, out);
}

int bi_sqrt(Call *c, Value *out)
{
  return positive_only(c, "sqrt", 0, 0) || map1(c, "sqrt", sqrt, out);
}

/* Flat view of a numeric argument. */
static const double *flat(Value v, size_t *n)
{
  switch (v.kind) {
  case V_VEC: *n = as_vec(v)->n; return as_vec(v)->v;
  case V_MAT: *n = as_mat(v)->rows * as_mat(v)->cols; return as_mat(v)->v;
  default: *n = 1; return NULL;
  }
}

static double pick(double a, double b, int want_max)
{
  return want_max ? (a > b ? a : b) : (a < b ? a : b);
}

static int extreme(Call *c, int want_max, Value *out)
{
  const char *name = want_max ? "max" : "min";
  if (arg_given(c, 1)) {
    /* Element-wise of two: a - b decides, through the shared broadcasting. */
    Value d;
    if (arith_binary(c->I, c->expr, OP_SUB, c->arg[0], c->arg[1], &d))
      return 1;
    if (d.kind == V_NUM) {
      val_drop(&c->I->rt, d);
      *out = val_num(pick(c->arg[0].u.num, c->arg[1].u.num, want_max));
      return 0;
    }
    /* d has the broadcast shape: recompute each entry from a and b. */
    size_t n, na, nb;
    double *o = (double *)flat(d, &n);
    const double *a = flat(c->arg[0], &na), *b = flat(c->arg[1], &nb);
    for (size_t i = 0; i < n; i++) {
      double x = a ? a[na == n ? i : i % na] : c->arg[0].u.num;
      double y = b ? b[nb == n ? i : i % nb] : c->arg[1].u.num;
      o[i] = pick(x, y, want_max);
    }
    *out = d;
    return 0;
  }
  if (c->arg[0].kind == V_NUM) {
    *out = val_num(c->arg[0].u.num);
    return 0;
  }
  size_t n;
  const double *v = flat(c->arg[0], &n);
  if (n == 0)
    return call_error(c, 0, "%s() of an empty vector", name);
  double m = v[0];
  for (size_t i = 1; i < n; i++)
    m = pick(m, v[i], want_max);
  *out = val_num(m);
  return 0;
}

int bi_min(Call *c, Value *out) { return extreme(c, 0, out); }
int bi_max(Call *c, Value *out) { return extreme(c, 1, out); }

int bi_sum(Call *c, Value *out)
{
  size_t n;
  const double *v = flat(c->arg[0], &n);
  double s = v ? 0 : c->arg[0].u.num;
  for (size_t i = 0; v && i < n; i++)
    s += v[i];
  if (!isfinite(s))
    return call_error(c, -1, "the sum overflows");
  *out = val_num(s);
  return 0;
}

int bi_dot(Call *c, Value *out)
{
  if (c->arg[0].kind != V_VEC || c->arg[1].kind != V_VEC)
    return call_error(c, -1, "dot() takes two vectors (got %s and %s)",
                      kind_article(c->arg[0].kind), kind_article(c->arg[1].kind));
  return arith_binary(c->I, c->expr, OP_MATMUL, c->arg[0], c->arg[1], out);
}

int bi_norm(Call *c, Value *out)
{
  size_t n;
  const double *v = flat(c->arg[0], &n);
  if (!v) {
    *out = val_num(fabs(c->arg[0].u.num));
    return 0;
  }
  double scale = 0, s = 0;
  for (size_t i = 0; i < n; i++)
    scale = fmax(scale, fabs(v[i]));
  for (size_t i = 0; scale > 0 && i < n; i++)
    s += (v[i] / scale) * (v[i] / scale);
  *out = val_num(scale * sqrt(s));
  return 0;
}

int bi_len(Call *c, Value *out)
{
  Value v = c->arg[0];
  double n;
  switch (v.kind) {
  case V_VEC: n = (double)as_vec(v)->n; break;
  case V_MAT: n = (double)as_mat(v)->rows; break;
  case V_LIST: n = (double)as_list(v)->n; break;
  case V_STR: n = (double)as_str(v)->len; break;
  case V_SCHED: n = (double)((const Schedule *)v.u.p)->n; break;
  default:
    return call_error(c, 0, "len() of %s", kind_article(v.kind));
  }
  *out = val_num(n);
  return 0;
}

static int filled(Call *c, double x, Value *out)
{
  long rows, cols = -1;
  if (arg_int(c, 0, 0, 0, 100000000, &rows) ||
      (arg_given(c, 1) && arg_int(c, 1, 0, 0, 100000000, &cols)))
    return 1;
  *out = cols < 0 ? val_vec(&c->I->rt, (size_t)rows)
                  : val_mat(&c->I->rt, (size_t)rows, (size_t)cols);
  if (out->kind == V_NIL)
    return call_rt_error(c, -1);
  size_t n;
  double *v = (double *)flat(*out, &n);
  for (size_t i = 0; i < n; i++)
    v[i] = x;
  return 0;
}

int bi_zeros(Call *c, Value *out) { return filled(c, 0, out); }
int bi_ones(Call *c, Value *out) { return filled(c, 1, out); }

int bi_eye(Call *c, Value *out)
{
  long n;
  if (arg_int(c, 0, 0, 0, 100000, &n))
    return 1;
  *out = val_mat(&c->I->rt, (size_t)n, (size_t)n);
  if (out->kind == V_NIL)
    return call_rt_error(c, -1);
  for (long i = 0; i < n; i++)
    as_mat(*out)->v[i * n + i] = 1;
  return 0;
}

/* range(n) = [0, ..., n-1]; range(a, b) and range(a, b, step) stop before b. */
int bi_range(Call *c, Value *out)
{
  double a, b, step;
  if (arg_num(c, 0, 0, &a) || arg_num(c, 1, 0, &b) || arg_num(c, 2, 1, &step))
    return 1;
  if (!arg_given(c, 1)) {
    b = a;
    a = 0;
  }
  if (step == 0)
    return call_error(c, 2, "range() step must not be 0");
  double count = ceil((b - a) / step);
  if (count < 0)
    count = 0;
  if (count > 1e8)
    return call_error(c, -1, "range() of %g numbers is too long", count);
  *out = val_vec(&c->I->rt, (size_t)count);
  if (out->kind == V_NIL)
    return call_rt_error(c, -1);
  for (size_t i = 0; i < (size_t)count; i++)
    as_vec(*out)->v[i] = a + step * (double)i;
  return 0;
}

int bi_load(Call *c, Value *out)
{
  const char *path;
  if (arg_str(c, 0, &path) || arg_file_allowed(c, 0, path))
    return 1;
  DataMatrix m;
  if (data_load(&c->I->rt, path, &m))
    return call_rt_error(c, 0);
  *out = m.is_vector ? val_vec(&c->I->rt, m.rows) : val_mat(&c->I->rt, m.rows, m.cols);
  if (out->kind != V_NIL) {
    size_t n;
    double *v = (double *)flat(*out, &n);
    memcpy(v, m.data, n * sizeof *v);
  }
  data_free(&c->I->rt, &m);
  return out->kind == V_NIL ? call_rt_error(c, -1) : 0;
}
