/*
 * exec_train.c — the `train m on y under X with ...` statement: its options,
 * the call into runtime/train.c, the report, and the rebinding of m.
 *
 * Training is copy-on-train: the runtime builds a new model and the name m
 * is rebound to it, in the scope where m lives.  Every other holder of the
 * old model or of its router and experts (a teacher built from the same
 * expert, `let m0 = m`, a list) keeps the old parameters.  If training
 * fails (divergence, an interrupt) m is left as it was.
 */
#include <math.h>
#include <string.h>

#include "../runtime/train.h"
#include "diag.h"
#include "eval.h"
#include "exec.h"
#include "report.h"

static const char *const options[] = {"schedule", "steps", "lr", "batch", "fixed",
                                      "optimizer", "log_every", "seed", "init",
                                      "init_scale", "w", NULL};

const char *const *train_option_names(void) { return options; }

typedef struct TrainArgs {
  TrainOpts o;
  Value sched, init;     /* kept alive while training */
  double *tau_tmp;       /* a list of temperatures, copied */
  const Expr *at[11];    /* each option's expression, NULL when absent */
} TrainArgs;

static int opt_index(const char *name)
{
  for (int i = 0; options[i]; i++)
    if (strcmp(options[i], name) == 0)
      return i;
  return -1;
}

/* x, already evaluated, as a whole number in [lo, 2^53]. */
static int whole_value(Interp *I, const Expr *e, const char *name, double lo, double x,
                       uint64_t *out)
{
  if (x != floor(x) || x < lo || x > 9007199254740992.0)
    return eval_error(I, e, "%s must be a whole number >= %.0f (got %g)", name, lo, x);
  *out = (uint64_t)x;
  return 0;
}

static int whole(Interp *I, const Expr *e, const char *name, double lo, uint64_t *out)
{
  double x;
  return eval_number(I, e, &x) || whole_value(I, e, name, lo, x, out);
}

/* batch and fixed: a sample count of two or more, since every logged step
 * reports its risk with a standard error. */
static int sample_count(Interp *I, const Expr *e, const char *name, uint64_t *out)
{
  double x;
  if (eval_number(I, e, &x))
    return 1;
  if (whole_value(I, e, name, 2, x, out)) {
    diag_hint(&I->diags, "each logged step reports its risk with a standard error, which "
              "needs two samples at least");
    return 1;
  }
  return 0;
}

static int positive(Interp *I, const Expr *e, const char *name, int allow_zero, double *out)
{
  if (eval_number(I, e, out))
    return 1;
  if (allow_zero ? *out < 0 : *out <= 0)
    return eval_error(I, e, "%s must be %s (got %g)", name, allow_zero ? ">= 0" : "> 0", *out);
  return 0;
}

static int string_opt(Interp *I, const Expr *e, const char *name, int (*parse)(const char *),
                      const char *choices, int *out)
{
  Value v;
  if (eval_expr(I, e, V_STR, &v))
    return 1;
  *out = v.kind == V_STR ? parse(as_str(v)->s) : -1;
  val_drop(&I->rt, v);
  if (*out < 0)
    return eval_error(I, e, "%s must be %s", name, choices);
  return 0;
}

/* The schedule: a schedule, a vector of temperatures or one number. */
static int schedule_opt(Interp *I, const Expr *e, TrainArgs *a)
{
  if (eval_expr(I, e, V_SCHED, &a->sched))
    return 1;
  if (a->sched.kind == V_SCHED) {
    a->o.tau = ((Schedule *)a->sched.u.p)->tau;
    a->o.ntau = ((Schedule *)a->sched.u.p)->n;
    return 0;
  }
  const double *tau = val_numbers(I, a->sched, &a->o.ntau, &a->tau_tmp);
  if (!tau && I->rt.status == RT_ENOMEM) {
    rt_clear(&I->rt);
    return eval_error(I, e, "out of memory");
  }
  if (tau && a->o.ntau == 0)
    return eval_error(I, e, "the schedule is empty: give at least one temperature");
  if (!tau)
    return eval_error(I, e, "schedule must be a schedule, a vector of temperatures or a "
                      "number, not %s", kind_article(a->sched.kind));
  a->o.tau = a->sched.kind == V_NUM ? &a->sched.u.num : tau;
  for (size_t i = 0; i < a->o.ntau; i++)
    if (!(a->o.tau[i] > 0))
      return eval_error(I, e, "tau = %g at step %zu of the schedule; temperatures must be > 0",
                        a->o.tau[i], i);
  return 0;
}

/* init = "zeros" | "normal" | "symmetric", or a model whose parameters
 * are the starting point. */
static int init_opt(Interp *I, const Expr *e, TrainArgs *a)
{
  if (eval_expr(I, e, V_NIL, &a->init))
    return 1;
  if (a->init.kind == V_MODEL) {
    a->o.init = INIT_MODEL;
    a->o.init_from = a->init.u.p;
    return 0;
  }
  int k = a->init.kind == V_STR ? train_init_parse(as_str(a->init)->s) : -1;
  if (k < 0)
    return eval_error(I, e, "init must be \"zeros\", \"normal\", \"symmetric\" or a model");
  a->o.init = (TrainInit)k;
  return 0;
}

static int one_option(Interp *I, int i, const Expr *e, TrainArgs *a)
{
  TrainOpts *o = &a->o;
  int k;
  switch (i) {
  case 0: return schedule_opt(I, e, a);
  case 1: return whole(I, e, "steps", 1, &o->steps);
  case 2: return positive(I, e, "lr", 0, &o->lr);
  case 3: return sample_count(I, e, "batch", &o->batch);
  case 4: o->fixed = 1; return sample_count(I, e, "fixed", &o->batch);
  case 5:
    if (string_opt(I, e, "optimizer", train_optimizer_parse, "\"sgd\" or \"adam\"", &k))
      return 1;
    o->opt = (Optimizer)k;
    return 0;
  case 6: return whole(I, e, "log_every", 1, &o->log_every);
  case 7: return whole(I, e, "seed", 0, &o->seed);
  case 8: return init_opt(I, e, a);
  case 9: return positive(I, e, "init_scale", 1, &o->init_scale);
  default: return positive(I, e, "w", 0, &o->w);
  }
}

static int read_options(Interp *I, const Stmt *s, TrainArgs *a)
{
  for (int j = 0; j < s->opts.n; j++) {
    const Arg *arg = &s->opts.v[j];
    int i = arg->name ? opt_index(arg->name) : -1;
    if (i < 0)
      return eval_error(I, arg->value, "train takes named options (schedule, steps, lr, "
                        "batch, ...)");
    if (a->at[i])
      return eval_error_at(I, arg->name_pos, (uint32_t)strlen(arg->name),
                           "option '%s' is given twice", arg->name);
    a->at[i] = arg->value;
  }
  if (a->at[3] && a->at[4])
    return eval_error(I, a->at[4], "give either batch or fixed, not both");
  if (!a->at[0])
    return eval_error_at(I, s->pos, 5, "train needs a schedule: with schedule = ...");
  for (int i = 0; options[i]; i++)
    if (a->at[i] && one_option(I, i, a->at[i], a))
      return 1;
  if (!a->at[1])
    a->o.steps = a->o.ntau;           /* one step per temperature */
  if (!a->at[6])
    a->o.log_every = a->o.steps >= 10 ? a->o.steps / 10 : 1;
  if (!a->at[9] && a->o.init == INIT_SYMMETRIC)
    a->o.init_scale = 0;               /* the exact point unless asked */
  return 0;
}

/* Dimensions: the model's and the target's against the law, so the error
 * points at the part that does not fit. */
static int check_dims(Interp *I, const Stmt *s, const Model *m, const Target *y, const Law *x)
{
  int dm = m->router->dim;
  for (int k = 0; dm < 0 && k < m->nexp; k++)
    dm = m->experts[k]->dim;
  if (dm >= 0 && y->dim >= 0 && dm != y->dim)
    return eval_error(I, s->target, "the %s takes inputs of dimension %d but the model takes %d",
                      y->kind == TARGET_TEACHER ? "teacher" : "target", y->dim, dm);
  if (dm >= 0 && dm != x->dim)
    return eval_error(I, s->law, "the model takes inputs of dimension %d but this law has "
                      "dimension %d", dm, x->dim);
  if (y->dim >= 0 && y->dim != x->dim)
    return eval_error(I, s->law, "the target takes inputs of dimension %d but this law has "
                      "dimension %d", y->dim, x->dim);
  return 0;
}

/* Training fits a linear router and affine experts: a model with neither
 * is refused before anything runs. */
static int check_parametric(Interp *I, const Stmt *s, const Model *m)
{
  int any = m->router->kind == ROUTER_LINEAR;
  for (int k = 0; k < m->nexp; k++)
    any |= m->experts[k]->kind == EXPERT_AFFINE;
  if (any)
    return 0;
  eval_error(I, s->value, "model %s has no parametric parts: its router is not linear and "
             "none of its experts is affine", s->value->u.name);
  diag_hint(&I->diags, "train fits linear routers (W, b) and affine experts (beta, c)");
  return 1;
}

/* Progress of the run, forwarded to the host's callback. */
typedef struct Progress {
  Interp *I;
  const char *what;
} Progress;

static void on_progress(void *ud, uint64_t done, uint64_t total)
{
  Progress *p = ud;
  p->I->progress(p->I->progress_ud, p->what, (double)done, (double)total);
}

/* A host's bounds (Limits): a batch is samples, so it is clamped like any
 * query's samples; each step counts against the step budget, so a fuzzed
 * `steps = 1e15` is refused at once instead of running for ever. */
static int within_limits(Interp *I, const Stmt *s, TrainArgs *a)
{
  uint64_t cap = I->limits.max_samples;
  if (cap && a->o.batch > cap)
    a->o.batch = cap < 2 ? 2 : cap;   /* a standard error needs two samples */
  if (cap && a->o.init_samples > cap)
    a->o.init_samples = cap;
  uint64_t max = I->limits.max_steps;
  if (!max)
    return 0;
  uint64_t left = I->steps < max ? max - I->steps : 0;
  if (a->o.steps > left)
    return eval_error_at(I, s->pos, 5, "train asks for %llu steps; this session has %llu of "
                         "its limit of %llu steps left", (unsigned long long)a->o.steps,
                         (unsigned long long)left, (unsigned long long)max);
  I->steps += a->o.steps;
  return 0;
}

static int rebind(Interp *I, const Stmt *s, Model *trained)
{
  Binding *b = interp_lookup(I, s->value->u.name);
  if (!b) {
    model_unref(&I->rt, trained);
    return eval_error(I, s->value, "'%s' is not defined", s->value->u.name);
  }
  val_drop(&I->rt, b->v);
  b->v = val_obj(V_MODEL, trained);
  return 0;
}

static int run_training(Interp *I, const Stmt *s, Value *parts, TrainArgs *a)
{
  Progress pr = {I, s->value->u.name};
  if (I->progress && !I->quiet) {
    a->o.progress = on_progress;
    a->o.progress_ud = &pr;
    I->progress(I->progress_ud, pr.what, 0, (double)a->o.steps);
  }
  I->rt.threads = I->set.threads;
  Model *trained = NULL;
  Result *log = NULL;
  RtStatus st = train_run(&I->rt, parts[0].u.p, parts[1].u.p, parts[2].u.p, &a->o, &trained,
                          &log);
  if (I->progress && !I->quiet)
    I->progress(I->progress_ud, pr.what, (double)a->o.steps, (double)a->o.steps);
  if (st) {
    eval_error_at(I, s->pos, 5, "%s", I->rt.msg);
    if (strstr(I->rt.msg, "diverged"))
      diag_hint(&I->diags, "lower lr, or anneal tau more slowly");
    rt_clear(&I->rt);
    return 1;
  }
  size_t n;
  const char *text = ast_text(s->value, &n);
  const char *end = ast_text(s->law, &n);
  result_objects(log, text, (size_t)(end + n - text));
  int err = report_result(I, log);
  result_unref(log);
  return rebind(I, s, trained) || err;
}

int exec_train(Interp *I, const Stmt *s)
{
  if (s->value->kind != E_NAME)
    return eval_error(I, s->value, "train needs the name of a model (the name is bound to "
                      "the trained model)");
  static const VKind want[3] = {V_MODEL, V_TARGET, V_LAW};
  const Expr *exprs[3] = {s->value, s->target, s->law};
  Value parts[3] = {{0}, {0}, {0}};
  TrainArgs a;
  memset(&a, 0, sizeof a);
  train_opts_init(&a.o);
  a.o.seed = I->set.seed;
  a.o.init_samples = I->set.samples;
  int err = 0;
  for (int i = 0; i < 3 && !err; i++) {
    err = eval_expr(I, exprs[i], want[i], &parts[i]);
    if (!err && parts[i].kind != want[i])
      err = eval_error(I, exprs[i], "train needs %s here, not %s", kind_article(want[i]),
                       kind_article(parts[i].kind));
  }
  if (!err)
    err = check_parametric(I, s, parts[0].u.p);
  if (!err)
    err = check_dims(I, s, parts[0].u.p, parts[1].u.p, parts[2].u.p);
  if (!err)
    err = read_options(I, s, &a);
  if (!err)
    err = within_limits(I, s, &a);
  if (!err)
    err = run_training(I, s, parts, &a);
  for (int i = 0; i < 3; i++)
    val_drop(&I->rt, parts[i]);
  val_drop(&I->rt, a.sched);
  val_drop(&I->rt, a.init);
  rt_free(&I->rt, a.tau_tmp);
  return err;
}
