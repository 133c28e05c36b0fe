/*
 * dbgalloc.c — the checking allocator (see dbgalloc.h).
 */
#include "dbgalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 16 bytes keep the user pointer as aligned as malloc's. */
#define HEADER 16

void dbg_init(DbgAlloc *a)
{
  memset(a, 0, sizeof *a);
  a->fail_after = -1;
}

/* Whether the next request may go ahead: counts down fail_after. */
static int refuse(DbgAlloc *a, size_t grow)
{
  if (a->fail_after >= 0 && a->fail_after-- == 0)
    return 1;
  return a->ceiling && (grow > a->ceiling || a->live_bytes > a->ceiling - grow);
}

void *dbg_realloc(void *ptr, size_t size, void *ud)
{
  DbgAlloc *a = ud;
  unsigned char *base = ptr ? (unsigned char *)ptr - HEADER : NULL;
  size_t old = 0;
  if (base)
    memcpy(&old, base, sizeof old);
  if (size == 0) {
    if (base) {
      a->live_bytes -= old;
      a->live_blocks--;
      free(base);
    }
    return NULL;
  }
  if (size > SIZE_MAX - HEADER) {
    a->failures++;
    return NULL;
  }
  /* Shrinking never fails; only new bytes count against the ceiling. */
  if (size > old && refuse(a, size - old)) {
    a->failures++;
    return NULL;
  }
  unsigned char *nb = realloc(base, size + HEADER);
  if (!nb) {
    a->failures++;
    return NULL;
  }
  memcpy(nb, &size, sizeof size);
  a->live_bytes = a->live_bytes - old + size;
  a->live_blocks += base == NULL;
  a->allocations++;
  if (a->live_bytes > a->peak_bytes)
    a->peak_bytes = a->live_bytes;
  return nb + HEADER;
}
