/*
 * rng.h — counter-based random streams (Philox4x32-10 from Random123).
 *
 * A stream is a pure function of (seed, block, substream): block b of a
 * computation under seed s draws from Philox with key = s and counter
 * (draw, substream, b_lo, b_hi).  Nothing depends on which thread runs the
 * block, so results are bit-identical for any thread count.  Substreams let
 * one block feed several independent consumers (the law's normals, a
 * mixture's component choices, an empirical law's indices) without one
 * consumer's draw count shifting another's numbers.
 *
 * Every fill function starts at the stream's next unused Philox counter and
 * consumes whole counters (4 x 32 bits each); what a call does not use of its
 * last counter is discarded.  So the numbers a call returns depend only on
 * the stream's position, and the split of a block into calls must itself be
 * deterministic (it always is: it depends on the block size, not on threads).
 *
 * The floating-point kernels use only IEEE operations that every x86-64
 * vector width computes identically (no FMA contraction, no libm calls in
 * the vector loops), so the same seed gives the same numbers on any machine.
 */
#ifndef MOE_RNG_H
#define MOE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct RngStream {
  uint32_t key[2];
  uint32_t ctr[4];      /* ctr[0] counts Philox calls within the substream */
} RngStream;

/* Positions s at the start of substream `sub` of block `block` under `seed`. */
void rng_init(RngStream *s, uint64_t seed, uint64_t block, uint32_t sub);

/* n uniforms in the open interval (0, 1), 53-bit resolution, two per counter. */
void rng_uniform(RngStream *s, double *out, size_t n);

/* n standard normals (Box–Muller on 53-bit uniforms, two per counter). */
void rng_normal(RngStream *s, double *out, size_t n);

/* One integer uniform on [0, n) without modulo bias; n >= 1. */
uint64_t rng_below(RngStream *s, uint64_t n);

/* count integers uniform on [0, n), as if by count calls of rng_below. */
void rng_below_n(RngStream *s, uint64_t n, uint64_t *out, size_t count);

/* The raw generator: Philox4x32-10 of (ctr, key).  Exposed for tests that
 * check the stream against Random123's known-answer vectors. */
void rng_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* The vector math kernels behind rng_normal, exposed for accuracy tests.
 * rng_log_n: out[i] = ln x[i] for finite normal x[i] > 0.
 * rng_sincos_turn_n: sn[i], cs[i] = sin, cos of 2 pi u[i] for |u[i]| < 2^49. */
void rng_log_n(const double *x, double *out, size_t n);
void rng_sincos_turn_n(const double *u, double *sn, double *cs, size_t n);

#endif
