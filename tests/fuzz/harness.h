/*
 * harness.h — the fuzzing harness's entry point (see harness.c).
 */
#ifndef MOE_FUZZ_HARNESS_H
#define MOE_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct FuzzLimits {
  size_t memory;         /* the allocator's ceiling, bytes */
  uint64_t samples;      /* Monte Carlo samples per query at most */
  uint64_t steps;        /* statements plus function calls per input */
  unsigned dump_every;   /* inputs whose size is a multiple: --dump-ast instead of running */
} FuzzLimits;

/* The limits every fuzz input runs under. */
#define FUZZ_LIMITS {256u << 20, 2000, 20000, 7}

/* Runs one input; returns the interpreter's status (0 ran, 1 script
 * error).  Aborts on a leak. */
int fuzz_one(const uint8_t *data, size_t size, const FuzzLimits *lim);

#endif
