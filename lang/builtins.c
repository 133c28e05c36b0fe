/*
 * builtins.c — the builtin table, lookup, and argument helpers shared by the
 * implementations in bi_*.c.
 */
#include "builtins.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "../runtime/result.h"
#include "bi.h"
#include "eval.h"

#define N(x) ((int)(sizeof(x) / sizeof((x)[0])))

/* Parameter lists.  The estimating queries end with the three options every
 * estimate takes. */
#define EST_OPTS {"samples", KS(V_NUM), P_NAMED}, {"seed", KS(V_NUM), P_NAMED}, \
                 {"method", KS(V_STR), P_NAMED}
#define RT_OR_MODEL (KS(V_ROUTER) | KS(V_MODEL))

static const BParam p_x[] = {{"x", KS_NUMERIC, P_REQ}};
static const BParam p_minmax[] = {{"a", KS_NUMERIC, P_REQ}, {"b", KS_NUMERIC, 0}};
static const BParam p_dot[] = {{"a", KS_NUMERIC, P_REQ}, {"b", KS_NUMERIC, P_REQ}};
static const BParam p_len[] = {{"x", KS_ANY & ~KS(V_NIL), P_REQ}};
static const BParam p_shape[] = {{"rows", KS(V_NUM), P_REQ}, {"cols", KS(V_NUM), 0}};
static const BParam p_eye[] = {{"n", KS(V_NUM), P_REQ}};
static const BParam p_range[] = {{"from", KS(V_NUM), P_REQ}, {"to", KS(V_NUM), 0},
                                 {"step", KS(V_NUM), 0}};
static const BParam p_load[] = {{"path", KS(V_STR), P_REQ}};

static const BParam p_normal[] = {{"mean", KS(V_VEC) | KS(V_NUM), 0},
                                  {"cov", KS(V_MAT) | KS(V_NUM), 0},
                                  {"dim", KS(V_NUM), 0}};
static const BParam p_uniform[] = {{"lo", KS(V_VEC) | KS(V_NUM), P_REQ},
                                   {"hi", KS(V_VEC) | KS(V_NUM), P_REQ},
                                   {"dim", KS(V_NUM), 0}};
static const BParam p_mixture[] = {{"weights", KS(V_VEC) | KS(V_NUM), P_REQ},
                                   {"of", KS(V_LIST), P_REQ}};
static const BParam p_empirical[] = {{"path", KS(V_STR), P_REQ},
                                     {"replace", KS(V_BOOL), P_NAMED}};
static const BParam p_linear[] = {{"W", KS(V_MAT), P_REQ}, {"b", KS(V_VEC), 0}};
static const BParam p_affine[] = {{"beta", KS(V_VEC) | KS(V_NUM), P_REQ},
                                  {"c", KS(V_NUM), 0}};
static const BParam p_teacher[] = {{"router", KS(V_ROUTER), P_REQ},
                                   {"experts", KS(V_LIST), P_REQ}};
static const BParam p_moe[] = {{"router", KS(V_ROUTER), P_REQ},
                               {"experts", KS(V_LIST), P_REQ},
                               {"gate", KS(V_GATE), 0}};
static const BParam p_topk[] = {{"k", KS(V_NUM), P_REQ}};
static const BParam p_sched[] = {{"from", KS(V_NUM), P_REQ}, {"to", KS(V_NUM), P_REQ},
                                 {"steps", KS(V_NUM), P_REQ}};
static const BParam p_rate[] = {{"from", KS(V_NUM), P_REQ}, {"rate", KS(V_NUM), P_REQ},
                                {"steps", KS(V_NUM), P_REQ}};

static const BParam p_margin[] = {{"router", RT_OR_MODEL, P_REQ},
                                  {"at", KS_POINTS, P_REQ},
                                  {"order", KS(V_NUM), P_NAMED},
                                  {"k", KS(V_NUM), P_NAMED}};
static const BParam p_mass[] = {{"router", RT_OR_MODEL, P_REQ},
                                {"law", KS(V_LAW), P_REQ},
                                {"w", KS(V_VEC) | KS(V_NUM), P_REQ},
                                {"order", KS(V_NUM), P_NAMED},
                                {"k", KS(V_NUM), P_NAMED}, EST_OPTS};
static const BParam p_density[] = {{"router", RT_OR_MODEL, P_REQ},
                                   {"law", KS(V_LAW), P_REQ},
                                   {"order", KS(V_NUM), P_NAMED},
                                   {"k", KS(V_NUM), P_NAMED}, EST_OPTS};
static const BParam p_gate[] = {{"model", KS(V_MODEL), P_REQ},
                                {"at", KS_POINTS, P_REQ},
                                {"tau", KS(V_NUM) | KS(V_VEC) | KS(V_SCHED), P_REQ}};
static const BParam p_iface[] = {{"router", RT_OR_MODEL, P_REQ},
                                 {"law", KS(V_LAW), P_REQ},
                                 {"f", KS(V_EXPERT) | KS(V_FUNC) | KS(V_NUM), P_REQ},
                                 EST_OPTS};
static const BParam p_layer[] = {{"router", RT_OR_MODEL, P_REQ},
                                 {"law", KS(V_LAW), P_REQ},
                                 {"schedule", KS(V_SCHED) | KS(V_VEC) | KS(V_NUM), P_REQ},
                                 {"order", KS(V_NUM), P_NAMED},
                                 {"k", KS(V_NUM), P_NAMED}, EST_OPTS};
static const BParam p_risk[] = {{"model", KS(V_MODEL), P_REQ},
                                {"target", KS(V_TARGET), P_REQ},
                                {"law", KS(V_LAW), P_REQ},
                                {"schedule", KS(V_SCHED) | KS(V_VEC) | KS(V_NUM), P_REQ},
                                EST_OPTS};
static const BParam p_kappa[] = {{"model", KS(V_MODEL), P_REQ},
                                 {"target", KS(V_TARGET), P_REQ},
                                 {"law", KS(V_LAW), P_REQ}, EST_OPTS};
static const BParam p_hessian[] = {{"model", KS(V_MODEL), P_REQ},
                                   {"target", KS(V_TARGET), P_REQ},
                                   {"law", KS(V_LAW), P_REQ},
                                   {"tau", KS(V_NUM), P_REQ | P_NAMED}, EST_OPTS};
static const BParam p_alignment[] = {{"model", KS(V_MODEL), P_REQ},
                                     {"teacher", KS(V_TARGET), P_REQ}, EST_OPTS,
                                     {"law", KS(V_LAW), P_NAMED}};

#define MATH1(nm, fn, doc) {nm, V_NIL, p_x, 1, fn, 0, 0, doc}

static const Builtin table[] = {
    MATH1("sin", bi_sin, "sine, element-wise"),
    MATH1("cos", bi_cos, "cosine, element-wise"),
    MATH1("tan", bi_tan, "tangent, element-wise"),
    MATH1("exp", bi_exp, "exponential, element-wise"),
    MATH1("log", bi_log, "natural logarithm, element-wise"),
    MATH1("log1p", bi_log1p, "log(1 + x), accurate for small x"),
    MATH1("sqrt", bi_sqrt, "square root, element-wise"),
    MATH1("abs", bi_abs, "absolute value, element-wise"),
    MATH1("tanh", bi_tanh, "hyperbolic tangent, element-wise"),
    MATH1("sigmoid", bi_sigmoid, "1 / (1 + exp(-x)), element-wise"),
    MATH1("softplus", bi_softplus, "log(1 + exp(x)), element-wise"),
    MATH1("erf", bi_erf, "error function, element-wise"),
    {"min", V_NIL, p_minmax, N(p_minmax), bi_min, 0, 0, "smallest entry, or element-wise minimum of two"},
    {"max", V_NIL, p_minmax, N(p_minmax), bi_max, 0, 0, "largest entry, or element-wise maximum of two"},
    {"sum", V_NUM, p_x, 1, bi_sum, 0, 0, "sum of the entries"},
    {"dot", V_NUM, p_dot, N(p_dot), bi_dot, 0, 0, "dot product of two vectors"},
    {"norm", V_NUM, p_x, 1, bi_norm, 0, 0, "Euclidean norm"},
    {"len", V_NUM, p_len, 1, bi_len, 0, 0, "number of entries (rows of a matrix)"},
    {"zeros", V_NIL, p_shape, N(p_shape), bi_zeros, 0, 0, "zeros(n) or zeros(rows, cols)"},
    {"ones", V_NIL, p_shape, N(p_shape), bi_ones, 0, 0, "ones(n) or ones(rows, cols)"},
    {"eye", V_MAT, p_eye, 1, bi_eye, 0, 0, "identity matrix"},
    {"range", V_VEC, p_range, N(p_range), bi_range, 0, 0, "range(n), range(a, b) or range(a, b, step)"},
    {"load", V_NIL, p_load, 1, bi_load, 0, 0, "a matrix or vector from a .npy or CSV file"},

    {"normal", V_LAW, p_normal, N(p_normal), bi_normal, 0, 0, "normal law: mean, cov, dim"},
    {"uniform", V_LAW, p_uniform, N(p_uniform), bi_uniform, 0, 0, "uniform law on the box [lo, hi]"},
    {"mixture", V_LAW, p_mixture, N(p_mixture), bi_mixture, 0, 0, "mixture of laws: weights, of"},
    {"empirical", V_LAW, p_empirical, N(p_empirical), bi_empirical, 0, 0, "the rows of a .csv or .npy file"},
    {"linear", V_ROUTER, p_linear, N(p_linear), bi_linear_router, 0, 0, "linear router a(x) = W x + b"},
    {"affine", V_EXPERT, p_affine, N(p_affine), bi_affine, 0, 0, "affine expert beta·x + c"},
    {"teacher", V_TARGET, p_teacher, N(p_teacher), bi_teacher, 0, 0, "hard-routed teacher: router, experts"},
    {"moe", V_MODEL, p_moe, N(p_moe), bi_moe, 0, 0, "mixture-of-experts model: router, experts, gate"},
    {"softmax", V_GATE, NULL, 0, bi_softmax, 1, 0, "the softmax gate (default)"},
    {"topk", V_GATE, p_topk, N(p_topk), bi_topk, 0, 0, "softmax over the k largest logits"},
    {"geometric", V_SCHED, p_sched, N(p_sched), bi_geometric, 0, 0, "geometric schedule from, to, steps"},
    {"linear", V_SCHED, p_sched, N(p_sched), bi_linear_sched, 0, 0, "linear schedule from, to, steps"},
    {"cosine", V_SCHED, p_sched, N(p_sched), bi_cosine, 0, 0, "cosine schedule from, to, steps"},
    {"exponential", V_SCHED, p_rate, N(p_rate), bi_exponential, 0, 0, "from · exp(-rate · t)"},
    {"inverse", V_SCHED, p_rate, N(p_rate), bi_inverse, 0, 0, "from / (1 + rate · t)"},

    {"margin", V_RESULT, p_margin, N(p_margin), bi_margin, 0, 0, "top-two margin at points"},
    {"gate", V_RESULT, p_gate, N(p_gate), bi_gate, 0, 0, "soft and hard gate at points"},
    {"boundary_mass", V_RESULT, p_mass, N(p_mass), bi_boundary_mass, 0, 1, "M(w) = P(margin <= w)"},
    {"boundary_density", V_RESULT, p_density, N(p_density), bi_boundary_density, 0, 1, "C = lim M(w)/w"},
    {"interface_integral", V_RESULT, p_iface, N(p_iface), bi_interface_integral, 0, 1, "integral of f over the routing interface"},
    {"layer", V_RESULT, p_layer, N(p_layer), bi_layer, 0, 1, "L(tau) = E exp(-margin/tau)"},
    {"risk", V_RESULT, p_risk, N(p_risk), bi_risk, 0, 1, "soft and hard risk along a schedule"},
    {"kappa", V_RESULT, p_kappa, N(p_kappa), bi_kappa, 0, 1, "first-order coefficient of the gap"},
    {"hessian", V_RESULT, p_hessian, N(p_hessian), bi_hessian, 0, 1, "Hessian of the soft risk"},
    {"alignment", V_RESULT, p_alignment, N(p_alignment), bi_alignment, 0, 1, "student vs teacher routing"},
};

const Builtin *builtin_lookup(const char *name, int *n)
{
  const Builtin *first = NULL;
  *n = 0;
  for (int i = 0; i < N(table); i++)
    if (strcmp(table[i].name, name) == 0) {
      if (!first)
        first = &table[i];
      (*n)++;
    }
  return first;
}

int builtin_param(const Builtin *b, const char *name)
{
  for (int i = 0; i < b->nparams; i++)
    if (strcmp(b->params[i].name, name) == 0)
      return i;
  return -1;
}

/* Among same-named builtins: the one whose result the context wants, else
 * the one that has every named argument of the call. */
/* Overloads share a name (linear router / linear schedule) and need not be
 * adjacent in the table: the one whose result kind the context expects wins,
 * then the first whose parameters cover every named argument, then the first. */
const Builtin *builtin_choose(const char *name, VKind expect, const ArgList *args)
{
  int n;
  const Builtin *first = builtin_lookup(name, &n);
  if (n <= 1)
    return first;
  for (int i = 0; i < N(table); i++)
    if (strcmp(table[i].name, name) == 0 && table[i].result == expect)
      return &table[i];
  for (int i = 0; i < N(table); i++) {
    if (strcmp(table[i].name, name) != 0)
      continue;
    int all = 1;
    for (int k = 0; args && k < args->n; k++)
      if (args->v[k].name && builtin_param(&table[i], args->v[k].name) < 0)
        all = 0;
    if (all)
      return &table[i];
  }
  return first;
}

const char *const *builtin_names(void)
{
  static const char *names[N(table) + 1];
  if (!names[0]) {
    int k = 0;
    for (int i = 0; i < N(table); i++) {
      int dup = 0;
      for (int j = 0; j < k; j++)
        dup |= strcmp(names[j], table[i].name) == 0;
      if (!dup)
        names[k++] = table[i].name;
    }
    names[k] = NULL;
  }
  return names;
}

void builtin_params_text(StrBuf *sb, const Builtin *b)
{
  if (b->nparams == 0)
    sb_puts(sb, "(none)");
  for (int i = 0; i < b->nparams; i++)
    sb_printf(sb, "%s%s", i ? ", " : "", b->params[i].name);
}

/* ------------------------------------------------------------ errors */

int call_error(Call *c, int i, const char *fmt, ...)
{
  const Expr *at = i >= 0 && c->arg_expr[i] ? c->arg_expr[i] : c->expr;
  va_list ap;
  va_start(ap, fmt);
  diag_verror(&c->I->diags, at->pos, at->len, fmt, ap);
  va_end(ap);
  return 1;
}

int call_rt_error(Call *c, int i)
{
  Rt *rt = &c->I->rt;
  int r = call_error(c, i, "%s", rt->msg[0] ? rt->msg : "out of memory");
  rt_clear(rt);
  return r;
}

/* ------------------------------------------------------------ arguments */

int arg_num(Call *c, int i, double def, double *x)
{
  if (!arg_given(c, i)) {
    *x = def;
    return 0;
  }
  if (c->arg[i].kind != V_NUM)
    return call_error(c, i, "'%s' must be a number, not %s", c->b->params[i].name,
                      kind_article(c->arg[i].kind));
  *x = c->arg[i].u.num;
  return 0;
}

int arg_int(Call *c, int i, long def, long lo, long hi, long *n)
{
  double x = 0;
  if (arg_num(c, i, (double)def, &x))
    return 1;
  if (x != floor(x))
    return call_error(c, i, "'%s' must be a whole number, not %g", c->b->params[i].name, x);
  if (x < (double)lo || x > (double)hi) {
    if (hi == LONG_MAX)
      return call_error(c, i, "'%s' must be >= %ld (got %g)", c->b->params[i].name, lo, x);
    return call_error(c, i, "'%s' must be between %ld and %ld (got %g)", c->b->params[i].name,
                      lo, hi, x);
  }
  *n = (long)x;
  return 0;
}

int arg_bool(Call *c, int i, int def, int *b)
{
  if (!arg_given(c, i)) {
    *b = def;
    return 0;
  }
  if (c->arg[i].kind != V_BOOL)
    return call_error(c, i, "'%s' must be true or false", c->b->params[i].name);
  *b = c->arg[i].u.b;
  return 0;
}

int arg_str(Call *c, int i, const char **s)
{
  if (c->arg[i].kind != V_STR)
    return call_error(c, i, "'%s' must be a string", c->b->params[i].name);
  *s = as_str(c->arg[i])->s;
  return 0;
}

int arg_vec(Call *c, int i, const double **v, size_t *n)
{
  Value a = c->arg[i];
  if (a.kind == V_NUM) {
    *v = &c->arg[i].u.num;
    *n = 1;
    return 0;
  }
  if (a.kind == V_VEC) {
    *v = as_vec(a)->v;
    *n = as_vec(a)->n;
    return 0;
  }
  return call_error(c, i, "'%s' must be a vector, not %s", c->b->params[i].name,
                    kind_article(a.kind));
}

int arg_mat(Call *c, int i, const double **v, size_t *rows, size_t *cols)
{
  Value a = c->arg[i];
  if (a.kind == V_MAT) {
    *v = as_mat(a)->v;
    *rows = as_mat(a)->rows;
    *cols = as_mat(a)->cols;
    return 0;
  }
  if (a.kind == V_VEC) {
    *v = as_vec(a)->v;
    *rows = 1;
    *cols = as_vec(a)->n;
    return 0;
  }
  return call_error(c, i, "'%s' must be a matrix, not %s", c->b->params[i].name,
                    kind_article(a.kind));
}

int arg_file_allowed(Call *c, int i, const char *path)
{
  if (!c->I->limits.no_files)
    return 0;
  return call_error(c, i, "cannot read '%s': this session may not read files", path);
}

int arg_query(Call *c, QueryArgs *q)
{
  const Settings *s = &c->I->set;
  c->I->rt.threads = s->threads;    /* the setting in force for this query */
  int is = builtin_param(c->b, "samples"), ie = builtin_param(c->b, "seed"),
      im = builtin_param(c->b, "method");
  long samples, seed;
  q->o.method = s->method;
  q->method_given = 0;
  if (arg_int(c, is, (long)s->samples, 1, (long)4e18, &samples) ||
      arg_int(c, ie, (long)s->seed, 0, (long)9e15, &seed))
    return 1;
  q->o.samples = (uint64_t)samples;
  if (c->I->limits.max_samples && q->o.samples > c->I->limits.max_samples)
    q->o.samples = c->I->limits.max_samples;
  q->o.seed = (uint64_t)seed;
  if (arg_given(c, im)) {
    const char *m = "";
    if (arg_str(c, im, &m))
      return 1;
    int k = method_parse(m);
    if (k < 0) {
      call_error(c, im, "unknown method \"%s\"", m);
      diag_hint(&c->I->diags, "the methods are \"auto\", \"exact\", \"quadrature\" and \"mc\"");
      return 1;
    }
    q->o.method = (Method)k;
    q->method_given = 1;
  }
  return 0;
}

void call_what(Call *c, StrBuf *sb, const char *noun)
{
  const Stmt *d = c->I->decl;
  if (d && d->value == c->expr) {
    sb_printf(sb, "%s %s", noun, d->name);
    return;
  }
  size_t n;
  const char *t = ast_text(c->expr, &n);
  sb_printf(sb, "%.*s", (int)(n > 60 ? 60 : n), t);
}

/* The heading of a report is the query's arguments as the user wrote them. */
int call_result(Call *c, Result *res, Value *out)
{
  const ArgList *args = &c->expr->u.call.args;
  if (args->n > 0) {
    const Expr *first = args->v[0].value, *last = args->v[args->n - 1].value;
    uint32_t start = args->v[0].name ? first->off : first->off;
    const Source *src = c->expr->pos.src;
    if (args->v[0].name) {
      /* include "name = " of a leading named argument */
      const char *p = src->text + start;
      while (p > src->text && p[-1] != '(' && p[-1] != ',')
        p--;
      while (*p == ' ')
        p++;
      start = (uint32_t)(p - src->text);
    }
    uint32_t end = last->off + last->len;
    result_objects(res, src->text + start, end - start);
  } else {
    result_objects(res, "", 0);
  }
  if (result_check(&c->I->rt, res)) {
    result_unref(res);
    return call_rt_error(c, -1);
  }
  *out = val_obj(V_RESULT, res);
  return 0;
}
