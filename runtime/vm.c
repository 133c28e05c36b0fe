/*
 * vm.c — building and running block VM programs (see vm.h).
 *
 * The interpreter loop is deliberately plain: one switch per instruction,
 * then a tight loop over the n samples of the block, which the compiler
 * vectorises (the KERNEL clones give it AVX2/AVX-512).
 */
#include "vm.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "simd.h"
#include "strbuf.h"
#include "vmath.h"

VmProg *vm_new(Rt *rt, const char *name, int in_dim)
{
  VmProg *p = rt_calloc(rt, 1, sizeof *p);
  if (!p)
    return NULL;
  p->name = rt_strdup(rt, name ? name : "expression");
  if (!p->name) {
    rt_free(rt, p);
    return NULL;
  }
  p->in_dim = in_dim;
  return p;
}

void vm_free(Rt *rt, VmProg *p)
{
  if (!p)
    return;
  for (int i = 0; i < p->ncode; i++)
    blockfn_unref(rt, p->code[i].fn);
  for (int i = 0; i < p->nmats; i++)
    rt_free(rt, p->mats[i]);
  rt_free(rt, p->mats);
  for (int i = 0; i < p->nlists; i++)
    rt_free(rt, p->lists[i]);
  rt_free(rt, p->lists);
  rt_free(rt, p->code);
  rt_free(rt, p->out);
  rt_free(rt, p->name);
  rt_free(rt, p);
}

int vm_emit(Rt *rt, VmProg *p, const VmIns *ins)
{
  if (p->ncode == p->cap) {
    int cap = p->cap ? p->cap * 2 : 16;
    VmIns *v = rt_realloc(rt, p->code, (size_t)cap * sizeof *v);
    if (!v)
      return 1;
    p->code = v;
    p->cap = cap;
  }
  p->code[p->ncode++] = *ins;
  if (ins->fn)
    blockfn_ref(ins->fn);
  return 0;
}

uint32_t vm_temp(VmProg *p) { return p->ntemps++; }

const double *vm_matrix(Rt *rt, VmProg *p, const double *m, size_t rows, size_t cols)
{
  double **v = rt_realloc(rt, p->mats, (size_t)(p->nmats + 1) * sizeof *v);
  if (!v)
    return NULL;
  p->mats = v;
  size_t count = rows * cols;
  double *copy = rt_array(rt, count > 0 ? count : 1, sizeof *copy);
  if (!copy)
    return NULL;
  memcpy(copy, m, rows * cols * sizeof *copy);
  p->mats[p->nmats++] = copy;
  return copy;
}

const VmArg *vm_sources(Rt *rt, VmProg *p, const VmArg *srcs, size_t n)
{
  VmArg **v = rt_realloc(rt, p->lists, (size_t)(p->nlists + 1) * sizeof *v);
  if (!v)
    return NULL;
  p->lists = v;
  VmArg *copy = rt_array(rt, n ? n : 1, sizeof *copy);
  if (!copy)
    return NULL;
  memcpy(copy, srcs, n * sizeof *copy);
  p->lists[p->nlists++] = copy;
  return copy;
}

int vm_set_outputs(Rt *rt, VmProg *p, const VmArg *out, int n)
{
  VmArg *v = rt_array(rt, (size_t)(n ? n : 1), sizeof *v);
  if (!v)
    return 1;
  memcpy(v, out, (size_t)n * sizeof *v);
  rt_free(rt, p->out);
  p->out = v;
  p->out_dim = n;
  return 0;
}

static size_t call_scratch(const VmProg *p, size_t n)
{
  size_t most = 0;
  for (int i = 0; i < p->ncode; i++)
    if (p->code[i].op == VM_CALL) {
      size_t s = blockfn_scratch(p->code[i].fn, n);
      most = s > most ? s : most;
    }
  return most;
}

size_t vm_scratch(const VmProg *p, size_t n)
{
  return (size_t)p->ntemps * n + call_scratch(p, n);
}

/* ------------------------------------------------------------ kernels */

static double sigmoid(double x)
{
  return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

static double softplus(double x)
{
  return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* One loop per operand pattern (column/column, column/constant, ...): a
 * constant operand stays in a register instead of being spread over a
 * column. */
#define BINARY(name, E)                                                        \
  KERNEL static void name(size_t n, const double *pa, double ka,               \
                          const double *pb, double kb, double *d)              \
  {                                                                            \
    if (pa && pb) {                                                            \
      for (size_t i = 0; i < n; i++) { double x = pa[i], y = pb[i]; d[i] = (E); } \
    } else if (pa) {                                                           \
      for (size_t i = 0; i < n; i++) { double x = pa[i], y = kb; d[i] = (E); } \
    } else if (pb) {                                                           \
      for (size_t i = 0; i < n; i++) { double x = ka, y = pb[i]; d[i] = (E); } \
    } else {                                                                   \
      double x = ka, y = kb, v = (E);                                          \
      for (size_t i = 0; i < n; i++) d[i] = v;                                 \
    }                                                                          \
  }

BINARY(k_add, x + y)
BINARY(k_sub, x - y)
BINARY(k_mul, x * y)
BINARY(k_div, x / y)
BINARY(k_pow, pow(x, y))
BINARY(k_min, x < y ? x : y)
BINARY(k_max, x > y ? x : y)
BINARY(k_lt, (double)(x < y))
BINARY(k_le, (double)(x <= y))
BINARY(k_gt, (double)(x > y))
BINARY(k_ge, (double)(x >= y))
BINARY(k_eq, (double)(x == y))
BINARY(k_ne, (double)(x != y))
BINARY(k_and, (double)(x != 0 && y != 0))
BINARY(k_or, (double)(x != 0 || y != 0))

#define UNARY(name, E)                                                         \
  KERNEL static void name(size_t n, const double *pa, double ka, double *d)    \
  {                                                                            \
    if (pa) {                                                                  \
      for (size_t i = 0; i < n; i++) { double x = pa[i]; d[i] = (E); }        \
    } else {                                                                   \
      double x = ka, v = (E);                                                  \
      for (size_t i = 0; i < n; i++) d[i] = v;                                 \
    }                                                                          \
  }

UNARY(k_mov, x)
UNARY(k_neg, -x)
UNARY(k_abs, fabs(x))
UNARY(k_exp, exp(x))
UNARY(k_log, log(x))
UNARY(k_log1p, log1p(x))
UNARY(k_sqrt, sqrt(x))
UNARY(k_sin, sin(x))
UNARY(k_cos, cos(x))
UNARY(k_tan, tan(x))
UNARY(k_tanh, tanh(x))
UNARY(k_sigmoid, sigmoid(x))
UNARY(k_softplus, softplus(x))
UNARY(k_erf, erf(x))
UNARY(k_not, (double)(x == 0))

/* The transcendental ops run on whole columns through runtime/vmath.c
 * (vectorised, within 1 ulp, the same bits at every vector width); a
 * constant operand is computed once with the C library. */
typedef void (*ColumnFn)(const double *, double *, size_t);

static const ColumnFn column[] = {
    [VM_EXP] = vm_exp_n, [VM_LOG] = vm_log_n, [VM_LOG1P] = vm_log1p_n,
    [VM_SQRT] = vm_sqrt_n, [VM_SIN] = vm_sin_n, [VM_COS] = vm_cos_n, [VM_TAN] = vm_tan_n,
    [VM_TANH] = vm_tanh_n, [VM_SIGMOID] = vm_sigmoid_n, [VM_SOFTPLUS] = vm_softplus_n,
    [VM_ERF] = vm_erf_n};

typedef void (*UnaryFn)(size_t, const double *, double, double *);
typedef void (*BinaryFn)(size_t, const double *, double, const double *, double, double *);

static const UnaryFn unary[] = {
    [VM_MOV] = k_mov, [VM_NEG] = k_neg, [VM_ABS] = k_abs, [VM_EXP] = k_exp,
    [VM_LOG] = k_log, [VM_LOG1P] = k_log1p, [VM_SQRT] = k_sqrt, [VM_SIN] = k_sin,
    [VM_COS] = k_cos, [VM_TAN] = k_tan, [VM_TANH] = k_tanh, [VM_SIGMOID] = k_sigmoid,
    [VM_SOFTPLUS] = k_softplus, [VM_ERF] = k_erf, [VM_NOT] = k_not};

static const BinaryFn binary[] = {
    [VM_ADD] = k_add, [VM_SUB] = k_sub, [VM_MUL] = k_mul, [VM_DIV] = k_div,
    [VM_POW] = k_pow, [VM_MIN] = k_min, [VM_MAX] = k_max, [VM_LT] = k_lt,
    [VM_LE] = k_le, [VM_GT] = k_gt, [VM_GE] = k_ge, [VM_EQ] = k_eq, [VM_NE] = k_ne,
    [VM_AND] = k_and, [VM_OR] = k_or};

KERNEL static void k_axpy(size_t n, const double *pa, double ka, const double *pb,
                          double kb, double k, double *d)
{
  if (pa && pb)
    for (size_t i = 0; i < n; i++)
      d[i] = pa[i] + k * pb[i];
  else if (pb)
    for (size_t i = 0; i < n; i++)
      d[i] = ka + k * pb[i];
  else if (pa)
    for (size_t i = 0; i < n; i++)
      d[i] = pa[i] + k * kb;
  else
    for (size_t i = 0; i < n; i++)
      d[i] = ka + k * kb;
}

/* dst = k + Σ coef[j]·src[j]: accumulated in chunks that stay in L1 while
 * the sources stream by (an axpy chain would write a column per term). */
KERNEL static void k_lincomb(size_t n, double k, const double *const *src,
                             const double *coef, uint32_t nsrc, double *d)
{
  double acc[256];
  for (size_t i0 = 0; i0 < n; i0 += 256) {
    size_t m = n - i0 < 256 ? n - i0 : 256;
    for (size_t i = 0; i < m; i++)
      acc[i] = k;
    for (uint32_t j = 0; j < nsrc; j++) {
      const double *s = src[j] + i0;
      double c = coef[j];
      for (size_t i = 0; i < m; i++)
        acc[i] += c * s[i];
    }
    memcpy(d + i0, acc, m * sizeof *acc);
  }
}

KERNEL static void k_select(size_t n, const double *pc, double kc, const double *pa,
                            double ka, const double *pb, double kb, double *d)
{
  for (size_t i = 0; i < n; i++) {
    double c = pc ? pc[i] : kc, x = pa ? pa[i] : ka, y = pb ? pb[i] : kb;
    d[i] = c != 0 ? x : y;
  }
}

/* ------------------------------------------------------------ running */

typedef struct Frame {
  size_t n;
  const double *x;
  size_t ldx;
  double *temps;
  double *callee;        /* scratch for VM_CALL */
} Frame;

/* The column of an operand, or NULL for a constant. */
static const double *col(const Frame *f, VmArg a)
{
  switch (a.space) {
  case VM_INPUT: return f->x + (size_t)a.idx * f->ldx;
  case VM_TEMP: return f->temps + (size_t)a.idx * f->n;
  default: return NULL;
  }
}

static size_t ld_of(const Frame *f, VmArg a) { return a.space == VM_INPUT ? f->ldx : f->n; }

static RtStatus step(const Frame *f, const VmIns *ins, BlockErr *err)
{
  double *d = f->temps + (size_t)ins->dst * f->n;
  size_t n = f->n;
  switch (ins->op) {
  case VM_AXPY:
    k_axpy(n, col(f, ins->a), ins->a.k, col(f, ins->b), ins->b.k, ins->k, d);
    return RT_OK;
  case VM_SELECT:
    k_select(n, col(f, ins->c), ins->c.k, col(f, ins->a), ins->a.k, col(f, ins->b),
             ins->b.k, d);
    return RT_OK;
  case VM_LINCOMB: {
    const double *src[64];
    for (uint32_t j = 0; j < ins->nsrc; j++)
      src[j] = col(f, ins->srcs[j]);
    k_lincomb(n, ins->k, src, ins->mat, ins->nsrc, d);
    return RT_OK;
  }
  case VM_GEMM:
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)ins->rows, (int)n,
                (int)ins->cols, 1.0, ins->mat, (int)ins->cols, col(f, ins->a),
                (int)ld_of(f, ins->a), 0.0, d, (int)n);
    return RT_OK;
  case VM_CALL:
    return ins->fn->eval(ins->fn, n, col(f, ins->a), ld_of(f, ins->a), d, n, f->callee, err);
  default:
    break;
  }
  const double *pa = col(f, ins->a);
  if (ins->op < VM_ADD && pa && ins->op < sizeof column / sizeof column[0] && column[ins->op])
    column[ins->op](pa, d, n);
  else if (ins->op < VM_ADD)
    unary[ins->op](n, pa, ins->a.k, d);
  else
    binary[ins->op](n, col(f, ins->a), ins->a.k, col(f, ins->b), ins->b.k, d);
  return RT_OK;
}

/* Names the first sample whose output is not finite, with its inputs. */
static RtStatus bad_output(const VmProg *p, const Frame *f, int k, size_t i, double v,
                           BlockErr *err)
{
  const char *what = isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf";
  char xs[160];
  size_t used = 0;
  xs[0] = '\0';
  for (int j = 0; j < p->in_dim && used + 24 < sizeof xs; j++)
    used += (size_t)snprintf(xs + used, sizeof xs - used, "%s%.6g", j ? ", " : "",
                             f->x[(size_t)j * f->ldx + i]);
  if (p->out_dim == 1)
    return block_fail(err, RT_EINVAL, "%s gave %s for the sample x = [%s]%s", p->name, what, xs,
                      p->in_dim > 8 ? " (first coordinates)" : "");
  return block_fail(err, RT_EINVAL, "%s gave %s in output %d for the sample x = [%s]",
                    p->name, what, k, xs);
}

static RtStatus store(const VmProg *p, const Frame *f, double *y, size_t ldy, BlockErr *err)
{
  for (int k = 0; k < p->out_dim; k++) {
    double *row = y + (size_t)k * ldy;
    k_mov(f->n, col(f, p->out[k]), p->out[k].k, row);
    double acc = 0;
    for (size_t i = 0; i < f->n; i++)
      acc += row[i] * 0;          /* NaN unless every entry is finite */
    if (isnan(acc))
      for (size_t i = 0; i < f->n; i++)
        if (!isfinite(row[i]))
          return bad_output(p, f, k, i, row[i], err);
  }
  return RT_OK;
}

RtStatus vm_run(const VmProg *p, size_t n, const double *x, size_t ldx, double *y,
                size_t ldy, double *scratch, BlockErr *err)
{
  Frame f = {n, x, ldx, scratch, scratch + (size_t)p->ntemps * n};
  for (int i = 0; i < p->ncode; i++) {
    RtStatus st = step(&f, &p->code[i], err);
    if (st)
      return st;
  }
  return store(p, &f, y, ldy, err);
}

/* ------------------------------------------------------------ as a BlockFn */

static RtStatus fn_eval(const BlockFn *f, size_t n, const double *x, size_t ldx, double *y,
                        size_t ldy, double *scratch, BlockErr *err)
{
  return vm_run(f->ctx, n, x, ldx, y, ldy, scratch, err);
}

static size_t fn_scratch(const BlockFn *f, size_t n) { return vm_scratch(f->ctx, n); }

static void fn_free(Rt *rt, void *ctx) { vm_free(rt, ctx); }

BlockFn *vm_blockfn(Rt *rt, VmProg *p)
{
  BlockFn *f = blockfn_new(rt, p->name, p->in_dim, p->out_dim, p, fn_free);
  if (!f)
    return NULL;
  f->eval = fn_eval;
  f->scratch_doubles = fn_scratch;
  return f;
}

/* ------------------------------------------------------------ affine test */

/* Adds w·(operand a) to (beta, c) if a is affine in the inputs: a constant,
 * an input column, or a lincomb of such (recursively). */
static int affine_arg(const VmProg *p, VmArg a, double w, double *beta, double *c, int depth)
{
  if (a.space == VM_CONST) {
    *c += w * a.k;
    return 1;
  }
  if (a.space == VM_INPUT) {
    beta[a.idx] += w;
    return 1;
  }
  if (depth > 64)
    return 0;
  for (int i = p->ncode - 1; i >= 0; i--) {
    const VmIns *ins = &p->code[i];
    if (ins->op == VM_GEMM || ins->op == VM_CALL || ins->dst != a.idx)
      continue;
    if (ins->op == VM_MOV)
      return affine_arg(p, ins->a, w, beta, c, depth + 1);
    if (ins->op != VM_LINCOMB)
      return 0;
    *c += w * ins->k;
    for (uint32_t j = 0; j < ins->nsrc; j++)
      if (!affine_arg(p, ins->srcs[j], w * ins->mat[j], beta, c, depth + 1))
        return 0;
    return 1;
  }
  return 0;
}

int vm_blockfn_affine(const BlockFn *f, int out, double *beta, double *c)
{
  if (f->eval != fn_eval || out >= f->out_dim)
    return 0;
  const VmProg *p = f->ctx;
  memset(beta, 0, (size_t)p->in_dim * sizeof *beta);
  *c = 0;
  return affine_arg(p, p->out[out], 1, beta, c, 0);
}

/* ------------------------------------------------------------ listing */

const char *vm_op_name(VmOp op)
{
  static const char *const names[] = {
      "mov", "neg", "abs", "exp", "log", "log1p", "sqrt", "sin", "cos", "tan", "tanh",
      "sigmoid", "softplus", "erf", "not", "add", "sub", "mul", "div", "pow", "min", "max",
      "lt", "le", "gt", "ge", "eq", "ne", "and", "or", "axpy", "lincomb", "select", "gemm",
      "call"};
  return op < VM_NOPS ? names[op] : "?";
}

static void arg_text(StrBuf *b, VmArg a)
{
  if (a.space == VM_INPUT)
    sb_printf(b, "x%u", a.idx);
  else if (a.space == VM_TEMP)
    sb_printf(b, "t%u", a.idx);
  else
    sb_num(b, a.k);
}

void vm_dump(StrBuf *b, const VmProg *p)
{
  sb_printf(b, "plan %s: %d input%s, %d output%s, %u temporaries, %d instructions\n", p->name,
            p->in_dim, p->in_dim == 1 ? "" : "s", p->out_dim, p->out_dim == 1 ? "" : "s",
            p->ntemps, p->ncode);
  for (int i = 0; i < p->ncode; i++) {
    const VmIns *ins = &p->code[i];
    sb_printf(b, "  %3d  t%u = %s ", i, ins->dst, vm_op_name(ins->op));
    if (ins->op == VM_GEMM) {
      sb_printf(b, "[%u×%u matrix] · ", ins->rows, ins->cols);
      arg_text(b, ins->a);
      sb_printf(b, "..+%u  -> t%u..t%u", ins->cols - 1, ins->dst, ins->dst + ins->rows - 1);
    } else if (ins->op == VM_LINCOMB) {
      sb_num(b, ins->k);
      for (uint32_t j = 0; j < ins->nsrc; j++) {
        sb_puts(b, " + ");
        sb_num(b, ins->mat[j]);
        sb_puts(b, "·");
        arg_text(b, ins->srcs[j]);
      }
    } else if (ins->op == VM_CALL) {
      sb_printf(b, "%s(", ins->fn->name);
      arg_text(b, ins->a);
      sb_printf(b, "..+%d)", ins->fn->in_dim - 1);
    } else {
      arg_text(b, ins->op == VM_SELECT ? ins->c : ins->a);
      if (ins->op >= VM_ADD) {
        sb_puts(b, ", ");
        arg_text(b, ins->op == VM_SELECT ? ins->a : ins->b);
      }
      if (ins->op == VM_SELECT) {
        sb_puts(b, ", ");
        arg_text(b, ins->b);
      }
      if (ins->op == VM_AXPY)
        sb_printf(b, " * %.17g", ins->k);
    }
    sb_putc(b, '\n');
  }
  sb_puts(b, "  out:");
  for (int k = 0; k < p->out_dim; k++) {
    sb_putc(b, ' ');
    arg_text(b, p->out[k]);
  }
  sb_putc(b, '\n');
}
