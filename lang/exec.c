/*
 * exec.c — executing statements: bindings, declarations, settings, reports,
 * loops.  Each function returns 0 or 1 after reporting an error.
 */
#include "exec.h"

#include <math.h>
#include <string.h>

#include "../runtime/model.h"
#include "../runtime/result.h"
#include "builtins.h"
#include "eval.h"
#include "foreign.h"
#include "import.h"
#include "lower.h"
#include "report.h"

static const VKind decl_kind[] = {V_LAW, V_ROUTER, V_EXPERT, V_TARGET, V_MODEL, V_SCHED};

/* Binds a statement's name in the current scope, refusing to rebind a name
 * of the same scope in a script (the REPL may redefine). */
static int define(Interp *I, const Stmt *s, Value v)
{
  Scope *scope = I->locals ? I->locals : &I->globals;
  Binding *old = scope_find(scope, s->name);
  int from_prelude = old && scope == &I->globals && (int)(old - I->globals.v) < I->prelude_names;
  if (old && !I->repl && !from_prelude) {
    val_drop(&I->rt, v);
    eval_error_at(I, s->name_pos, (uint32_t)strlen(s->name), "'%s' is already defined",
                  s->name);
    if (old->pos.src)
      diag_hint(&I->diags, "it was defined at %s:%u:%u; choose another name",
                old->pos.src->name, old->pos.line, old->pos.col);
    else
      diag_hint(&I->diags, "the host program defined it (moe_set_*); choose another name");
    return 1;
  }
  if (scope_bind(I, scope, s->name, v, s->name_pos))
    return eval_error_at(I, s->name_pos, 1, "out of memory");
  return 0;
}

static int exec_let(Interp *I, const Stmt *s)
{
  Value v;
  if (eval_expr(I, s->value, V_NIL, &v))
    return 1;
  return define(I, s, v);
}

static int exec_fn(Interp *I, const Stmt *s)
{
  Value f = val_func(&I->rt, s);
  if (f.kind == V_NIL)
    return eval_error_at(I, s->pos, 2, "out of memory");
  return define(I, s, f);
}

/* A schedule may be written as a list of temperatures. */
static int as_schedule(Interp *I, const Stmt *s, Value *v)
{
  size_t n;
  double *tmp;
  const double *tau = val_numbers(I, *v, &n, &tmp);
  if (!tau)
    return eval_error(I, s->value, "schedule %s must be a schedule or a list of temperatures, "
                      "not %s", s->name, kind_article(v->kind));
  Schedule *sc;
  RtStatus st = schedule_new(&I->rt, tau, n, &sc);
  rt_free(&I->rt, tmp);
  if (st) {
    eval_error(I, s->value, "%s", I->rt.msg);
    rt_clear(&I->rt);
    return 1;
  }
  val_drop(&I->rt, *v);
  *v = val_obj(V_SCHED, sc);
  return 0;
}

/* `target t = teacher(...) noise s`: the noise clause gives the target its
 * noise level. */
static int apply_noise(Interp *I, const Stmt *s, Value *v)
{
  double sigma;
  if (eval_number(I, s->noise, &sigma))
    return 1;
  Target *t;
  if (target_with_noise(&I->rt, v->u.p, sigma, &t)) {
    eval_error(I, s->noise, "%s", I->rt.msg);
    rt_clear(&I->rt);
    return 1;
  }
  val_drop(&I->rt, *v);
  *v = val_obj(V_TARGET, t);
  return 0;
}

static int wrong_kind(Interp *I, const Stmt *s, Value v)
{
  size_t n;
  const char *text = ast_text(s->value, &n);
  const char *paren = memchr(text, '(', n);
  int shown = paren ? (int)(paren - text) : (int)n;
  eval_error(I, s->value, "%.*s%s builds %s, not %s", shown > 40 ? 40 : shown, text,
             paren ? "(...)" : "", kind_article(v.kind), kind_article(decl_kind[s->decl]));
  diag_hint(&I->diags, "declare it with '%s %s = ...' or use %s %s constructor",
            v.kind >= V_LAW && v.kind <= V_SCHED ? ast_decl_name((DeclKind)(v.kind - V_LAW))
                                                 : "let",
            s->name, s->decl == D_EXPERT ? "an" : "a", ast_decl_name(s->decl));
  return 1;
}

static int exec_decl_value(Interp *I, const Stmt *s)
{
  VKind want = decl_kind[s->decl];
  Value v;
  const Stmt *saved = I->decl;
  I->decl = s;
  int err = eval_expr(I, s->value, want, &v);
  I->decl = saved;
  if (err)
    return 1;
  /* `expert e = f` for an extern f: the C function as an object. */
  if (ffi_coerce(I, s->value, KS(want), 0, &v)) {
    val_drop(&I->rt, v);
    return 1;
  }
  if (want == V_SCHED && v.kind != V_SCHED)
    err = as_schedule(I, s, &v);
  else if (v.kind != want)
    err = wrong_kind(I, s, v);
  if (!err && s->noise && want != V_TARGET)
    err = eval_error(I, s->noise, "'noise' belongs to targets, not to %s",
                     kind_article(decl_kind[s->decl]));
  if (!err && s->noise)
    err = apply_noise(I, s, &v);
  if (!err && s->opts.n)
    err = eval_error_at(I, s->opts.v[0].name_pos, 1,
                        "'with' options belong to schedules written as expressions in t");
  if (err) {
    val_drop(&I->rt, v);
    return 1;
  }
  return define(I, s, v);
}

static int exec_decl(Interp *I, const Stmt *s)
{
  if (!s->has_params)
    return exec_decl_value(I, s);
  Value v;
  if (lower_decl(I, s, &v))
    return 1;
  return define(I, s, v);
}

/* ------------------------------------------------------------ set */

static int set_int(Interp *I, const Stmt *s, double x, double lo, double hi, uint64_t *dst)
{
  if (x != floor(x) || x < lo || x > hi)
    return eval_error(I, s->value, "%s must be a whole number from %.0f to %.0f, not %g",
                      s->name, lo, hi, x);
  *dst = (uint64_t)x;
  return 0;
}

static int set_number(Interp *I, const Stmt *s, unsigned lock)
{
  double x;
  if (eval_number(I, s->value, &x))
    return 1;
  if (I->locked & lock)
    return 0;     /* the command line fixed it */
  uint64_t u = 0;
  if (strcmp(s->name, "seed") == 0)
    return set_int(I, s, x, 0, 9007199254740991.0, &I->set.seed);
  if (strcmp(s->name, "samples") == 0)
    return set_int(I, s, x, 1, 4e18, &I->set.samples);
  if (strcmp(s->name, "threads") == 0) {
    if (set_int(I, s, x, 1, 256, &u))
      return 1;
    I->set.threads = (int)u;
    return 0;
  }
  if (!(x > 0 && x < 1))
    return eval_error(I, s->value, "confidence must be between 0 and 1, not %g", x);
  I->set.confidence = x;
  return 0;
}

static int exec_set(Interp *I, const Stmt *s)
{
  static const char *const names[] = {"seed", "samples", "threads", "confidence", "method"};
  static const unsigned locks[] = {LOCK_SEED, LOCK_SAMPLES, LOCK_THREADS, 0, LOCK_METHOD};
  for (int i = 0; i < 4; i++)
    if (strcmp(s->name, names[i]) == 0)
      return set_number(I, s, locks[i]);
  if (strcmp(s->name, "method") == 0) {
    Value v;
    if (eval_expr(I, s->value, V_STR, &v))
      return 1;
    int m = v.kind == V_STR ? method_parse(as_str(v)->s) : -1;
    val_drop(&I->rt, v);
    if (m < 0) {
      eval_error(I, s->value, "method must be \"auto\", \"exact\", \"quadrature\" or \"mc\"");
      return 1;
    }
    if (!(I->locked & LOCK_METHOD))
      I->set.method = (Method)m;
    return 0;
  }
  eval_error_at(I, s->name_pos, (uint32_t)strlen(s->name), "unknown setting '%s'", s->name);
  const char *best = diag_suggest(s->name, names, 5);
  if (best)
    diag_hint(&I->diags, "did you mean '%s'? the settings are seed, samples, threads, "
              "confidence and method", best);
  else
    diag_hint(&I->diags, "the settings are seed, samples, threads, confidence and method");
  return 1;
}

/* ------------------------------------------------------------ output */

static int exec_report(Interp *I, const Stmt *s)
{
  Value v;
  if (eval_expr(I, s->value, V_RESULT, &v))
    return 1;
  if (v.kind != V_RESULT) {
    eval_error(I, s->value, "report needs a query result (such as boundary_mass(...)), "
               "not %s", kind_article(v.kind));
    diag_hint(&I->diags, "use 'print' to show other values");
    val_drop(&I->rt, v);
    return 1;
  }
  int err = report_result(I, v.u.p);
  val_drop(&I->rt, v);
  return err;
}

static int exec_print(Interp *I, const Stmt *s)
{
  StrBuf b;
  sb_init(&b, &I->rt);
  for (int i = 0; i < s->exprs.n; i++) {
    Value v;
    if (eval_expr(I, s->exprs.v[i], V_NIL, &v)) {
      sb_free(&b);
      return 1;
    }
    if (i)
      sb_putc(&b, ' ');
    if (v.kind == V_RESULT)
      report_text(&b, v.u.p);
    else
      val_format(&b, v);
    val_drop(&I->rt, v);
  }
  int err = report_line(I, &b);
  sb_free(&b);
  return err;
}

/* ------------------------------------------------------------ for */

/* One pass; each pass counts as a step and sees Ctrl-C, even with an
 * empty body. */
static int run_body(Interp *I, const Stmt *s, Value item)
{
  if (I->interrupt || interp_over_budget(I)) {
    val_drop(&I->rt, item);
    if (I->interrupt)
      return eval_error_at(I, s->pos, 1, "interrupted");
    return eval_error_at(I, s->pos, 1, "this session's limit of %llu steps is reached",
                         (unsigned long long)I->limits.max_steps);
  }
  Scope frame;
  memset(&frame, 0, sizeof frame);
  frame.parent = I->locals;
  Scope *saved = I->locals;
  int err = scope_bind(I, &frame, s->name, item, s->name_pos);
  if (err)
    eval_error_at(I, s->name_pos, 1, "out of memory");
  I->locals = &frame;
  for (int i = 0; !err && i < s->body.n; i++)
    err = exec_stmt(I, s->body.v[i]);
  I->locals = saved;
  scope_free(I, &frame);
  return err;
}

static int exec_for(Interp *I, const Stmt *s)
{
  Value seq;
  if (eval_expr(I, s->value, V_NIL, &seq))
    return 1;
  int err = 0;
  switch (seq.kind) {
  case V_VEC:
    for (size_t i = 0; !err && i < as_vec(seq)->n; i++)
      err = run_body(I, s, val_num(as_vec(seq)->v[i]));
    break;
  case V_SCHED: {
    const Schedule *sc = seq.u.p;
    for (size_t i = 0; !err && i < sc->n; i++)
      err = run_body(I, s, val_num(sc->tau[i]));
    break;
  }
  case V_LIST:
    for (size_t i = 0; !err && i < as_list(seq)->n; i++)
      err = run_body(I, s, val_copy(as_list(seq)->v[i]));
    break;
  case V_MAT: {
    const VMat *m = as_mat(seq);
    for (size_t i = 0; !err && i < m->rows; i++) {
      Value row = val_vec(&I->rt, m->cols);
      if (row.kind == V_NIL)
        err = eval_error(I, s->value, "out of memory");
      else
        memcpy(as_vec(row)->v, m->v + i * m->cols, m->cols * sizeof(double));
      err = err || run_body(I, s, row);
    }
    break;
  }
  case V_NUM:
    err = run_body(I, s, val_num(seq.u.num));
    break;
  default:
    err = eval_error(I, s->value, "cannot loop over %s", kind_article(seq.kind));
  }
  val_drop(&I->rt, seq);
  return err;
}

/* ------------------------------------------------------------ other */

static int exec_expr(Interp *I, const Stmt *s)
{
  Value v;
  if (eval_expr(I, s->value, V_NIL, &v))
    return 1;
  int err = 0;
  if (I->repl) {
    if (v.kind == V_RESULT) {
      err = report_result(I, v.u.p);
    } else if (v.kind != V_NIL) {
      StrBuf b;
      sb_init(&b, &I->rt);
      val_format(&b, v);
      err = report_line(I, &b);
      sb_free(&b);
    }
  }
  val_drop(&I->rt, v);
  return err;
}

static int exec_extern(Interp *I, const Stmt *s)
{
  Value f;
  if (ffi_load(I, s, &f))
    return 1;
  return define(I, s, f);
}

int exec_stmt(Interp *I, const Stmt *s)
{
  if (I->interrupt)
    return eval_error_at(I, s->pos, 1, "interrupted");
  if (interp_over_budget(I))
    return eval_error_at(I, s->pos, 1, "this session's limit of %llu steps is reached",
                         (unsigned long long)I->limits.max_steps);
  switch (s->kind) {
  case S_LET: return exec_let(I, s);
  case S_FN: return exec_fn(I, s);
  case S_DECL: return exec_decl(I, s);
  case S_SET: return exec_set(I, s);
  case S_REPORT: return exec_report(I, s);
  case S_PRINT: return exec_print(I, s);
  case S_FOR: return exec_for(I, s);
  case S_EXPR: return exec_expr(I, s);
  case S_IMPORT: return import_run(I, s);
  case S_EXTERN: return exec_extern(I, s);
  case S_TRAIN: return exec_train(I, s);
  }
  return 0;
}

/* --dump-plan runs the definitions only: what prints or computes results
 * is skipped. */
static int skipped(const Interp *I, const Stmt *s)
{
  return I->dump_plan && (s->kind == S_REPORT || s->kind == S_PRINT || s->kind == S_EXPR ||
                          s->kind == S_TRAIN || s->kind == S_FOR);
}

int exec_program(Interp *I, const Program *p)
{
  for (int i = 0; i < p->stmts.n; i++)
    if (!skipped(I, p->stmts.v[i]) && exec_stmt(I, p->stmts.v[i]))
      return 1;
  return 0;
}
