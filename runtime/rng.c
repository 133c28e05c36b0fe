/*
 * rng.c — counter-based random streams on Philox4x32-10 (see rng.h).
 *
 * The fills compute GROUP counters at a time in a loop whose per-lane state
 * is plain scalars, so gcc vectorizes Philox with one 64-bit lane per word
 * and the Box–Muller step as packed double arithmetic.  (gcc 12 emits the
 * products as vpmullq with AVX-512; on AVX2 it emulates the 64-bit multiply,
 * so that clone is only about scalar speed for uniforms.)  log, sin and cos
 * are our own branch-free polynomial kernels (no libm, which would stop the
 * vectorizer and differ between machines).  Every floating-point step is an
 * IEEE add, sub, mul, div or sqrt, each correctly rounded, and FMA contraction
 * is off, so every SIMD width (and the scalar code) gives the same bits.
 *
 * Build notes: -O2 or -O3 both vectorize (the loops have fixed trip counts).
 * -fno-math-errno lets sqrt vectorize too; without it the numbers are the
 * same (sqrt is correctly rounded either way), only slower.  The pragma below
 * keeps contraction off even under -std=gnu11 or -march=native.
 */
#pragma GCC optimize("fp-contract=off")

#include "rng.h"

#include <math.h>
#include <string.h>

/* Counters per kernel call.  Measured on an AVX-512 machine: 16 is as fast
 * as 32..128 and wastes the least work on the tail of a short fill. */
#define GROUP 16

/* Wide clones for the hot loops (see simd.h); -DHOT= drops them. */
#include "simd.h"
#ifndef HOT
#define HOT KERNEL
#endif

/* Philox4x32 multipliers and Weyl key increments (Salmon et al., 2011). */
#define M0 0xD2511F53u
#define M1 0xCD9E8D57u
#define W0 0x9E3779B9u
#define W1 0xBB67AE85u
#define LO32 0xFFFFFFFFu

__extension__ typedef unsigned __int128 u128;

static inline uint64_t bits(double x)
{
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

static inline double from_bits(uint64_t u)
{
  double x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* ---- Philox ----------------------------------------------------------- */

/* Philox4x32-10 on one counter.  The 32-bit words are held in 64-bit
 * variables whose upper halves are junk (masked off before each multiply and
 * at the end): in a lane loop that gives one 64-bit vector lane per word, one
 * multiply per product and no repacking of 32-bit lanes between rounds. */
static inline void philox10(uint64_t x[4], uint64_t k0, uint64_t k1)
{
#pragma GCC unroll 10
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (x[0] & LO32) * M0, p1 = (x[2] & LO32) * M1;
    x[0] = (p1 >> 32) ^ x[1] ^ k0;
    x[1] = p1;
    x[2] = (p0 >> 32) ^ x[3] ^ k1;
    x[3] = p0;
    k0 += W0;
    k1 += W1;
  }
}

void rng_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
  uint64_t x[4] = { ctr[0], ctr[1], ctr[2], ctr[3] };
  philox10(x, key[0], key[1]);
  for (int i = 0; i < 4; i++)
    out[i] = (uint32_t)x[i];
}

/* Philox output of lane i of a group that starts at the stream's counter. */
static inline void lane(const RngStream *s, uint32_t i, uint64_t x[4])
{
  x[0] = (uint32_t)(s->ctr[0] + i);
  x[1] = s->ctr[1];
  x[2] = s->ctr[2];
  x[3] = s->ctr[3];
  philox10(x, s->key[0], s->key[1]);
}

/* The 64-bit word made of output words lo, hi (junk upper halves allowed). */
static inline uint64_t word(uint64_t lo, uint64_t hi)
{
  return hi << 32 | (lo & LO32);
}

/* (2k+1) 2^-53 for the top 52 bits k of the word: strictly inside (0, 1),
 * exactly representable, symmetric under u -> 1-u, mean exactly 1/2.  The
 * obvious ((w >> 11) + 0.5) 2^-53 is not representable above 1/2 and rounds
 * to 1.0 for the largest word.  1 + k 2^-52 is built from bits, and the
 * subtraction below is exact. */
static inline double unit(uint64_t w)
{
  return from_bits(0x3FF0000000000000u | w >> 12) - (1.0 - 0x1p-53);
}

/* ---- log -------------------------------------------------------------- */

/* Our own minimax fit of (2 atanh(s) - 2s) / s^3 in z = s^2 on
 * [0, 0.02944] (|s| <= (sqrt2-1)/(sqrt2+1)); it adds under 0.05 ulp.
 * Measured against logl: at most 1.02 ulp, just below sqrt(1/2) where
 * e ln 2 and ln m cancel (see test_rng.c). */
#define LG0 0x1.5555555555558p-1
#define LG1 0x1.99999999952e2p-2
#define LG2 0x1.2492492df148dp-2
#define LG3 0x1.c71c62e5800a1p-3
#define LG4 0x1.7462b4ab2ef6bp-3
#define LG5 0x1.39fe606542ddep-3
#define LG6 0x1.2b584aae78a57p-3
/* ln 2 split so that e * LN2HI is exact for |e| < 2^11. */
#define LN2HI 0x1.62e42fefa3800p-1
#define LN2LO 0x1.ef35793c76730p-45
#define SQRTH_BITS 0x3FE6A09E667F3BCDu   /* sqrt(1/2) */

/* ln x for finite normal x > 0.  x = 2^e m with m in [sqrt(1/2), sqrt 2)
 * found by adding the mantissa offset of sqrt 2 so that the carry bumps the
 * exponent; then with f = m-1 (exact) and s = f/(2+f),
 * ln m = 2 atanh s = f - s (f - R(s^2)), which keeps the exact f as the
 * leading term so the rounding of s costs little. */
static inline double log_core(double x)
{
  uint64_t b = bits(x);
  uint64_t ex = (b + (0x3FF0000000000000u - SQRTH_BITS)) >> 52;
  double e = from_bits(0x4330000000000000u | ex) - (0x1p52 + 1023.0);
  double f = from_bits(b - (ex << 52) + (UINT64_C(1023) << 52)) - 1.0;
  double s = f / (2.0 + f), z = s * s;
  double p = LG5 + z * LG6;
  p = LG4 + z * p;
  p = LG3 + z * p;
  p = LG2 + z * p;
  p = LG1 + z * p;
  p = LG0 + z * p;
  double r = z * p;
  return e * LN2HI + (f - (s * (f - r) - e * LN2LO));
}

/* ---- sin and cos of a turn -------------------------------------------- */

/* Our own minimax fits on |x| <= pi/4, z = x^2:
 * sin x = x + x z S(z), cos x = 1 - z/2 + z^2 C(z); each adds under 0.2 ulp.
 * With the rounding of x = f pi/2 and of pi/2 itself, sin/cos of a turn
 * measure at most 1.88 ulp against sinl/cosl (see test_rng.c). */
#define S0 -0x1.5555555555555p-3
#define S1 0x1.1111111110bb2p-7
#define S2 -0x1.a01a019e83aaep-13
#define S3 0x1.71de37968a100p-19
#define S4 -0x1.ae600b02b6262p-26
#define S5 0x1.5e0b19f8b1451p-33
#define C0 0x1.5555555555555p-5
#define C1 -0x1.6c16c16c16967p-10
#define C2 0x1.a01a019f4eb01p-16
#define C3 -0x1.27e4fa17da09ep-22
#define C4 0x1.1eeb68e93b64cp-29
#define C5 -0x1.907da367a37cbp-37
#define PIO2 0x1.921fb54442d18p+0
#define ROUNDER 0x1.8p52   /* t + ROUNDER rounds t to an integer in its bits */

static inline double sin_poly(double x, double z)
{
  double p = S4 + z * S5;
  p = S3 + z * p;
  p = S2 + z * p;
  p = S1 + z * p;
  p = S0 + z * p;
  return x + x * (z * p);
}

static inline double cos_poly(double z)
{
  double p = C4 + z * C5;
  p = C3 + z * p;
  p = C2 + z * p;
  p = C1 + z * p;
  p = C0 + z * p;
  return 1.0 - (0.5 * z - (z * z) * p);
}

/* sin and cos of 2 pi u for |u| < 2^49.  The reduction is done on u itself,
 * where it is exact: 4u = q + f with q the nearest integer and |f| <= 1/2,
 * so 2 pi u = q pi/2 + f pi/2, and the quadrant q only swaps the results
 * and flips their signs (done on the sign bits, without branches). */
static inline void sincos_turn(double u, double *sn, double *cs)
{
  double t = 4.0 * u, rq = t + ROUNDER;
  uint64_t q = bits(rq);
  double x = (t - (rq - ROUNDER)) * PIO2, z = x * x;
  double ps = sin_poly(x, z), pc = cos_poly(z);
  double s = (q & 1) ? pc : ps, c = (q & 1) ? ps : pc;
  *sn = from_bits(bits(s) ^ (q & 2) << 62);
  *cs = from_bits(bits(c) ^ ((q + 1) & 2) << 62);
}

void rng_log_n(const double *x, double *out, size_t n)
{
  for (size_t i = 0; i < n; i++)
    out[i] = log_core(x[i]);
}

void rng_sincos_turn_n(const double *u, double *sn, double *cs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    sincos_turn(u[i], &sn[i], &cs[i]);
}

/* ---- group kernels ---------------------------------------------------- */

HOT static void uniform_group(const RngStream *s, double *restrict out)
{
  for (uint32_t i = 0; i < GROUP; i++) {
    uint64_t x[4];
    lane(s, i, x);
    out[2 * i] = unit(word(x[0], x[1]));
    out[2 * i + 1] = unit(word(x[2], x[3]));
  }
}

/* Box–Muller in three loops so that the sqrt loop, which only vectorizes
 * under -fno-math-errno, does not hold the others back when it does not. */
HOT static void normal_group(const RngStream *s, double *restrict out)
{
  double rr[GROUP], sn[GROUP], cs[GROUP];
  for (uint32_t i = 0; i < GROUP; i++) {
    uint64_t x[4];
    lane(s, i, x);
    rr[i] = -2.0 * log_core(unit(word(x[0], x[1])));
    sincos_turn(unit(word(x[2], x[3])), &sn[i], &cs[i]);
  }
  for (int i = 0; i < GROUP; i++)
    rr[i] = sqrt(rr[i]);
  for (int i = 0; i < GROUP; i++) {
    out[2 * i] = rr[i] * cs[i];
    out[2 * i + 1] = rr[i] * sn[i];
  }
}

HOT static void word_group(const RngStream *s, uint64_t *restrict out)
{
  for (uint32_t i = 0; i < GROUP; i++) {
    uint64_t x[4];
    lane(s, i, x);
    out[2 * i] = word(x[0], x[1]);
    out[2 * i + 1] = word(x[2], x[3]);
  }
}

/* ---- streams ---------------------------------------------------------- */

void rng_init(RngStream *s, uint64_t seed, uint64_t block, uint32_t sub)
{
  s->key[0] = (uint32_t)seed;
  s->key[1] = (uint32_t)(seed >> 32);
  s->ctr[0] = 0;
  s->ctr[1] = sub;
  s->ctr[2] = (uint32_t)block;
  s->ctr[3] = (uint32_t)(block >> 32);
}

typedef void GroupFn(const RngStream *s, double *restrict out);

/* Runs a two-values-per-counter kernel over n outputs: whole groups straight
 * into out, the tail through a scratch group.  The stream advances by the
 * counters used, ceil(n/2); the draw counter wraps after 2^32 counters. */
static void fill(RngStream *s, double *out, size_t n, GroupFn *group)
{
  for (; n >= 2 * GROUP; n -= 2 * GROUP, out += 2 * GROUP) {
    group(s, out);
    s->ctr[0] += GROUP;
  }
  if (n > 0) {
    double tmp[2 * GROUP];
    group(s, tmp);
    memcpy(out, tmp, n * sizeof *out);
    s->ctr[0] += (uint32_t)((n + 1) / 2);
  }
}

void rng_uniform(RngStream *s, double *out, size_t n)
{
  fill(s, out, n, uniform_group);
}

void rng_normal(RngStream *s, double *out, size_t n)
{
  fill(s, out, n, normal_group);
}

/* ---- integers below n ------------------------------------------------- */

/* Lemire's method: the high word of w*n is uniform on [0, n) once products
 * whose low word is below 2^64 mod n are rejected.  That threshold costs a
 * division, paid only when the low word is below n (rare unless n is huge);
 * *thr caches it, UINT64_MAX meaning not yet known (it is always < n). */
static int lemire(uint64_t w, uint64_t n, uint64_t *thr, uint64_t *r)
{
  u128 m = (u128)w * n;
  uint64_t lo = (uint64_t)m;
  if (lo < n) {
    if (*thr == UINT64_MAX)
      *thr = -n % n;
    if (lo < *thr)
      return 0;
  }
  *r = (uint64_t)(m >> 64);
  return 1;
}

/* Each draw starts on a fresh counter and tries its two 64-bit words in
 * turn, moving to further counters only if both are rejected; the rest of
 * its last counter is dropped.  Words are computed a group ahead; the stream
 * advances only over counters actually used.  n = 0 yields 0 (no division). */
void rng_below_n(RngStream *s, uint64_t n, uint64_t *out, size_t count)
{
  uint64_t buf[2 * GROUP], thr = UINT64_MAX;
  size_t next = GROUP;   /* next unused counter in buf; GROUP means empty */
  for (size_t i = 0; i < count; i++) {
    for (;;) {
      if (next == GROUP) {
        word_group(s, buf);
        next = 0;
      }
      const uint64_t *w = buf + 2 * next++;
      s->ctr[0]++;
      if (lemire(w[0], n, &thr, &out[i]) || lemire(w[1], n, &thr, &out[i]))
        break;
    }
  }
}

uint64_t rng_below(RngStream *s, uint64_t n)
{
  uint64_t r = 0, thr = UINT64_MAX;
  for (;;) {
    uint64_t x[4];
    lane(s, 0, x);
    s->ctr[0]++;
    if (lemire(word(x[0], x[1]), n, &thr, &r) || lemire(word(x[2], x[3]), n, &thr, &r))
      return r;
  }
}
