/*
 * value.h — the values a script computes with.
 *
 * Numbers and booleans are immediate.  Strings, vectors, matrices, lists and
 * functions are reference-counted heap objects; laws, routers, experts,
 * targets, models, schedules, gates and results are runtime objects with
 * their own reference counts.  Values are immutable, so sharing is safe and
 * there are no cycles.
 *
 * Ownership rule (stated once, as in jq): a function that returns a Value
 * returns a new reference; a function that takes a `Value` parameter
 * borrows it unless its comment says it consumes it.  val_copy adds a
 * reference; val_drop releases one.
 */
#ifndef MOE_VALUE_H
#define MOE_VALUE_H

#include <stddef.h>

#include "../runtime/rt.h"
#include "../runtime/strbuf.h"

typedef enum VKind {
  V_NIL, V_NUM, V_BOOL, V_STR, V_VEC, V_MAT, V_LIST, V_FUNC,
  V_LAW, V_ROUTER, V_EXPERT, V_TARGET, V_MODEL, V_SCHED, V_GATE, V_RESULT,
  V_NKINDS
} VKind;

typedef struct Obj {
  int refs;
  VKind kind;
} Obj;

typedef struct Value {
  VKind kind;
  union {
    double num;          /* V_NUM */
    int b;               /* V_BOOL */
    Obj *o;              /* V_STR, V_VEC, V_MAT, V_LIST, V_FUNC */
    void *p;             /* runtime objects */
  } u;
} Value;

typedef struct VStr {
  Obj h;
  size_t len;
  char s[];              /* NUL-terminated */
} VStr;

typedef struct VVec {
  Obj h;
  size_t n;
  double v[];
} VVec;

typedef struct VMat {
  Obj h;
  size_t rows, cols;
  double v[];            /* row-major */
} VMat;

typedef struct VList {
  Obj h;
  size_t n;
  Value v[];
} VList;

struct Stmt;
struct Program;

/* A user function: `fn f(x) = ...`, or an extern C function. */
typedef struct VFunc {
  Obj h;
  const struct Stmt *def;    /* the fn statement (its AST lives as long as the state) */
  void *ext;                 /* a C function (extern or host): its Foreign (lang/foreign.h),
                                one reference, released with the value; else NULL */
} VFunc;

static inline Value val_nil(void) { Value v = {V_NIL, {0}}; return v; }
static inline Value val_num(double x) { Value v = {V_NUM, {.num = x}}; return v; }
static inline Value val_bool(int b) { Value v = {V_BOOL, {.b = !!b}}; return v; }
static inline Value val_obj(VKind k, void *p) { Value v = {k, {.p = p}}; return v; }

/* Constructors: NULL/V_NIL on out-of-memory (rt's error set). */
Value val_str(Rt *rt, const char *s, size_t len);
Value val_vec(Rt *rt, size_t n);                 /* zeroed */
Value val_mat(Rt *rt, size_t rows, size_t cols); /* zeroed */
Value val_list(Rt *rt, size_t n);                /* items V_NIL */
Value val_func(Rt *rt, const struct Stmt *def);

static inline VStr *as_str(Value v) { return (VStr *)v.u.o; }
static inline VVec *as_vec(Value v) { return (VVec *)v.u.o; }
static inline VMat *as_mat(Value v) { return (VMat *)v.u.o; }
static inline VList *as_list(Value v) { return (VList *)v.u.o; }
static inline VFunc *as_func(Value v) { return (VFunc *)v.u.o; }

Value val_copy(Value v);
void val_drop(Rt *rt, Value v);

/* "number", "vector", "law", ... — for messages. */
const char *kind_name(VKind k);
/* "a number", "a vector", "a law", ... */
const char *kind_article(VKind k);

/* Appends the printed form of v ("[1, 2]", "law normal(dim = 2)", ...). */
void val_format(StrBuf *b, Value v);

/* True when v is a number, vector or matrix. */
static inline int val_is_array(Value v)
{
  return v.kind == V_NUM || v.kind == V_VEC || v.kind == V_MAT;
}

#endif
