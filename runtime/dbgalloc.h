/*
 * dbgalloc.h — a checking allocator for the one allocation hook (Rt's
 * realloc_fn, moe_Config's realloc_fn).
 *
 * It exists for reliability work: a memory ceiling (an allocation that would
 * take the live total above it fails, so "out of memory" is an ordinary,
 * testable error rather than the kernel's OOM killer), fail-after-N (the
 * n-th allocation from now fails, so a test can walk every allocation
 * failure of a script in turn), and counts of live blocks and bytes (so a
 * test can assert that nothing leaked).  Each block carries a 16-byte header
 * with its size.  Like the engine's own contract, it is not thread-safe:
 * only the calling thread allocates (worker threads never do).
 */
#ifndef MOE_DBGALLOC_H
#define MOE_DBGALLOC_H

#include <stddef.h>

typedef struct DbgAlloc {
  size_t ceiling;        /* live bytes allowed; 0: no ceiling */
  long fail_after;       /* fail the n-th allocation or growth from now; -1: never */
  size_t live_bytes, peak_bytes;
  long live_blocks;
  long allocations;      /* successful allocations and growths so far */
  long failures;         /* requests refused (ceiling or fail_after) */
} DbgAlloc;

/* Fills *a with no ceiling, no planned failure and zero counts. */
void dbg_init(DbgAlloc *a);

/* The hook: realloc semantics (size 0 frees and returns NULL; ptr NULL
 * allocates); ud is the DbgAlloc. */
void *dbg_realloc(void *ptr, size_t size, void *ud);

#endif
