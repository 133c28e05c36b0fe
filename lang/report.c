/*
 * report.c — text, JSON and CSV renderings of results (see report.h).
 */
#include "report.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ text */

static void heading(StrBuf *b, const Result *r)
{
  sb_printf(b, "%s(%s): %s", r->query, r->objects ? r->objects : "",
            r->method ? r->method : "?");
  if (r->path && r->path[0])
    sb_printf(b, " (%s)", r->path);
  if (r->samples)
    sb_printf(b, ", %llu samples, seed %llu", (unsigned long long)r->samples,
              (unsigned long long)r->seed);
  sb_printf(b, ", %.3f s", r->seconds);
  if (r->partial)
    sb_puts(b, "  [INTERRUPTED: partial result]");
  sb_putc(b, '\n');
}

static void cell_num(StrBuf *b, FieldKind k, double x)
{
  if (k == F_INT)
    sb_printf(b, "%.0f", x);
  else if (k == F_BOOL)
    sb_puts(b, x != 0 ? "true" : "false");
  else
    sb_printf(b, "%.6g", x);
}

static void cell_vec(StrBuf *b, const double *v, int n)
{
  sb_putc(b, '[');
  for (int i = 0; i < n; i++)
    sb_printf(b, "%s%.4g", i ? ", " : "", v[i]);
  sb_putc(b, ']');
}

static void field_text(StrBuf *b, const Field *f)
{
  switch (f->kind) {
  case F_NUM: sb_printf(b, "%.10g", f->num); break;
  case F_INT: case F_BOOL: cell_num(b, f->kind, f->num); break;
  case F_VEC: cell_vec(b, f->vec, (int)f->n); break;
  case F_STR: sb_puts(b, f->str ? f->str : ""); break;
  case F_STRS:
    for (size_t i = 0; i < f->n; i++)
      sb_printf(b, "%s%s", i ? ", " : "", f->strs[i]);
    break;
  }
}

/* Renders every cell of the table, then pads each column to its widest. */
static void table_text(StrBuf *b, const Result *r)
{
  Rt *rt = r->rt;
  size_t ncell = (r->nrows + 1) * (size_t)r->ncols;
  char **cells = rt_calloc(rt, ncell ? ncell : 1, sizeof *cells);
  int *width = rt_calloc(rt, (size_t)r->ncols + 1, sizeof *width);
  if (!cells || !width) {
    b->failed = 1;
    rt_free(rt, cells);
    rt_free(rt, width);
    return;
  }
  for (int c = 0; c < r->ncols; c++) {
    const Column *col = &r->cols[c];
    cells[c] = rt_strdup(rt, col->name);
    for (size_t i = 0; i < r->nrows; i++) {
      StrBuf cb;
      sb_init(&cb, rt);
      if (col->kind == F_VEC)
        cell_vec(&cb, col->data + i * col->width, col->width);
      else
        cell_num(&cb, col->kind, col->data[i]);
      cells[(i + 1) * r->ncols + c] = sb_take(&cb);
    }
  }
  for (size_t k = 0; k < ncell; k++) {
    int w = cells[k] ? (int)strlen(cells[k]) : 0;
    if (w > width[k % r->ncols])
      width[k % r->ncols] = w;
  }
  for (size_t i = 0; i <= r->nrows; i++) {
    for (int c = 0; c < r->ncols; c++) {
      const char *s = cells[i * r->ncols + c];
      sb_printf(b, "%s%*s", c ? "  " : "  ", width[c], s ? s : "?");
    }
    sb_putc(b, '\n');
  }
  for (size_t k = 0; k < ncell; k++)
    rt_free(rt, cells[k]);
  rt_free(rt, cells);
  rt_free(rt, width);
}

void report_text(StrBuf *b, const Result *r)
{
  heading(b, r);
  int w = 0;
  for (int i = 0; i < r->nfields; i++)
    if ((int)strlen(r->fields[i].name) > w)
      w = (int)strlen(r->fields[i].name);
  for (int i = 0; i < r->nfields; i++) {
    sb_printf(b, "  %-*s  ", w, r->fields[i].name);
    field_text(b, &r->fields[i]);
    sb_putc(b, '\n');
  }
  if (r->ncols)
    table_text(b, r);
}

/* ------------------------------------------------------------ JSON */

/* NaN and infinity have no JSON spelling; the engine never produces them in
 * a result, but if it ever did, null is honest and parseable. */
static json_t *jnum(FieldKind k, double x)
{
  if (!isfinite(x))
    return json_null();
  if (k == F_INT && fabs(x) < 9e15)
    return json_integer((json_int_t)x);
  if (k == F_BOOL)
    return json_boolean(x != 0);
  return json_real(x);
}

static json_t *jvec(const double *v, size_t n)
{
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++)
    json_array_append_new(a, jnum(F_NUM, v[i]));
  return a;
}

static json_t *jfield(const Field *f)
{
  switch (f->kind) {
  case F_NUM: case F_INT: case F_BOOL: return jnum(f->kind, f->num);
  case F_VEC: return jvec(f->vec, f->n);
  case F_STR: return json_string(f->str ? f->str : "");
  case F_STRS: {
    json_t *a = json_array();
    for (size_t i = 0; a && i < f->n; i++)
      json_array_append_new(a, json_string(f->strs[i]));
    return a;
  }
  }
  return json_null();
}

static json_t *jrows(const Result *r)
{
  json_t *rows = json_array();
  for (size_t i = 0; rows && i < r->nrows; i++) {
    json_t *row = json_object();
    for (int c = 0; row && c < r->ncols; c++) {
      const Column *col = &r->cols[c];
      json_t *v = col->kind == F_VEC ? jvec(col->data + i * col->width, (size_t)col->width)
                                     : jnum(col->kind, col->data[i]);
      json_object_set_new(row, col->name, v);
    }
    json_array_append_new(rows, row);
  }
  return rows;
}

int report_json(StrBuf *b, const Result *r)
{
  json_t *o = json_object();
  if (!o)
    return 1;
  json_object_set_new(o, "report", json_string(r->query));
  json_object_set_new(o, "method", json_string(r->method ? r->method : ""));
  json_object_set_new(o, "path", json_string(r->path ? r->path : ""));
  json_object_set_new(o, "objects", json_string(r->objects ? r->objects : ""));
  if (r->samples) {
    json_object_set_new(o, "samples", json_integer((json_int_t)r->samples));
    json_object_set_new(o, "seed", json_integer((json_int_t)r->seed));
  }
  if (r->partial)
    json_object_set_new(o, "partial", json_true());
  for (int i = 0; i < r->nfields; i++)
    json_object_set_new(o, r->fields[i].name, jfield(&r->fields[i]));
  if (r->ncols)
    json_object_set_new(o, "rows", jrows(r));
  char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
  json_decref(o);
  if (!s)
    return 1;
  sb_puts(b, s);
  free(s);
  return 0;
}

/* ------------------------------------------------------------ CSV */

static void csv_quoted(StrBuf *b, const char *s)
{
  sb_putc(b, '"');
  for (; *s; s++) {
    if (*s == '"')
      sb_putc(b, '"');
    sb_putc(b, *s);
  }
  sb_putc(b, '"');
}

static void csv_num(StrBuf *b, FieldKind k, double x)
{
  if (k == F_INT || k == F_BOOL)
    cell_num(b, k, x);
  else
    sb_printf(b, "%.17g", x);
}

static void csv_vec(StrBuf *b, const double *v, size_t n)
{
  sb_putc(b, '"');
  for (size_t i = 0; i < n; i++)
    sb_printf(b, "%s%.17g", i ? " " : "", v[i]);
  sb_putc(b, '"');
}

static void csv_field(StrBuf *b, const Field *f)
{
  switch (f->kind) {
  case F_NUM: case F_INT: case F_BOOL: csv_num(b, f->kind, f->num); break;
  case F_VEC: csv_vec(b, f->vec, f->n); break;
  case F_STR: csv_quoted(b, f->str ? f->str : ""); break;
  case F_STRS: {
    StrBuf t;
    sb_init(&t, b->rt);
    for (size_t i = 0; i < f->n; i++)
      sb_printf(&t, "%s%s", i ? " " : "", f->strs[i]);
    csv_quoted(b, sb_str(&t));
    sb_free(&t);
    break;
  }
  }
}

/* A block: "# report" line, then the scalar fields as a one-row table,
 * then the rows (if any) as another table. */
void report_csv(StrBuf *b, const Result *r)
{
  sb_printf(b, "# %s(%s),method=%s,path=", r->query, r->objects ? r->objects : "",
            r->method ? r->method : "");
  csv_quoted(b, r->path ? r->path : "");
  if (r->samples)
    sb_printf(b, ",samples=%llu,seed=%llu", (unsigned long long)r->samples,
              (unsigned long long)r->seed);
  sb_putc(b, '\n');
  if (r->nfields) {
    for (int i = 0; i < r->nfields; i++)
      sb_printf(b, "%s%s", i ? "," : "", r->fields[i].name);
    sb_putc(b, '\n');
    for (int i = 0; i < r->nfields; i++) {
      if (i)
        sb_putc(b, ',');
      csv_field(b, &r->fields[i]);
    }
    sb_putc(b, '\n');
  }
  if (r->ncols) {
    for (int c = 0; c < r->ncols; c++)
      sb_printf(b, "%s%s", c ? "," : "", r->cols[c].name);
    sb_putc(b, '\n');
    for (size_t i = 0; i < r->nrows; i++) {
      for (int c = 0; c < r->ncols; c++) {
        const Column *col = &r->cols[c];
        if (c)
          sb_putc(b, ',');
        if (col->kind == F_VEC)
          csv_vec(b, col->data + i * col->width, (size_t)col->width);
        else
          csv_num(b, col->kind, col->data[i]);
      }
      sb_putc(b, '\n');
    }
  }
}

/* ------------------------------------------------------------ output */

static int emit(Interp *I, StrBuf *b)
{
  if (b->failed) {
    sb_free(b);
    diag_error(&I->diags, (Pos){0}, 1, "out of memory while writing a report");
    return 1;
  }
  interp_print(I, sb_str(b), b->len);
  sb_free(b);
  return 0;
}

int report_result(Interp *I, const Result *r)
{
  StrBuf b;
  sb_init(&b, &I->rt);
  switch (I->format) {
  case FMT_JSON:
    if (report_json(&b, r))
      b.failed = 1;
    sb_putc(&b, '\n');
    break;
  case FMT_CSV:
    report_csv(&b, r);
    sb_putc(&b, '\n');
    break;
  case FMT_TEXT:
    report_text(&b, r);
    sb_putc(&b, '\n');
    break;
  }
  return emit(I, &b);
}

int report_line(Interp *I, StrBuf *text)
{
  StrBuf b;
  sb_init(&b, &I->rt);
  if (I->format == FMT_JSON) {
    json_t *o = json_pack("{s:s%}", "print", sb_str(text), text->len);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s)
      b.failed = 1;
    else
      sb_puts(&b, s);
    free(s);
  } else {
    sb_putn(&b, sb_str(text), text->len);
  }
  sb_putc(&b, '\n');
  return emit(I, &b);
}
