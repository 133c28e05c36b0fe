/*
 * arena.c — bump allocation in chunks (see arena.h).
 */
#include "arena.h"

#include <stdalign.h>
#include <string.h>

struct ArenaChunk {
  ArenaChunk *next;
  size_t used, cap;
  alignas(max_align_t) unsigned char data[];
};

#define CHUNK_MIN (16 * 1024)

void arena_init(Arena *a, Rt *rt)
{
  a->rt = rt;
  a->head = NULL;
  a->failed = 0;
}

static ArenaChunk *new_chunk(Arena *a, size_t need)
{
  size_t cap = need > CHUNK_MIN ? need : CHUNK_MIN;
  ArenaChunk *c = rt_alloc(a->rt, sizeof *c + cap);
  if (!c) {
    a->failed = 1;
    return NULL;
  }
  c->next = a->head;
  c->used = 0;
  c->cap = cap;
  a->head = c;
  return c;
}

void *arena_alloc(Arena *a, size_t size)
{
  const size_t align = alignof(max_align_t);
  if (size > SIZE_MAX / 2) {
    a->failed = 1;
    return NULL;
  }
  size = (size + align - 1) & ~(align - 1);
  ArenaChunk *c = a->head;
  if (!c || c->cap - c->used < size)
    c = new_chunk(a, size);
  if (!c)
    return NULL;
  void *p = c->data + c->used;
  c->used += size;
  memset(p, 0, size);
  return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
  char *p = arena_alloc(a, n + 1);
  if (p)
    memcpy(p, s, n);
  return p;
}

void *arena_grow(Arena *a, void *old, size_t old_n, size_t new_n, size_t elem)
{
  if (elem && new_n > SIZE_MAX / elem) {
    a->failed = 1;
    return NULL;
  }
  void *p = arena_alloc(a, new_n * elem);
  if (p && old)
    memcpy(p, old, old_n * elem);
  return p;
}

void arena_free(Arena *a)
{
  ArenaChunk *c = a->head;
  while (c) {
    ArenaChunk *next = c->next;
    rt_free(a->rt, c);
    c = next;
  }
  a->head = NULL;
}
