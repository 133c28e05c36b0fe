/*
 * result.c — building and reading query results (see result.h).
 */
#include "result.h"

#include <string.h>

Result *result_new(Rt *rt, const char *query)
{
  Result *r = rt_calloc(rt, 1, sizeof *r);
  if (!r)
    return NULL;
  r->refs = 1;
  r->rt = rt;
  r->query = rt_strdup(rt, query);
  if (!r->query) {
    rt_free(rt, r);
    return NULL;
  }
  return r;
}

Result *result_ref(Result *r)
{
  if (r)
    r->refs++;
  return r;
}

static void free_field(Rt *rt, Field *f)
{
  rt_free(rt, f->name);
  rt_free(rt, f->vec);
  rt_free(rt, f->str);
  for (size_t i = 0; f->strs && i < f->n; i++)
    rt_free(rt, f->strs[i]);
  rt_free(rt, f->strs);
}

void result_unref(Result *r)
{
  if (!r || --r->refs > 0)
    return;
  Rt *rt = r->rt;
  for (int i = 0; i < r->nfields; i++)
    free_field(rt, &r->fields[i]);
  for (int i = 0; i < r->ncols; i++) {
    rt_free(rt, r->cols[i].name);
    rt_free(rt, r->cols[i].data);
  }
  rt_free(rt, r->fields);
  rt_free(rt, r->cols);
  rt_free(rt, r->query);
  rt_free(rt, r->objects);
  rt_free(rt, r->method);
  rt_free(rt, r->path);
  rt_free(rt, r);
}

static char *dup_or_fail(Result *r, const char *s)
{
  char *d = s ? rt_strdup(r->rt, s) : NULL;
  if (s && !d)
    r->failed = 1;
  return d;
}

void result_method(Result *r, const char *method, const char *path)
{
  rt_free(r->rt, r->method);
  rt_free(r->rt, r->path);
  r->method = dup_or_fail(r, method);
  r->path = dup_or_fail(r, path);
}

void result_objects(Result *r, const char *objects, size_t len)
{
  rt_free(r->rt, r->objects);
  r->objects = rt_alloc(r->rt, len + 1);
  if (!r->objects) {
    r->failed = 1;
    return;
  }
  memcpy(r->objects, objects, len);
  r->objects[len] = '\0';
}

/* A new field named `name` (replacing one of the same name). */
static Field *add_field(Result *r, const char *name, FieldKind kind)
{
  Field *f = NULL;
  for (int i = 0; i < r->nfields; i++)
    if (strcmp(r->fields[i].name, name) == 0) {
      f = &r->fields[i];
      free_field(r->rt, f);
      break;
    }
  if (!f) {
    Field *v = rt_realloc(r->rt, r->fields, (size_t)(r->nfields + 1) * sizeof *v);
    if (!v) {
      r->failed = 1;
      return NULL;
    }
    r->fields = v;
    f = &r->fields[r->nfields++];
  }
  memset(f, 0, sizeof *f);
  f->kind = kind;
  f->name = dup_or_fail(r, name);
  if (!f->name) {
    r->nfields--;
    return NULL;
  }
  return f;
}

void result_num(Result *r, const char *name, double v)
{
  Field *f = add_field(r, name, F_NUM);
  if (f)
    f->num = v;
}

void result_int(Result *r, const char *name, double v)
{
  Field *f = add_field(r, name, F_INT);
  if (f)
    f->num = v;
}

void result_vec(Result *r, const char *name, const double *v, size_t n)
{
  Field *f = add_field(r, name, F_VEC);
  if (!f)
    return;
  f->vec = rt_array(r->rt, n ? n : 1, sizeof *f->vec);
  if (!f->vec) {
    r->failed = 1;
    return;
  }
  if (n)
    memcpy(f->vec, v, n * sizeof *v);
  f->n = n;
}

void result_str(Result *r, const char *name, const char *s)
{
  Field *f = add_field(r, name, F_STR);
  if (f)
    f->str = dup_or_fail(r, s);
}

void result_strs(Result *r, const char *name, const char *const *s, size_t n)
{
  Field *f = add_field(r, name, F_STRS);
  if (!f)
    return;
  f->strs = rt_calloc(r->rt, n ? n : 1, sizeof *f->strs);
  if (!f->strs) {
    r->failed = 1;
    return;
  }
  f->n = n;
  for (size_t i = 0; i < n; i++)
    f->strs[i] = dup_or_fail(r, s[i]);
}

void result_rows(Result *r, size_t nrows) { r->nrows = nrows; }

double *result_col(Result *r, const char *name, FieldKind kind, int width)
{
  Column *v = rt_realloc(r->rt, r->cols, (size_t)(r->ncols + 1) * sizeof *v);
  if (!v) {
    r->failed = 1;
    return NULL;
  }
  r->cols = v;
  Column *c = &r->cols[r->ncols];
  memset(c, 0, sizeof *c);
  c->name = dup_or_fail(r, name);
  c->kind = kind;
  c->width = kind == F_VEC ? width : 1;
  c->data = rt_calloc(r->rt, r->nrows ? r->nrows * (size_t)c->width : 1, sizeof *c->data);
  if (!c->name || !c->data) {
    rt_free(r->rt, c->name);
    rt_free(r->rt, c->data);
    r->failed = 1;
    return NULL;
  }
  r->ncols++;
  return c->data;
}

const Field *result_field(const Result *r, const char *name)
{
  for (int i = 0; i < r->nfields; i++)
    if (strcmp(r->fields[i].name, name) == 0)
      return &r->fields[i];
  return NULL;
}

const Column *result_column(const Result *r, const char *name)
{
  for (int i = 0; i < r->ncols; i++)
    if (strcmp(r->cols[i].name, name) == 0)
      return &r->cols[i];
  return NULL;
}

RtStatus result_check(Rt *rt, const Result *r)
{
  if (!r || r->failed)
    return rt_error(rt, RT_ENOMEM, "out of memory");
  return RT_OK;
}
