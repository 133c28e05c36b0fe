/*
 * arena.h — bump allocation for the AST.
 *
 * Everything a parse builds lives in one arena owned by the Program and is
 * freed in one place whatever the outcome (a syntax error half-way through
 * leaves nothing to clean up node by node).  Chunks come from the runtime's
 * allocation hook, so allocation failures surface as RT_ENOMEM.
 */
#ifndef MOE_ARENA_H
#define MOE_ARENA_H

#include <stddef.h>

#include "../runtime/rt.h"

typedef struct ArenaChunk ArenaChunk;

typedef struct Arena {
  Rt *rt;
  ArenaChunk *head;
  int failed;            /* an allocation failed; the parse must be abandoned */
} Arena;

void arena_init(Arena *a, Rt *rt);
/* Zeroed memory aligned for any type, or NULL (and a->failed) on OOM. */
void *arena_alloc(Arena *a, size_t size);
char *arena_strndup(Arena *a, const char *s, size_t n);
/* Grows an array owned by the arena (old contents copied; old block wasted). */
void *arena_grow(Arena *a, void *old, size_t old_n, size_t new_n, size_t elem);
void arena_free(Arena *a);

#endif
