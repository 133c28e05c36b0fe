/*
 * fields.c — reading fields of results and objects (see fields.h).
 */
#include "fields.h"

#include <string.h>

#include "../runtime/law.h"
#include "../runtime/model.h"
#include "../runtime/result.h"
#include "eval.h"

static int oom(Interp *I, const Expr *e) { return eval_error(I, e, "out of memory"); }

static int vec_of(Interp *I, const Expr *e, const double *v, size_t n, Value *out)
{
  *out = val_vec(&I->rt, n);
  if (out->kind == V_NIL)
    return oom(I, e);
  if (n)
    memcpy(as_vec(*out)->v, v, n * sizeof *v);
  return 0;
}

static int mat_of(Interp *I, const Expr *e, const double *v, size_t r, size_t c, Value *out)
{
  *out = val_mat(&I->rt, r, c);
  if (out->kind == V_NIL)
    return oom(I, e);
  if (r > 0 && c > 0)
    memcpy(as_mat(*out)->v, v, r * c * sizeof *v);
  return 0;
}

static int str_of(Interp *I, const Expr *e, const char *s, Value *out)
{
  *out = val_str(&I->rt, s ? s : "", s ? strlen(s) : 0);
  return out->kind == V_NIL ? oom(I, e) : 0;
}

static int no_field(Interp *I, const Expr *e, Value obj, const char *name)
{
  eval_error_at(I, e->u.field.name_pos, (uint32_t)strlen(name), "%s has no field '%s'",
                kind_article(obj.kind), name);
  const char *const *names = field_names(obj.kind);
  if (names && names[0]) {
    StrBuf sb;
    sb_init(&sb, &I->rt);
    for (int i = 0; names[i]; i++)
      sb_printf(&sb, "%s%s", i ? ", " : "", names[i]);
    diag_hint(&I->diags, "its fields are %s", sb_str(&sb));
    sb_free(&sb);
  }
  return 1;
}

static int result_fields(Interp *I, const Expr *e, const Result *r, const char *name,
                         Value *out)
{
  const Field *f = result_field(r, name);
  if (f) {
    switch (f->kind) {
    case F_NUM: case F_INT: *out = val_num(f->num); return 0;
    case F_BOOL: *out = val_bool(f->num != 0); return 0;
    case F_VEC: return vec_of(I, e, f->vec, f->n, out);
    case F_STR: return str_of(I, e, f->str, out);
    case F_STRS: {
      Value l = val_list(&I->rt, f->n);
      if (l.kind == V_NIL)
        return oom(I, e);
      for (size_t i = 0; i < f->n; i++)
        as_list(l)->v[i] = val_str(&I->rt, f->strs[i], strlen(f->strs[i]));
      *out = l;
      return 0;
    }
    }
  }
  const Column *c = result_column(r, name);
  if (c) {
    if (c->kind == F_VEC)
      return mat_of(I, e, c->data, r->nrows, (size_t)c->width, out);
    return vec_of(I, e, c->data, r->nrows, out);
  }
  if (strcmp(name, "method") == 0)
    return str_of(I, e, r->method, out);
  if (strcmp(name, "path") == 0)
    return str_of(I, e, r->path, out);
  if (strcmp(name, "samples") == 0) {
    *out = val_num((double)r->samples);
    return 0;
  }
  if (strcmp(name, "seconds") == 0) {
    *out = val_num(r->seconds);
    return 0;
  }
  eval_error_at(I, e->u.field.name_pos, (uint32_t)strlen(name), "the result of %s has no field '%s'",
                r->query, name);
  StrBuf sb;
  sb_init(&sb, &I->rt);
  for (int i = 0; i < r->nfields; i++)
    sb_printf(&sb, "%s%s", sb.len ? ", " : "", r->fields[i].name);
  for (int i = 0; i < r->ncols; i++)
    sb_printf(&sb, "%s%s", sb.len ? ", " : "", r->cols[i].name);
  sb_printf(&sb, "%smethod, path, samples, seconds", sb.len ? ", " : "");
  diag_hint(&I->diags, "it has %s", sb_str(&sb));
  sb_free(&sb);
  return 1;
}

static int router_fields(Interp *I, const Expr *e, Value obj, const char *name, Value *out)
{
  const Router *r = obj.u.p;
  if (strcmp(name, "K") == 0) {
    *out = val_num(r->K);
    return 0;
  }
  if (strcmp(name, "dim") == 0) {
    *out = val_num(r->dim);
    return 0;
  }
  if (r->kind == ROUTER_LINEAR && strcmp(name, "W") == 0)
    return mat_of(I, e, r->W, (size_t)r->K, (size_t)r->dim, out);
  if (r->kind == ROUTER_LINEAR && strcmp(name, "b") == 0)
    return vec_of(I, e, r->b, (size_t)r->K, out);
  return no_field(I, e, obj, name);
}

static int law_fields(Interp *I, const Expr *e, Value obj, const char *name, Value *out)
{
  const Law *l = obj.u.p;
  if (strcmp(name, "dim") == 0) {
    *out = val_num(l->dim);
    return 0;
  }
  if (l->kind == LAW_NORMAL && strcmp(name, "mean") == 0)
    return vec_of(I, e, l->mean, (size_t)l->dim, out);
  if (l->kind == LAW_NORMAL && strcmp(name, "cov") == 0) {
    *out = val_mat(&I->rt, (size_t)l->dim, (size_t)l->dim);
    if (out->kind == V_NIL)
      return oom(I, e);
    for (int i = 0; i < l->dim; i++)
      for (int j = 0; j < l->dim; j++)
        as_mat(*out)->v[(size_t)i * l->dim + j] = law_cov(l, i, j);
    return 0;
  }
  return no_field(I, e, obj, name);
}

static int list_of_experts(Interp *I, const Expr *e, Expert **ex, int n, Value *out)
{
  Value l = val_list(&I->rt, (size_t)n);
  if (l.kind == V_NIL)
    return oom(I, e);
  for (int i = 0; i < n; i++)
    as_list(l)->v[i] = val_obj(V_EXPERT, expert_ref(ex[i]));
  *out = l;
  return 0;
}

static int model_fields(Interp *I, const Expr *e, Value obj, const char *name, Value *out)
{
  const Model *m = obj.u.p;
  if (strcmp(name, "router") == 0) {
    *out = val_obj(V_ROUTER, router_ref(m->router));
    return 0;
  }
  if (strcmp(name, "experts") == 0)
    return list_of_experts(I, e, m->experts, m->nexp, out);
  if (strcmp(name, "gate") == 0) {
    *out = val_obj(V_GATE, gate_ref(m->gate));
    return 0;
  }
  if (strcmp(name, "K") == 0) {
    *out = val_num(m->nexp);
    return 0;
  }
  return no_field(I, e, obj, name);
}

static int expert_fields(Interp *I, const Expr *e, Value obj, const char *name, Value *out)
{
  const Expert *x = obj.u.p;
  if (x->kind == EXPERT_AFFINE && strcmp(name, "beta") == 0)
    return vec_of(I, e, x->beta, (size_t)x->dim, out);
  if (x->kind == EXPERT_AFFINE && strcmp(name, "c") == 0) {
    *out = val_num(x->c);
    return 0;
  }
  return no_field(I, e, obj, name);
}

static int target_fields(Interp *I, const Expr *e, Value obj, const char *name, Value *out)
{
  const Target *t = obj.u.p;
  if (strcmp(name, "noise") == 0) {
    *out = val_num(t->noise);
    return 0;
  }
  if (t->kind == TARGET_TEACHER && strcmp(name, "router") == 0) {
    *out = val_obj(V_ROUTER, router_ref(t->router));
    return 0;
  }
  if (t->kind == TARGET_TEACHER && strcmp(name, "experts") == 0)
    return list_of_experts(I, e, t->experts, t->nexp, out);
  return no_field(I, e, obj, name);
}

static int schedule_fields(Interp *I, const Expr *e, Value obj, const char *name, Value *out)
{
  const Schedule *s = obj.u.p;
  if (strcmp(name, "tau") == 0)
    return vec_of(I, e, s->tau, s->n, out);
  if (strcmp(name, "steps") == 0) {
    *out = val_num((double)s->n);
    return 0;
  }
  return no_field(I, e, obj, name);
}

int field_of(Interp *I, const Expr *e, Value obj, Value *out)
{
  const char *name = e->u.field.name;
  switch (obj.kind) {
  case V_RESULT: return result_fields(I, e, obj.u.p, name, out);
  case V_ROUTER: return router_fields(I, e, obj, name, out);
  case V_LAW: return law_fields(I, e, obj, name, out);
  case V_MODEL: return model_fields(I, e, obj, name, out);
  case V_EXPERT: return expert_fields(I, e, obj, name, out);
  case V_TARGET: return target_fields(I, e, obj, name, out);
  case V_SCHED: return schedule_fields(I, e, obj, name, out);
  default: return no_field(I, e, obj, name);
  }
}

int eval_field(Interp *I, const Expr *e, Value *out)
{
  Value obj;
  if (eval_expr(I, e->u.field.obj, V_NIL, &obj))
    return 1;
  int err = field_of(I, e, obj, out);
  val_drop(&I->rt, obj);
  return err;
}

const char *const *field_names(VKind k)
{
  static const char *const router[] = {"K", "dim", "W", "b", NULL};
  static const char *const law[] = {"dim", "mean", "cov", NULL};
  static const char *const model[] = {"router", "experts", "gate", "K", NULL};
  static const char *const expert[] = {"beta", "c", NULL};
  static const char *const target[] = {"noise", "router", "experts", NULL};
  static const char *const sched[] = {"tau", "steps", NULL};
  static const char *const none[] = {NULL};
  switch (k) {
  case V_ROUTER: return router;
  case V_LAW: return law;
  case V_MODEL: return model;
  case V_EXPERT: return expert;
  case V_TARGET: return target;
  case V_SCHED: return sched;
  default: return none;
  }
}
