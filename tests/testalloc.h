/*
 * testalloc.h — the counting allocator the unit tests plug into Rt's
 * allocation hook: counts live blocks (so a test can assert that nothing
 * leaked, on success and on every error path) and can fail the n-th
 * allocation from now (so a test can walk every allocation failure).
 * Header-only: each test program gets its own counters.
 */
#ifndef MOE_TESTALLOC_H
#define MOE_TESTALLOC_H

#include <stdlib.h>

#include "rt.h"

static long live_blocks;
static long fail_after = -1;   /* fail the n-th allocation from now; -1 never */

static void *count_realloc(void *ptr, size_t size, void *ud)
{
  (void)ud;
  if (size == 0) {
    live_blocks -= ptr != NULL;
    free(ptr);
    return NULL;
  }
  if (!ptr && fail_after >= 0 && fail_after-- == 0)
    return NULL;
  void *p = realloc(ptr, size);
  live_blocks += p && !ptr;
  return p;
}

static inline void counting_rt(Rt *rt)
{
  rt_init(rt);
  rt->realloc_fn = count_realloc;
}

#endif
