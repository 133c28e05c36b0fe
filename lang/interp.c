/*
 * interp.c — the interpreter state: setup, scopes, and running a source
 * through parse, check and execution (see interp.h).
 */
#include "interp.h"

#include <string.h>
#include <unistd.h>

#include "check.h"
#include "exec.h"
#include "import.h"
#include "parse.h"

int interp_init(Interp *I, WriteFn out, void *out_ud, WriteFn err, void *err_ud)
{
  return interp_init_alloc(I, NULL, NULL, out, out_ud, err, err_ud);
}

int interp_init_alloc(Interp *I, RtReallocFn realloc_fn, void *alloc_ud, WriteFn out,
                      void *out_ud, WriteFn err, void *err_ud)
{
  memset(I, 0, sizeof *I);
  rt_init(&I->rt);
  if (realloc_fn) {
    I->rt.realloc_fn = realloc_fn;
    I->rt.alloc_ud = alloc_ud;
  }
  I->rt.interrupt = &I->interrupt;
  diag_init(&I->diags, &I->rt);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  I->set.seed = 1;
  I->set.samples = 1000000;
  I->set.threads = cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
  I->set.confidence = 0.95;
  I->set.method = METHOD_AUTO;
  I->out = out;
  I->out_ud = out_ud;
  I->err = err;
  I->err_ud = err_ud;
  return import_prelude(I);
}

void interp_free(Interp *I)
{
  scope_free(I, &I->globals);
  import_free_all(I);
  for (int i = 0; i < I->nprogs; i++)
    program_free(&I->rt, I->progs[i]);
  rt_free(&I->rt, I->progs);
  source_free_all(&I->rt, I->sources);
  diag_clear(&I->diags);
}

int interp_reset(Interp *I)
{
  Interp old = *I;       /* the options to carry over; its pointers are dead */
  interp_free(I);
  if (interp_init_alloc(I, old.rt.realloc_fn, old.rt.alloc_ud, old.out, old.out_ud, old.err,
                        old.err_ud))
    return 1;
  if (old.locked & LOCK_SEED) I->set.seed = old.set.seed;
  if (old.locked & LOCK_SAMPLES) I->set.samples = old.set.samples;
  if (old.locked & LOCK_THREADS) I->set.threads = old.set.threads;
  if (old.locked & LOCK_METHOD) I->set.method = old.set.method;
  I->locked = old.locked;
  I->format = old.format;
  I->quiet = old.quiet;
  I->progress = old.progress;
  I->progress_ud = old.progress_ud;
  I->no_ffi = old.no_ffi;
  I->repl = old.repl;
  I->dump_plan = old.dump_plan;
  I->limits = old.limits;
  return 0;
}

void interp_print(Interp *I, const char *s, size_t n)
{
  if (I->out)
    I->out(I->out_ud, s, n);
}

void interp_flush_diags(Interp *I)
{
  if (I->diags.n == 0 && I->diags.dropped == 0)
    return;
  StrBuf b;
  sb_init(&b, &I->rt);
  diag_render_all(&b, &I->diags);
  if (I->err && !b.failed)
    I->err(I->err_ud, sb_str(&b), b.len);
  else if (I->err)
    I->err(I->err_ud, "error: out of memory\n", 21);
  sb_free(&b);
  diag_clear(&I->diags);
}

/* ------------------------------------------------------------ scopes */

static unsigned hash_name(const char *s)
{
  unsigned h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

/* Rebuilds the open-addressing index of a scope at twice the bindings. */
static int reindex(Interp *I, Scope *s)
{
  int cap = 16;
  while (cap < s->n * 2 + 2)
    cap *= 2;
  int *idx = rt_array(&I->rt, (size_t)cap, sizeof *idx);
  if (!idx)
    return 1;
  for (int i = 0; i < cap; i++)
    idx[i] = -1;
  for (int k = 0; k < s->n; k++) {
    unsigned h = hash_name(s->v[k].name) & (unsigned)(cap - 1);
    while (idx[h] >= 0)
      h = (h + 1) & (unsigned)(cap - 1);
    idx[h] = k;
  }
  rt_free(&I->rt, s->index);
  s->index = idx;
  s->index_cap = cap;
  return 0;
}

Binding *scope_find(Scope *s, const char *name)
{
  if (s->index) {
    unsigned h = hash_name(name) & (unsigned)(s->index_cap - 1);
    for (; s->index[h] >= 0; h = (h + 1) & (unsigned)(s->index_cap - 1))
      if (strcmp(s->v[s->index[h]].name, name) == 0)
        return &s->v[s->index[h]];
    return NULL;
  }
  for (int i = 0; i < s->n; i++)
    if (strcmp(s->v[i].name, name) == 0)
      return &s->v[i];
  return NULL;
}

int scope_bind(Interp *I, Scope *s, const char *name, Value v, Pos pos)
{
  Binding *old = scope_find(s, name);
  if (old) {
    val_drop(&I->rt, old->v);
    old->v = v;
    old->pos = pos;
    return 0;
  }
  if (s->n == s->cap) {
    int cap = s->cap ? s->cap * 2 : 8;
    Binding *nv = rt_realloc(&I->rt, s->v, (size_t)cap * sizeof *nv);
    if (!nv) {
      val_drop(&I->rt, v);
      return 1;
    }
    s->v = nv;
    s->cap = cap;
  }
  char *nm = rt_strdup(&I->rt, name);
  if (!nm) {
    val_drop(&I->rt, v);
    return 1;
  }
  s->v[s->n++] = (Binding){nm, v, pos};
  /* Only the globals grow large enough to want an index. */
  if (s == &I->globals && s->n * 2 > s->index_cap)
    return reindex(I, s);
  if (s->index) {
    unsigned h = hash_name(nm) & (unsigned)(s->index_cap - 1);
    while (s->index[h] >= 0)
      h = (h + 1) & (unsigned)(s->index_cap - 1);
    s->index[h] = s->n - 1;
  }
  return 0;
}

void scope_free(Interp *I, Scope *s)
{
  for (int i = 0; i < s->n; i++) {
    rt_free(&I->rt, s->v[i].name);
    val_drop(&I->rt, s->v[i].v);
  }
  rt_free(&I->rt, s->v);
  rt_free(&I->rt, s->index);
  Scope *parent = s->parent;
  memset(s, 0, sizeof *s);
  s->parent = parent;
}

Binding *interp_lookup(Interp *I, const char *name)
{
  for (Scope *s = I->locals; s; s = s->parent) {
    Binding *b = scope_find(s, name);
    if (b)
      return b;
  }
  return scope_find(&I->globals, name);
}

/* ------------------------------------------------------------ running */

/* Programs stay alive with the state: functions and declared objects keep
 * pointers into their trees. */
int interp_keep_program(Interp *I, Program *p)
{
  if (I->nprogs == I->progs_cap) {
    int cap = I->progs_cap ? I->progs_cap * 2 : 8;
    Program **v = rt_realloc(&I->rt, I->progs, (size_t)cap * sizeof *v);
    if (!v)
      return 1;
    I->progs = v;
    I->progs_cap = cap;
  }
  I->progs[I->nprogs++] = p;
  return 0;
}

void interp_keep_source(Interp *I, Source *src)
{
  src->next = I->sources;
  I->sources = src;
}

static int dump(Interp *I, const Program *p)
{
  StrBuf b;
  sb_init(&b, &I->rt);
  ast_dump(&b, p);
  if (!b.failed)
    interp_print(I, sb_str(&b), b.len);
  int failed = b.failed;
  sb_free(&b);
  return failed;
}

int interp_run(Interp *I, Source *src, int check_only, int dump_ast, int *incomplete)
{
  int inc = 0;
  Program *p = parse_program(&I->rt, src, &I->diags, &inc);
  /* Incomplete: the only error is the one the end of the input caused (an
   * earlier error makes the statement wrong whatever follows). */
  if (incomplete && inc && I->diags.n == 1 && !I->diags.dropped) {
    *incomplete = 1;
    diag_clear(&I->diags);
    program_free(&I->rt, p);
    source_free_all(&I->rt, src);
    return 2;
  }
  interp_keep_source(I, src);
  if (!p) {
    diag_error(&I->diags, (Pos){src, 1, 1}, 1, "out of memory while parsing");
    interp_flush_diags(I);
    return 1;
  }
  if (interp_keep_program(I, p)) {
    program_free(&I->rt, p);
    diag_error(&I->diags, (Pos){src, 1, 1}, 1, "out of memory");
    interp_flush_diags(I);
    return 1;
  }
  if (I->diags.n == 0 && !dump_ast)
    check_program(I, p);
  if (I->diags.n > 0 || I->diags.dropped) {
    interp_flush_diags(I);
    return 1;
  }
  if (dump_ast)
    return dump(I, p);
  if (check_only)
    return 0;
  I->steps = 0;
  int err = exec_program(I, p);
  interp_flush_diags(I);
  return err ? 1 : 0;
}
