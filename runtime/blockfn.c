/*
 * blockfn.c — reference counting and errors for block functions.
 */
#include "blockfn.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

BlockFn *blockfn_new(Rt *rt, const char *name, int in_dim, int out_dim, void *ctx,
                     void (*free_ctx)(Rt *, void *))
{
  BlockFn *f = rt_calloc(rt, 1, sizeof *f);
  char *nm = rt_strdup(rt, name ? name : "function");
  if (!f || !nm) {
    rt_free(rt, f);
    rt_free(rt, nm);
    if (free_ctx)
      free_ctx(rt, ctx);
    return NULL;
  }
  f->refs = 1;
  f->name = nm;
  f->in_dim = in_dim;
  f->out_dim = out_dim;
  f->ctx = ctx;
  f->free_ctx = free_ctx;
  return f;
}

BlockFn *blockfn_ref(BlockFn *f)
{
  if (f)
    f->refs++;
  return f;
}

void blockfn_unref(Rt *rt, BlockFn *f)
{
  if (!f || --f->refs > 0)
    return;
  if (f->free_ctx)
    f->free_ctx(rt, f->ctx);
  for (int i = 0; i < f->ncache; i++)
    blockfn_unref(rt, f->cache[i].fn);
  rt_free(rt, f->name);
  rt_free(rt, f);
}

size_t blockfn_scratch(const BlockFn *f, size_t n)
{
  return f->scratch_doubles ? f->scratch_doubles(f, n) : 0;
}

RtStatus blockfn_at_dim(Rt *rt, BlockFn *f, int dim, BlockFn **out)
{
  *out = NULL;
  if (f->in_dim == dim) {
    *out = blockfn_ref(f);
    return RT_OK;
  }
  if (f->in_dim >= 0 || !f->specialize)
    return rt_error(rt, RT_EINVAL, "%s takes inputs of dimension %d, not %d", f->name,
                    f->in_dim, dim);
  for (int i = 0; i < f->ncache; i++)
    if (f->cache[i].dim == dim) {
      *out = blockfn_ref(f->cache[i].fn);
      return RT_OK;
    }
  if (dim < f->min_dim)
    return rt_error(rt, RT_EINVAL, "%s needs inputs of dimension at least %d, not %d",
                    f->name, f->min_dim, dim);
  RtStatus st = f->specialize(rt, f, dim, out);
  if (st)
    return st;
  /* The cache is filled on the calling (main) thread only; once full, older
   * entries are simply not cached. */
  if (f->ncache < BLOCKFN_CACHE) {
    f->cache[f->ncache].dim = dim;
    f->cache[f->ncache].fn = blockfn_ref(*out);
    f->ncache++;
  }
  return RT_OK;
}

RtStatus block_fail(BlockErr *err, RtStatus code, const char *fmt, ...)
{
  if (err->status == RT_OK) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->status = code;
  }
  return code;
}
