/*
 * result.h — what a query returns: a small table with named columns, plus
 * named scalar fields, the method that produced it and its sample budget.
 *
 * Results are reference-counted values: a script may keep one in a variable
 * (`let m = boundary_mass(...)`, then `m.mass`) while a report prints it.
 * Builders record allocation failure in `failed` instead of returning an
 * error from every call; the query checks once at the end.
 */
#ifndef MOE_RESULT_H
#define MOE_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "rt.h"

typedef enum FieldKind { F_NUM, F_INT, F_BOOL, F_VEC, F_STR, F_STRS } FieldKind;

typedef struct Field {
  char *name;
  FieldKind kind;
  double num;            /* F_NUM, F_INT, F_BOOL */
  double *vec;           /* F_VEC: n numbers */
  char *str;             /* F_STR */
  char **strs;           /* F_STRS: n strings */
  size_t n;
} Field;

typedef struct Column {
  char *name;
  FieldKind kind;        /* F_NUM, F_INT, F_BOOL or F_VEC (width numbers per row) */
  int width;
  double *data;          /* nrows × width */
} Column;

typedef struct Result {
  int refs;
  Rt *rt;
  char *query;           /* "boundary_mass" */
  char *objects;         /* the arguments as written: "r, X" (set by the caller) */
  char *method;          /* "exact", "quadrature" or "mc" */
  char *path;            /* how: "K = 2 closed form", "logit space", ... */
  uint64_t samples;      /* 0 when no sampling was done */
  uint64_t seed;
  double seconds;
  int partial;           /* interrupted: the numbers cover `samples` only */
  int nfields;
  Field *fields;
  size_t nrows;
  int ncols;
  Column *cols;
  int failed;            /* an allocation failed while building */
} Result;

/* A new, empty result for `query` with one reference (NULL on OOM). */
Result *result_new(Rt *rt, const char *query);
Result *result_ref(Result *r);
void result_unref(Result *r);      /* accepts NULL */

void result_method(Result *r, const char *method, const char *path);
void result_objects(Result *r, const char *objects, size_t len);

void result_num(Result *r, const char *name, double v);
void result_int(Result *r, const char *name, double v);
void result_vec(Result *r, const char *name, const double *v, size_t n);
void result_str(Result *r, const char *name, const char *s);
void result_strs(Result *r, const char *name, const char *const *s, size_t n);

/* Sets the number of rows; must come before result_col. */
void result_rows(Result *r, size_t nrows);
/* Adds a column and returns its data (nrows × width, zeroed), or NULL. */
double *result_col(Result *r, const char *name, FieldKind kind, int width);

/* Lookup by name: NULL when absent. */
const Field *result_field(const Result *r, const char *name);
const Column *result_column(const Result *r, const char *name);

/* RT_ENOMEM if building failed (and r is unusable), else RT_OK. */
RtStatus result_check(Rt *rt, const Result *r);

#endif
