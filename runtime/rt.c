/*
 * rt.c — errors and allocation for the runtime context (see rt.h).
 */
#include "rt.h"

#include "linalg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *default_realloc(void *ptr, size_t size, void *ud)
{
  (void)ud;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, size);
}

void rt_init(Rt *rt)
{
  memset(rt, 0, sizeof *rt);
  rt->realloc_fn = default_realloc;
  rt->threads = 1;
  rt->block = 1024;
  la_single_threaded();
}

RtStatus rt_verror(Rt *rt, RtStatus code, const char *fmt, va_list ap)
{
  rt->status = code;
  vsnprintf(rt->msg, sizeof rt->msg, fmt, ap);
  return code;
}

RtStatus rt_error(Rt *rt, RtStatus code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  rt_verror(rt, code, fmt, ap);
  va_end(ap);
  return code;
}

void rt_clear(Rt *rt)
{
  rt->status = RT_OK;
  rt->msg[0] = '\0';
}

void *rt_realloc(Rt *rt, void *ptr, size_t size)
{
  if (size == 0) {
    rt->realloc_fn(ptr, 0, rt->alloc_ud);
    return NULL;
  }
  void *p = rt->realloc_fn(ptr, size, rt->alloc_ud);
  if (!p)
    rt_error(rt, RT_ENOMEM, "out of memory");
  return p;
}

void *rt_alloc(Rt *rt, size_t size)
{
  return rt_realloc(rt, NULL, size ? size : 1);
}

void *rt_array(Rt *rt, size_t n, size_t size)
{
  if (size && n > SIZE_MAX / size) {
    rt_error(rt, RT_ENOMEM, "out of memory (%zu elements of %zu bytes overflow size_t)",
             n, size);
    return NULL;
  }
  return rt_alloc(rt, n * size);
}

void *rt_calloc(Rt *rt, size_t n, size_t size)
{
  void *p = rt_array(rt, n, size);
  size_t bytes = n * size;      /* rt_array checked the overflow */
  if (p)
    memset(p, 0, bytes > 0 ? bytes : 1);
  return p;
}

void rt_free(Rt *rt, void *ptr)
{
  if (ptr)
    rt->realloc_fn(ptr, 0, rt->alloc_ud);
}

char *rt_strdup(Rt *rt, const char *s)
{
  size_t n = strlen(s) + 1;
  char *p = rt_alloc(rt, n);
  if (p)
    memcpy(p, s, n);
  return p;
}
