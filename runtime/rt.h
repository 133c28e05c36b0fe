/*
 * rt.h — the runtime context that every engine function receives.
 *
 * The numeric engine never exits, aborts or prints.  Every function that can
 * fail takes an `Rt *`, returns an `RtStatus`, and on failure leaves a message
 * in `rt->msg` (set with rt_error).  All memory goes through the one
 * allocation hook held here, so an embedder's allocator (and the debug
 * allocator with fail-after-N) sees every byte.  Worker threads never
 * allocate: kernels take their scratch before the threads start, so the hook
 * need not be thread-safe.
 *
 * This header knows nothing about the language; lang/ attaches source
 * positions to runtime errors.
 */
#ifndef MOE_RT_H
#define MOE_RT_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

typedef enum RtStatus {
  RT_OK = 0,
  RT_EINVAL = 1,   /* an invalid parameter or input (message says which) */
  RT_ENOMEM = 2,   /* an allocation failed or the memory ceiling was hit */
  RT_EIO = 3,      /* a file could not be read or is malformed */
  RT_EINTR = 4,    /* the computation was interrupted (Ctrl-C) */
  RT_EUNSUP = 5    /* a path that does not exist for this case (e.g. exact) */
} RtStatus;

/* Same contract as Wren's reallocateFn: size 0 frees and returns NULL;
 * ptr NULL allocates.  Returns NULL on failure. */
typedef void *(*RtReallocFn)(void *ptr, size_t size, void *ud);

#define RT_MSG_MAX 1024

typedef struct Rt {
  RtReallocFn realloc_fn;
  void *alloc_ud;
  int threads;                     /* worker threads for block loops (>= 1) */
  size_t block;                    /* samples per block (B) */
  volatile int *interrupt;         /* set non-zero asynchronously to stop */
  RtStatus status;                 /* last error code */
  char msg[RT_MSG_MAX];            /* last error message */
} Rt;

/* Fills *rt with defaults: the C library allocator, 1 thread, B = 2048. */
void rt_init(Rt *rt);

/* Records an error and returns its code (so callers can `return rt_error(...)`). */
RtStatus rt_error(Rt *rt, RtStatus code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
RtStatus rt_verror(Rt *rt, RtStatus code, const char *fmt, va_list ap);

/* Clears the last error. */
void rt_clear(Rt *rt);

/* Allocation through the hook.  On failure these record "out of memory" in rt
 * and return NULL.  rt_free accepts NULL.  Sizes that overflow size_t are
 * reported as out of memory, never wrapped. */
void *rt_alloc(Rt *rt, size_t size);
void *rt_calloc(Rt *rt, size_t n, size_t size);
void *rt_realloc(Rt *rt, void *ptr, size_t size);
void *rt_array(Rt *rt, size_t n, size_t size);   /* uninitialised n*size */
void rt_free(Rt *rt, void *ptr);
char *rt_strdup(Rt *rt, const char *s);

/* True when the host asked to stop (checked at block boundaries). */
static inline int rt_interrupted(const Rt *rt)
{
  return rt->interrupt && *rt->interrupt;
}

#endif
