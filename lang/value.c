/*
 * value.c — constructing, sharing, releasing and printing values.
 */
#include "value.h"

#include <string.h>

#include "../runtime/law.h"
#include "../runtime/model.h"
#include "../runtime/result.h"
#include "../runtime/router.h"
#include "foreign.h"

static void *new_obj(Rt *rt, VKind kind, size_t head, size_t n, size_t elem)
{
  if (elem && n > (SIZE_MAX - head) / elem) {
    rt_error(rt, RT_ENOMEM, "out of memory (%zu elements)", n);
    return NULL;
  }
  Obj *o = rt_calloc(rt, 1, head + n * elem);
  if (o) {
    o->refs = 1;
    o->kind = kind;
  }
  return o;
}

Value val_str(Rt *rt, const char *s, size_t len)
{
  VStr *o = new_obj(rt, V_STR, sizeof(VStr), len + 1, 1);
  if (!o)
    return val_nil();
  memcpy(o->s, s, len);
  o->s[len] = '\0';
  o->len = len;
  return val_obj(V_STR, o);
}

Value val_vec(Rt *rt, size_t n)
{
  VVec *o = new_obj(rt, V_VEC, sizeof(VVec), n, sizeof(double));
  if (!o)
    return val_nil();
  o->n = n;
  return val_obj(V_VEC, o);
}

Value val_mat(Rt *rt, size_t rows, size_t cols)
{
  if (cols && rows > SIZE_MAX / cols) {
    rt_error(rt, RT_ENOMEM, "out of memory (a %zu×%zu matrix)", rows, cols);
    return val_nil();
  }
  VMat *o = new_obj(rt, V_MAT, sizeof(VMat), rows * cols, sizeof(double));
  if (!o)
    return val_nil();
  o->rows = rows;
  o->cols = cols;
  return val_obj(V_MAT, o);
}

Value val_list(Rt *rt, size_t n)
{
  VList *o = new_obj(rt, V_LIST, sizeof(VList), n, sizeof(Value));
  if (!o)
    return val_nil();
  o->n = n;
  return val_obj(V_LIST, o);
}

Value val_func(Rt *rt, const struct Stmt *def)
{
  VFunc *o = new_obj(rt, V_FUNC, sizeof(VFunc), 0, 0);
  if (!o)
    return val_nil();
  o->def = def;
  return val_obj(V_FUNC, o);
}

Value val_copy(Value v)
{
  switch (v.kind) {
  case V_STR: case V_VEC: case V_MAT: case V_LIST: case V_FUNC:
    v.u.o->refs++;
    break;
  case V_LAW: law_ref(v.u.p); break;
  case V_ROUTER: router_ref(v.u.p); break;
  case V_EXPERT: expert_ref(v.u.p); break;
  case V_TARGET: target_ref(v.u.p); break;
  case V_MODEL: model_ref(v.u.p); break;
  case V_SCHED: schedule_ref(v.u.p); break;
  case V_GATE: gate_ref(v.u.p); break;
  case V_RESULT: result_ref(v.u.p); break;
  default: break;
  }
  return v;
}

void val_drop(Rt *rt, Value v)
{
  switch (v.kind) {
  case V_LIST:
    if (v.u.o->refs == 1)
      for (size_t i = 0; i < as_list(v)->n; i++)
        val_drop(rt, as_list(v)->v[i]);
    /* fall through */
  case V_STR: case V_VEC: case V_MAT: case V_FUNC:
    if (--v.u.o->refs > 0)
      break;
    if (v.kind == V_FUNC)
      ffi_unref(rt, as_func(v)->ext);   /* an extern's library goes with its last value */
    rt_free(rt, v.u.o);
    break;
  case V_LAW: law_unref(rt, v.u.p); break;
  case V_ROUTER: router_unref(rt, v.u.p); break;
  case V_EXPERT: expert_unref(rt, v.u.p); break;
  case V_TARGET: target_unref(rt, v.u.p); break;
  case V_MODEL: model_unref(rt, v.u.p); break;
  case V_SCHED: schedule_unref(rt, v.u.p); break;
  case V_GATE: gate_unref(rt, v.u.p); break;
  case V_RESULT: result_unref(v.u.p); break;
  default: break;
  }
}

const char *kind_name(VKind k)
{
  static const char *const names[] = {
      "nothing", "number", "bool", "string", "vector", "matrix", "list", "function",
      "law", "router", "expert", "target", "model", "schedule", "gate", "result"};
  return k < V_NKINDS ? names[k] : "value";
}

const char *kind_article(VKind k)
{
  static const char *const names[] = {
      "nothing", "a number", "a bool", "a string", "a vector", "a matrix", "a list",
      "a function", "a law", "a router", "an expert", "a target", "a model", "a schedule",
      "a gate", "a result"};
  return k < V_NKINDS ? names[k] : "a value";
}

static void format_nums(StrBuf *b, const double *v, size_t n)
{
  sb_putc(b, '[');
  for (size_t i = 0; i < n; i++) {
    if (i)
      sb_puts(b, ", ");
    sb_num(b, v[i]);
  }
  sb_putc(b, ']');
}

static void format_object(StrBuf *b, Value v)
{
  switch (v.kind) {
  case V_LAW: {
    const Law *l = v.u.p;
    sb_printf(b, "<law %s, dim %d>", law_kind_name(l), l->dim);
    break;
  }
  case V_ROUTER: {
    const Router *r = v.u.p;
    sb_printf(b, "<router %s, K %d, dim %d>", router_kind_name(r), r->K, r->dim);
    break;
  }
  case V_EXPERT: {
    const Expert *e = v.u.p;
    sb_printf(b, "<expert %s>", e->kind == EXPERT_AFFINE ? "affine" : "expression");
    break;
  }
  case V_TARGET: {
    const Target *t = v.u.p;
    sb_printf(b, "<target %s, noise ", t->kind == TARGET_TEACHER ? "teacher" : "expression");
    sb_num(b, t->noise);
    sb_putc(b, '>');
    break;
  }
  case V_MODEL: {
    const Model *m = v.u.p;
    sb_printf(b, "<model, K %d>", m->nexp);
    break;
  }
  case V_SCHED: {
    const Schedule *s = v.u.p;
    format_nums(b, s->tau, s->n);
    break;
  }
  case V_GATE: {
    const Gate *g = v.u.p;
    if (g->kind == GATE_TOPK)
      sb_printf(b, "topk(%d)", g->k);
    else
      sb_puts(b, "softmax");
    break;
  }
  case V_RESULT: {
    const Result *r = v.u.p;
    sb_printf(b, "<result of %s>", r->query);
    break;
  }
  default:
    sb_puts(b, "<value>");
  }
}

void val_format(StrBuf *b, Value v)
{
  switch (v.kind) {
  case V_NIL: sb_puts(b, "nothing"); return;
  case V_NUM: sb_num(b, v.u.num); return;
  case V_BOOL: sb_puts(b, v.u.b ? "true" : "false"); return;
  case V_STR: sb_putn(b, as_str(v)->s, as_str(v)->len); return;
  case V_VEC: format_nums(b, as_vec(v)->v, as_vec(v)->n); return;
  case V_MAT: {
    const VMat *m = as_mat(v);
    sb_putc(b, '[');
    for (size_t i = 0; i < m->rows; i++) {
      if (i)
        sb_puts(b, ", ");
      format_nums(b, m->v + i * m->cols, m->cols);
    }
    sb_putc(b, ']');
    return;
  }
  case V_LIST: {
    const VList *l = as_list(v);
    sb_putc(b, '[');
    for (size_t i = 0; i < l->n; i++) {
      if (i)
        sb_puts(b, ", ");
      val_format(b, l->v[i]);
    }
    sb_putc(b, ']');
    return;
  }
  case V_FUNC: sb_puts(b, "<function>"); return;
  default: format_object(b, v);
  }
}
