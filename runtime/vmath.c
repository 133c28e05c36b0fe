/*
 * vmath.c — array kernels for exp, log, log1p, sqrt, sin, cos, tan, tanh,
 * sigmoid, softplus and erf, and the fused softmax of the gate (vmath.h).
 *
 * Why: the block VM and the router apply these functions to columns of ~2048
 * samples.  glibc is scalar (a call per element, ~3 ns for exp and ~15 ns
 * when it underflows) and its results may differ between machines.  Here each
 * function is a branch-free inline core that gcc vectorises inside a KERNEL
 * loop (AVX-512, AVX2 and baseline clones, see simd.h).
 *
 * Same bits everywhere: every step is an IEEE add, sub, mul, div or sqrt (each
 * correctly rounded), a comparison, a select or an integer operation on the
 * bits; FMA contraction is off (pragma below, and the code never relies on a
 * fused result), so every clone, the scalar tail of a loop and any machine
 * compute the same bits.  Where an error-free product is needed it is
 * Dekker's split product, not an FMA.
 *
 * How: the polynomials are our own minimax fits (weighted Remez in mpmath;
 * the fit, interval and error are noted at each).  Accuracy comes from
 * keeping the leading term exact and carrying the rounding error of the main
 * sums as a low part (Fast2Sum/TwoSum, Dekker products), so that the last
 * rounding dominates.  Measured errors are listed in vmath.h and checked by
 * tests/unit/test_vmath.c.
 *
 * Build notes: the pragma turns contraction off and vectorisation on with
 * the dynamic cost model, so -O2 and -O3 give the same vector code and the
 * same bits (clang honours only the standard FP_CONTRACT pragma; it gives the
 * same bits too).  -fno-math-errno, which the build passes as for rng.c, is
 * needed for the sqrt loop to vectorise (an optimize pragma cannot change
 * how sqrt is expanded); without it sqrt_n is scalar, with the same bits.
 * No libm calls except sin/cos/tan of |x| >= 1e5, infinities and NaN, which
 * go to libm one element at a time.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#else
#pragma GCC optimize("fp-contract=off", "tree-vectorize", "vect-cost-model=dynamic")
#endif

#include "vmath.h"
#include "simd.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The cores are large; they must still be inlined into the kernel loops,
 * since a call stops the vectoriser. */
#define INLINE static inline __attribute__((always_inline))

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

/* ---- error-free transformations ---------------------------------------- */

/* An unevaluated sum hi + lo, |lo| below about an ulp of hi. */
typedef struct {
  double hi, lo;
} DD;

/* a + b exactly as hi + lo, when a == 0 or exponent(a) >= exponent(b). */
INLINE DD fast_two_sum(double a, double b)
{
  double s = a + b;
  return (DD){s, b - (s - a)};
}

/* a + b exactly as hi + lo, any order (Knuth). */
INLINE DD two_sum(double a, double b)
{
  double s = a + b, bb = s - a;
  return (DD){s, (a - (s - bb)) + (b - bb)};
}

#define SPLIT 134217729.0   /* 2^27 + 1: Veltkamp split into 26 + 27 bits */

/* a * b exactly as hi + lo without FMA (Dekker); |a|, |b| < 2^995. */
INLINE DD two_prod(double a, double b)
{
  double ca = SPLIT * a, ah = ca - (ca - a), al = a - ah;
  double cb = SPLIT * b, bh = cb - (cb - b), bl = b - bh;
  double p = a * b;
  return (DD){p, ((ah * bh - p) + ah * bl + al * bh) + al * bl};
}

/* (nh + nl) / (dh + dl) rounded once at the end: the first quotient's
 * residual is computed exactly and corrects it, so the error is about half
 * an ulp plus the relative errors of the low parts. */
INLINE double div_dd(double nh, double nl, double dh, double dl)
{
  double q = nh / dh;
  DD p = two_prod(q, dh);
  double r = (((nh - p.hi) - p.lo) + nl) - q * dl;
  return q + r / dh;
}

/* ---- exp ---------------------------------------------------------------- */

/* x = k ln2/2 + r, |r| <= ln2/4, k = 2m + j:  e^x = 2^m 2^(j/2) e^r.
 * Half-steps of ln 2 keep |r| small enough for a degree-10 polynomial and
 * cost only a select between 1 and sqrt 2 (no table: gathers are slower than
 * the polynomial on AVX-512 parts we measured).  Our fit of
 * (e^r - 1 - r)/r^2 on |r| <= 1.0001 ln2/4: relative error of e^r 5.5e-19. */
#define EX0 0x1.0000000000000p-1
#define EX1 0x1.555555555553bp-3
#define EX2 0x1.55555555555a9p-5
#define EX3 0x1.111111113e11fp-7
#define EX4 0x1.6c16c16bbcb45p-10
#define EX5 0x1.a019fc5d90c73p-13
#define EX6 0x1.a01a045aa50c0p-16
#define EX7 0x1.7218822085ed9p-19
#define EX8 0x1.27f1edc27696ap-22
#define EXP_INV 0x1.71547652b82fep+1     /* 2/ln2 */
#define EXP_L1 0x1.62e42fefa3000p-2      /* ln2/2, 41 bits: k L1 exact */
#define EXP_L2 0x1.3de6af278ece6p-43     /* ln2/2 - L1 */
#define SQRT2_HI 0x1.6a09e667f3bcdp+0
#define SQRT2_LO -0x1.bdd3413b26456p-54
/* t = x 2/ln2 + EXP_SHIFT rounds to an integer whose low 13 bits are
 * k + 4092 >= 0 for |x| <= 746 (so no signed shifts, which AVX2 lacks). */
#define EXP_SHIFT (0x1.8p52 + 4092.0)

/* e^(x + xl) = (th + tl)(1 + uh + ul) s1 s2 with s1, s2 normal powers of two.
 * Valid for x in [-746, 710] and |xl| <= 2^-40 |x| or so; other x give
 * garbage but harmless values (the exponent field is masked), which callers
 * replace by selects. */
typedef struct {
  double th, tl, uh, ul, s1, s2;
} ExpRed;

INLINE ExpRed exp_reduce(double x, double xl)
{
  ExpRed e;
  double t = x * EXP_INV + EXP_SHIFT;
  double kd = t - EXP_SHIFT;
  double rh = x - kd * EXP_L1, rl = kd * EXP_L2; /* rh exact (Sterbenz) */
  double r = rh - rl, c = ((rh - r) - rl) + xl;  /* r + c = x - k ln2/2 */
  double r2 = r * r, r4 = r2 * r2;
  double p = ((EX0 + r * EX1) + r2 * (EX2 + r * EX3)) +
             r4 * (((EX4 + r * EX5) + r2 * (EX6 + r * EX7)) + r4 * EX8);
  double w = c + r2 * p;                 /* e^(r+c) - 1 - r, c(1+r) ~ c */
  e.uh = r + w;
  e.ul = (r - e.uh) + w;
  uint64_t k = bits(t) & 0x1FFF, m = k >> 1, m1 = m >> 1;
  e.th = (k & 1) ? SQRT2_HI : 1.0;
  e.tl = (k & 1) ? SQRT2_LO : 0.0;
  e.s1 = from_bits(m1 << 52);            /* 2^floor(m/2) */
  e.s2 = from_bits((m - m1) << 52);      /* 2^ceil(m/2) */
  return e;
}

/* (th + tl)(1 + u) unscaled, rounded once: at most 0.81 ulp after scaling. */
INLINE double exp_mant(const ExpRed *e)
{
  return e->th + (e->tl + e->th * e->uh);
}

/* (th + tl)(1 + u) unscaled as hi + lo, relative error about 2^-60: for the
 * functions that go on computing with e^x. */
INLINE DD exp_mant_dd(const ExpRed *e)
{
  DD p = two_prod(e->th, e->uh);
  double hi = e->th + p.hi;
  double lo = ((e->th - hi) + p.hi) + (p.lo + (e->tl + (e->th * e->ul + e->tl * e->uh)));
  return (DD){hi, lo};
}

/* The two-step scaling gives subnormal results with one more rounding. */
INLINE double exp_one(double x)
{
  ExpRed e = exp_reduce(x, 0.0);
  double y = (exp_mant(&e) * e.s1) * e.s2;
  y = x < -745.2 ? 0.0 : y;              /* true result < 2^-1075: rounds to 0 */
  return x > 709.79 ? INFINITY : y;      /* overflow; NaN passes through */
}

/* exp for z <= 0 (or -inf) only, as the softmax needs it. */
INLINE double exp_nonpos(double z)
{
  ExpRed e = exp_reduce(z, 0.0);
  double y = (exp_mant(&e) * e.s1) * e.s2;
  return z < -745.2 ? 0.0 : y;
}

/* exp for z <= 0 in the softmax kernels: the same reduction and polynomial
 * as exp_reduce, but each multiply-add an explicit fma() and the result a
 * single word (about 1.5 ulp instead of 0.81).  fma() is exactly rounded on
 * every machine (an instruction on the wide clones, glibc's exact fma on the
 * baseline one), so the bits still do not depend on the vector width; the
 * Horner steps cost half the operations of the separate multiplies and adds
 * above, and the softmax spends most of its time here.  Only for softmax
 * weights: results below 1e-300 are flushed to 0 (see below). */
INLINE double exp_soft(double z)
{
  double t = fma(z, EXP_INV, EXP_SHIFT);
  double kd = t - EXP_SHIFT;
  double r = fma(-kd, EXP_L1, z);
  r = fma(-kd, EXP_L2, r);
  double p = fma(r, EX8, EX7);
  p = fma(r, p, EX6);
  p = fma(r, p, EX5);
  p = fma(r, p, EX4);
  p = fma(r, p, EX3);
  p = fma(r, p, EX2);
  p = fma(r, p, EX1);
  p = fma(r, p, EX0);
  double u = fma(r * r, p, r);           /* e^r - 1 */
  /* Below e^-690 (about 1e-300) the weight is flushed to 0: next to the
   * top expert's weight 1 it could not change a sum, and the flush keeps
   * the scaling to a single normal power of two. */
  uint64_t k = bits(t) & 0x1FFF, m = k >> 1;
  double th = (k & 1) ? SQRT2_HI : 1.0;
  double y = fma(th, u, th) * from_bits((m - 1023) << 52);
  return z < -690.0 ? 0.0 : y;
}

/* e^-a for a >= 0 as (yh + yl) s1 s2; a > 746 gives about 0. */
typedef struct {
  double yh, yl, s1, s2;
} ExpNeg;

INLINE ExpNeg exp_neg(double a)
{
  double x = a > 746.0 ? -746.0 : -a;    /* NaN stays NaN */
  ExpRed e = exp_reduce(x, 0.0);
  DD y = exp_mant_dd(&e);
  return (ExpNeg){y.hi, y.lo, e.s1, e.s2};
}

/* ---- log ---------------------------------------------------------------- */

/* Our fit of (2 atanh s - 2s)/s^3 in z = s^2 on [0, 1.0001 z_max],
 * z_max = ((sqrt2-1)/(sqrt2+1))^2; relative error 4.6e-16, which reaches the
 * logarithm scaled by z/2 < 0.015. */
#define LP0 0x1.5555555555558p-1
#define LP1 0x1.999999999529cp-2
#define LP2 0x1.2492492df8410p-2
#define LP3 0x1.c71c62dd6c8f4p-3
#define LP4 0x1.7462b6c834c28p-3
#define LP5 0x1.39fe1f2fbe063p-3
#define LP6 0x1.2b5b3cc1703a9p-3
#define LN2HI 0x1.62e42fefa3800p-1   /* 42 bits: e * LN2HI exact */
#define LN2LO 0x1.ef35793c76730p-45
#define SQRTH_BITS 0x3FE6A09E667F3BCDu

/* ln x + cx as hi + lo, for finite x > 0 whose exponent is eoff too high
 * (subnormals are scaled up by the caller); cx is a small correction.
 * x = 2^e m, m in [sqrt(1/2), sqrt 2) (adding the offset of sqrt(1/2)'s
 * mantissa carries into the exponent), f = m - 1 exact, s = f/(2+f):
 * ln m = f - hfsq + s (hfsq + R), hfsq = f^2/2, R = z P(z).  The leading f
 * is exact and what is subtracted from it is small, and e ln2 + f is
 * split exactly into hi + lo, so the cancellation when e = -1 and m near
 * sqrt 2 costs nothing. */
INLINE DD log_core(double x, double eoff, double cx)
{
  uint64_t b = bits(x);
  uint64_t ex = (b + (0x3FF0000000000000u - SQRTH_BITS)) >> 52;
  double e = (from_bits(0x4330000000000000u | ex) - (0x1p52 + 1023.0)) - eoff;
  double f = from_bits(b - ((ex - 1023) << 52)) - 1.0;
  double s = f / (2.0 + f), z = s * s;
  double p = LP5 + z * LP6;
  p = LP4 + z * p;
  p = LP3 + z * p;
  p = LP2 + z * p;
  p = LP1 + z * p;
  p = LP0 + z * p;
  double hfsq = 0.5 * f * f;
  double corr = hfsq - ((s * (hfsq + z * p) + e * LN2LO) + cx);
  double a = e * LN2HI, hi = a + f;
  return (DD){hi, ((a - hi) + f) - corr};
}

/* Subnormals are scaled by 2^54 first; 0, negatives, inf and NaN by select. */
INLINE double log_one(double x)
{
  int sub = x < 0x1p-1022;
  DD l = log_core(sub ? x * 0x1p54 : x, sub ? 54.0 : 0.0, -0.0);
  double y = l.hi + l.lo;
  double sp = x == 0 ? -INFINITY : (x < 0 ? NAN : x + x); /* inf, NaN: as is */
  return (x > 0 && x < INFINITY) ? y : sp;
}

/* ln(1 + d) for |d| <= 2^-52 or so: d - d^2/2 (the next term is 2^-105
 * relative).  The square matters when u = 1 and d is the whole argument. */
INLINE double log1p_small(double d)
{
  return d - 0.5 * d * d;
}

/* u = 1 + x rounds; c = 1 + x - u exactly (Fast2Sum, larger operand first)
 * and ln(1 + x) = ln u + ln(1 + c/u), the second term tiny.  For |x| below
 * 2^-20 c is much of the result and its rounding would show, so the series
 * x - x^2/2 + x^3/3 takes over (the next term is 2^-62 relative). */
INLINE double log1p_one(double x)
{
  double u = 1.0 + x;
  double c = x > 1.0 ? (x - u) + 1.0 : (1.0 - u) + x;
  DD l = log_core(u, 0.0, log1p_small(c / u));
  double y = l.hi + l.lo;
  /* |x| < 2^-20: the series, since in 1 + x most of x would be in c */
  double ys = x + (x * x) * (x * 0x1.5555555555555p-2 - 0.5);
  y = fabs(x) < 0x1p-20 ? ys : y;
  double sp = x == -1.0 ? -INFINITY : (x < -1.0 ? NAN : x + x);
  y = (x > -1.0 && x < INFINITY) ? y : sp;
  return x == 0 ? x : y;                 /* keeps -0 */
}

/* ---- sin, cos, tan ------------------------------------------------------ */

/* Our fits on |r| <= 1.0001 pi/4, z = r^2: sin r = r + r z S(z),
 * cos r = 1 - z/2 + z^2 C(z); relative errors of S 7e-20 and C 3e-17
 * (C's reaches cos scaled by z^2/24 < 0.016). */
#define SN0 -0x1.5555555555555p-3
#define SN1 0x1.1111111111110p-7
#define SN2 -0x1.a01a01a019928p-13
#define SN3 0x1.71de3a545ee28p-19
#define SN4 -0x1.ae64541014450p-26
#define SN5 0x1.61217d148fb18p-33
#define SN6 -0x1.ab16c0bbd09b3p-41
#define CS0 0x1.5555555555555p-5
#define CS1 -0x1.6c16c16c16962p-10
#define CS2 0x1.a01a019f4da09p-16
#define CS3 -0x1.27e4fa169f724p-22
#define CS4 0x1.1eeb67bfb6034p-29
#define CS5 -0x1.907cde82eb880p-37
/* pi/2 in three parts; the first two have 36 bits, so q * part is exact for
 * |q| < 2^17. */
#define PIO2_1 0x1.921fb54440000p+0
#define PIO2_2 0x1.68c234c4c0000p-39
#define PIO2_3 0x1.98a2e03707345p-77
#define TWO_OVER_PI 0x1.45f306dc9c883p-1
#define ROUNDER 0x1.8p52
/* Vector range.  The closest a double below it comes to a multiple of pi/2
 * is 6.2e-19 = 2^-60.5 (x = 0x1.6c6cbc45dc8dep+5, q = 29); r = x - q pi/2
 * is kept as hi + lo with an absolute error of about q 2^-128, under 2^-60
 * relative to r there and near the limit (min |r| ~ 2^-52.7 at q = 29327). */
#define TRIG_LIM 1e5

/* sin and cos of the reduced argument r = x - q pi/2 as hi + lo pairs, and
 * the quadrant q (low bits). */
typedef struct {
  double sh, sl, ch, cl;
  uint64_t q;
} TrigRed;

INLINE TrigRed trig_reduce(double x)
{
  double t = x * TWO_OVER_PI + ROUNDER;
  double qd = t - ROUNDER;
  double a = x - qd * PIO2_1, b = qd * PIO2_2; /* both exact */
  DD r0 = two_sum(a, -b);
  DD r = fast_two_sum(r0.hi, r0.lo - qd * PIO2_3);
  /* r.hi^2 = z + zd exactly (Dekker); (r.hi + r.lo)^2 = z + zl to 2^-106 */
  double cr = SPLIT * r.hi, h = cr - (cr - r.hi), l = r.hi - h;
  double z = r.hi * r.hi;
  double zd = ((h * h - z) + 2.0 * h * l) + l * l;
  double zl = zd + 2.0 * r.hi * r.lo;
  double ps = SN5 + z * SN6;
  ps = SN4 + z * ps;
  ps = SN3 + z * ps;
  ps = SN2 + z * ps;
  ps = SN1 + z * ps;
  ps = SN0 + z * ps;
  double pc = CS4 + z * CS5;
  pc = CS3 + z * pc;
  pc = CS2 + z * pc;
  pc = CS1 + z * pc;
  pc = CS0 + z * pc;
  double hz = 0.5 * z, w = 1.0 - hz;
  TrigRed R;
  R.sh = r.hi;
  /* sin(r.hi + r.lo) = r.hi + r.hi r.hi^2 S + r.lo cos r.hi */
  R.sl = r.lo * (1.0 - hz) + r.hi * (z * ps + zd * SN0);
  R.ch = w;
  R.cl = ((1.0 - w) - hz) - (0.5 * zl - (z * z) * pc);
  R.q = bits(t);
  return R;
}

INLINE double flip(double v, uint64_t sign)
{
  return from_bits(bits(v) ^ (sign & 2) << 62);
}

INLINE double sin_one(double x)
{
  TrigRed R = trig_reduce(x);
  double s = (R.q & 1) ? R.ch + R.cl : R.sh + R.sl;
  s = flip(s, R.q);
  return fabs(x) < 0x1p-26 ? x : s;      /* sin x = x there; keeps -0 */
}

INLINE double cos_one(double x)
{
  TrigRed R = trig_reduce(x);
  double c = (R.q & 1) ? R.sh + R.sl : R.ch + R.cl;
  return flip(c, R.q + 1);
}

/* tan = sin/cos in even quadrants, -cos/sin in odd ones, with both pairs
 * normalised and divided with the residual correction. */
INLINE double tan_one(double x)
{
  TrigRed R = trig_reduce(x);
  int odd = (R.q & 1) != 0;
  DD s = fast_two_sum(R.sh, R.sl), c = fast_two_sum(R.ch, R.cl);
  DD n = odd ? c : s, d = odd ? s : c;
  double v = div_dd(n.hi, n.lo, d.hi, d.lo);
  v = odd ? -v : v;
  return fabs(x) < 0x1p-26 ? x : v;
}

/* ---- tanh, sigmoid, softplus -------------------------------------------- */

/* tanh a = -t/(2 + t), t = e^(-2a) - 1 in (-1, 0], a = |x|; t comes from the
 * hi + lo exponential so it is accurate even when it is small (no
 * cancellation: 2^m y - 1 is split exactly). */
INLINE double tanh_one(double x)
{
  double a = fabs(x);
  a = a > 22.0 ? 22.0 : a;               /* tanh 22 rounds to 1; NaN stays */
  ExpRed e = exp_reduce(-2.0 * a, 0.0);
  DD y = exp_mant_dd(&e);
  double sc = e.s1 * e.s2;               /* 2^m, m in [-32, 0] */
  double A = sc * y.hi, B = sc * y.lo;   /* exact; A <= 1 */
  DD h = fast_two_sum(-1.0, A);
  DD t = two_sum(h.hi, h.lo + B);
  DD d = fast_two_sum(2.0, t.hi);
  double q = div_dd(-t.hi, -t.lo, d.hi, d.lo + t.lo);
  return copysign(q, x);
}

/* 1/(1 + E) for x >= 0 and E/(1 + E) for x < 0, E = e^-|x|: never
 * overflows.  For x < -20, E/(1 + E) = E - E^2 to 2^-56, summed before the
 * scaling so that results near and below 2^-1022 are rounded once. */
INLINE double sigmoid_one(double x)
{
  ExpNeg e = exp_neg(fabs(x));
  double Eh = (e.yh * e.s1) * e.s2, El = (e.yl * e.s1) * e.s2;
  DD d = fast_two_sum(1.0, Eh);
  int neg = x < 0;
  double y = div_dd(neg ? Eh : 1.0, neg ? El : 0.0, d.hi, d.lo + El);
  double ys = ((e.yh + (e.yl - Eh * e.yh)) * e.s1) * e.s2;
  return x < -20.0 ? ys : y;
}

/* log(1 + e^x) = max(x, 0) + log1p(e^-|x|), the log1p fed the hi + lo
 * exponential; for x > 40 the second term is below half an ulp of x, and
 * for x < -20 log1p E = E - E^2/2 to 2^-57, summed before the scaling (as in
 * log1p_one, 1 + E would leave most of E to the rounding correction). */
INLINE double softplus_one(double x)
{
  ExpNeg e = exp_neg(fabs(x));
  double Eh = (e.yh * e.s1) * e.s2, El = (e.yl * e.s1) * e.s2;
  double u = 1.0 + Eh;
  double c = ((1.0 - u) + Eh) + El;
  DD l = log_core(u, 0.0, log1p_small(c / u));
  double xp = x > 0 ? x : 0.0;
  DD s = two_sum(xp, l.hi);
  double y = s.hi + (s.lo + l.lo);
  double ys = ((e.yh + (e.yl - 0.5 * Eh * e.yh)) * e.s1) * e.s2;
  return x > 40.0 ? x : x < -20.0 ? ys : y;
}

/* ---- erf ---------------------------------------------------------------- */

/* |x| < 0.75: erf x = x + x B(x^2); our fit of erf(x)/x - 1 on z in
 * [0, 0.5625], relative error of erf(x)/x 1.6e-17 with rounded
 * coefficients.  (Up to |x| = 1 the rounding of the large terms of B would
 * cost over 1 ulp; erfc is small enough from 0.75 on.) */
#define EB0 0x1.06eba8214db69p-3
#define EB1 -0x1.812746b0379e0p-2
#define EB2 0x1.ce2f21a042470p-4
#define EB3 -0x1.b82ce312556c8p-6
#define EB4 0x1.565bcd0311813p-8
#define EB5 -0x1.c02db110be550p-11
#define EB6 0x1.f9a2ad774f08dp-14
#define EB7 -0x1.f4c5b37ac1ed5p-17
#define EB8 0x1.b90cc474ccef0p-20
#define EB9 -0x1.5641e0f4c2ff0p-23
#define EB10 0x1.89e442b2fb2efp-27

/* 0.75 <= |x| < 6: erf = 1 - e^(-x^2) F(x), F = e^(x^2) erfc(x) smooth.
 * Our fits of F by degree-14 polynomials in x - c on [0.75, 1.5], [1.5, 3]
 * and [3, 6] (c the midpoints), weighted by e^(-x^2): the absolute error of
 * erfc is 0.25, 1.9 and 0.18 x 2^-57 (at most 0.12 ulp of erf).  The
 * interval's coefficients are picked by selects. */
/* Coefficient k of each interval, as literals so that the selects below
 * stay selects between constants (loads from an array indexed by the
 * interval could become gathers). */
#define EF1_0 0x1.9531e09b149b5p-2
#define EF1_1 -0x1.e78b356770fc0p-3
#define EF1_2 0x1.05e72521ca240p-3
#define EF1_3 -0x1.01343a2c9151bp-4
#define EF1_4 0x1.d4e711a2bf7fbp-6
#define EF1_5 -0x1.910a5d7e3b54dp-7
#define EF1_6 0x1.446c517d8bb11p-8
#define EF1_7 -0x1.f38c6a87564a3p-10
#define EF1_8 0x1.6fd99607746b2p-11
#define EF1_9 -0x1.041eeff6a4770p-12
#define EF1_10 0x1.6279ba286dfbfp-14
#define EF1_11 -0x1.d243c290654a3p-16
#define EF1_12 0x1.28933dacb8065p-17
#define EF1_13 -0x1.815e7e5889f93p-19
#define EF1_14 0x1.e83da44699d5dp-21
#define EF2_0 0x1.d94446d627950p-3
#define EF2_1 -0x1.6a70d2bb36795p-4
#define EF2_2 0x1.0615670e25c37p-5
#define EF2_3 -0x1.6883f9935f0afp-7
#define EF2_4 0x1.da59555428589p-9
#define EF2_5 -0x1.2bd250c14147dp-10
#define EF2_6 0x1.6d774de28c14ep-12
#define EF2_7 -0x1.aed8514d7623cp-14
#define EF2_8 0x1.ec722134d1bafp-16
#define EF2_9 -0x1.1172a44f8cc5bp-17
#define EF2_10 0x1.2844d5b1c673ap-19
#define EF2_11 -0x1.37ce31dbee73dp-21
#define EF2_12 0x1.30e7a1eb935f6p-23
#define EF2_13 -0x1.56ed634f5c981p-25
#define EF2_14 0x1.ee6a9e2795d6ep-27
#define EF3_0 0x1.f5b2a049cdf82p-4
#define EF3_1 -0x1.aa3eb6a949be0p-6
#define EF3_2 0x1.62c12cba1afdfp-8
#define EF3_3 -0x1.218ed92813ff7p-10
#define EF3_4 0x1.d00781c911417p-13
#define EF3_5 -0x1.6d54b9c344182p-15
#define EF3_6 0x1.1ad76afab4427p-17
#define EF3_7 -0x1.aef5c90bc03f5p-20
#define EF3_8 0x1.43314b70cc75bp-22
#define EF3_9 -0x1.de9260038cdbcp-25
#define EF3_10 0x1.5fb45c044074ep-27
#define EF3_11 -0x1.e91d2ebac7ec2p-30
#define EF3_12 0x1.3acff552d5751p-32
#define EF3_13 -0x1.3761ae951a777p-34
#define EF3_14 0x1.1c8b5b7e5a122p-36
#define EFC_1 1.125
#define EFC_2 2.25
#define EFC_3 4.5
#define ERFC_SEL(k) (i2 ? EF3_##k : i1 ? EF2_##k : EF1_##k)

INLINE double erf_one(double x)
{
  double a = fabs(x);
  /* |x| < 0.75 */
  double z = x * x;
  double p = EB9 + z * EB10;
  p = EB8 + z * p;
  p = EB7 + z * p;
  p = EB6 + z * p;
  p = EB5 + z * p;
  p = EB4 + z * p;
  p = EB3 + z * p;
  p = EB2 + z * p;
  p = EB1 + z * p;
  p = EB0 + z * p;
  double r1 = x + x * p;
  /* 0.75 <= |x| < 6, computed on a clamped copy so every lane stays finite */
  double ac = a < 0.75 ? 0.75 : a;
  ac = ac > 6.0 ? 6.0 : ac;
  double ca = SPLIT * ac, h = ca - (ca - ac), l = ac - h;
  double zh = ac * ac, zl = ((h * h - zh) + 2.0 * h * l) + l * l;
  ExpRed e = exp_reduce(-zh, -zl);
  DD y = exp_mant_dd(&e);
  double sc = e.s1 * e.s2;               /* 2^m, m in [-52, 0] */
  double Eh = sc * y.hi, El = sc * y.lo;
  int i1 = ac >= 1.5, i2 = ac >= 3.0;
  double t = ac - (i2 ? EFC_3 : i1 ? EFC_2 : EFC_1); /* exact (Sterbenz) */
  double q = ERFC_SEL(14);
  q = ERFC_SEL(13) + t * q;
  q = ERFC_SEL(12) + t * q;
  q = ERFC_SEL(11) + t * q;
  q = ERFC_SEL(10) + t * q;
  q = ERFC_SEL(9) + t * q;
  q = ERFC_SEL(8) + t * q;
  q = ERFC_SEL(7) + t * q;
  q = ERFC_SEL(6) + t * q;
  q = ERFC_SEL(5) + t * q;
  q = ERFC_SEL(4) + t * q;
  q = ERFC_SEL(3) + t * q;
  q = ERFC_SEL(2) + t * q;
  q = ERFC_SEL(1) + t * q;
  double F0 = ERFC_SEL(0), Ft = t * q;
  /* 1 - (Eh + El)(F0 + Ft), with Eh F0 and 1 - (Eh F0)_hi split exactly */
  DD pp = two_prod(Eh, F0);
  DD s = fast_two_sum(1.0, -pp.hi);
  double r2 = s.hi + (s.lo - ((pp.lo + Eh * Ft) + El * (F0 + Ft)));
  double r = a < 6.0 ? r2 : 1.0;
  r = copysign(r, x);
  return !(a >= 0.75) ? r1 : r;          /* NaN takes r1 = NaN */
}

/* ---- array kernels ------------------------------------------------------ */

#define ARRAY_KERNEL(name, one)                                                \
  KERNEL void name(const double *x, double *out, size_t n)                    \
  {                                                                            \
    for (size_t i = 0; i < n; i++)                                             \
      out[i] = one(x[i]);                                                      \
  }

ARRAY_KERNEL(vm_exp_n, exp_one)
ARRAY_KERNEL(vm_log_n, log_one)
ARRAY_KERNEL(vm_log1p_n, log1p_one)
ARRAY_KERNEL(vm_sqrt_n, sqrt)
ARRAY_KERNEL(vm_tanh_n, tanh_one)
ARRAY_KERNEL(vm_sigmoid_n, sigmoid_one)
ARRAY_KERNEL(vm_softplus_n, softplus_one)
ARRAY_KERNEL(vm_erf_n, erf_one)

/* Trig in blocks: a block whose arguments are all below TRIG_LIM (the usual
 * case) runs the vector loop; a block holding a huge, infinite or NaN
 * argument runs element by element, libm for those.  Results are the same
 * bits either way, since the core is the same IEEE code. */
#define TRIG_BLOCK 64

INLINE int trig_block_ok(const double *x, size_t n)
{
  int bad = 0;
  for (size_t i = 0; i < n; i++)
    bad |= !(fabs(x[i]) < TRIG_LIM);
  return !bad;
}

#define TRIG_KERNEL(name, one, libm)                                           \
  KERNEL void name(const double *x, double *out, size_t n)                    \
  {                                                                            \
    for (size_t i0 = 0; i0 < n; i0 += TRIG_BLOCK) {                            \
      size_t nb = n - i0 < TRIG_BLOCK ? n - i0 : TRIG_BLOCK;                   \
      const double *xb = x + i0;                                               \
      double *ob = out + i0;                                                   \
      if (trig_block_ok(xb, nb)) {                                             \
        for (size_t i = 0; i < nb; i++)                                        \
          ob[i] = one(xb[i]);                                                  \
      } else {                                                                 \
        for (size_t i = 0; i < nb; i++) {                                      \
          double v = xb[i];                                                    \
          ob[i] = fabs(v) < TRIG_LIM ? one(v) : libm(v);                       \
        }                                                                      \
      }                                                                        \
    }                                                                          \
  }

TRIG_KERNEL(vm_sin_n, sin_one, sin)
TRIG_KERNEL(vm_cos_n, cos_one, cos)
TRIG_KERNEL(vm_tan_n, tan_one, tan)

/* ---- softmax ------------------------------------------------------------ */

/* Three passes over the K rows, each vectorised over samples: the column
 * max, the exponentials (stored in g) and their sum, and the division.  A
 * zero difference maps to exp(0) = 1 even when inv_tau is infinite, so the
 * max entry always gets 1 and the sum is >= 1. */
KERNEL void vm_softmax_cols(int K, size_t n, const double *restrict a, size_t lda,
                            double inv_tau, double *restrict g, size_t ldg,
                            double *restrict scratch)
{
  if (K <= 0 || n == 0)
    return;
  double *restrict m = scratch, *restrict s = scratch + n;
  for (size_t i = 0; i < n; i++) {
    m[i] = a[i];
    s[i] = 0.0;
  }
  for (int k = 1; k < K; k++) {
    const double *ak = a + (size_t)k * lda;
    for (size_t i = 0; i < n; i++)
      m[i] = ak[i] > m[i] ? ak[i] : m[i];
  }
  for (int k = 0; k < K; k++) {
    const double *ak = a + (size_t)k * lda;
    double *gk = g + (size_t)k * ldg;
    for (size_t i = 0; i < n; i++) {
      double d = ak[i] - m[i];
      double e = exp_soft(d == 0 ? 0.0 : d * inv_tau);
      gk[i] = e;
      s[i] += e;
    }
  }
  for (int k = 0; k < K; k++) {
    double *gk = g + (size_t)k * ldg;
    for (size_t i = 0; i < n; i++)
      gk[i] = gk[i] / s[i];
  }
}

/* The soft model's prediction without storing the gate: with d = a - max
 * (<= 0, computed once per block for every temperature), out[i] =
 * Σ_k e_k f_k / Σ_k e_k, e_k = exp(d_k / tau).  Sixteen samples at a time
 * with their sums in registers, so each expert costs two loads, one exp and
 * two multiply-adds per sample and nothing is written back until the end. */
KERNEL void vm_softmax_mix(int K, size_t n, const double *restrict d, double inv_tau,
                           const double *restrict f, double *restrict out,
                           double *restrict scratch)
{
  (void)scratch;
  size_t i0 = 0;
  for (; i0 + 16 <= n; i0 += 16) {
    double den[16] = {0}, num[16] = {0};
    for (int k = 0; k < K; k++) {
      const double *dk = d + (size_t)k * n + i0, *fk = f + (size_t)k * n + i0;
      for (int l = 0; l < 16; l++) {
        double e = exp_soft(dk[l] == 0 ? 0.0 : dk[l] * inv_tau);
        den[l] += e;
        num[l] += e * fk[l];
      }
    }
    for (int l = 0; l < 16; l++)
      out[i0 + l] = num[l] / den[l];
  }
  for (; i0 < n; i0++) {
    double den = 0, num = 0;
    for (int k = 0; k < K; k++) {
      double dk = d[(size_t)k * n + i0];
      double e = exp_soft(dk == 0 ? 0.0 : dk * inv_tau);
      den += e;
      num += e * f[(size_t)k * n + i0];
    }
    out[i0] = num / den;
  }
}

/* d = a - max_k a (column layout, leading dimension lda for a, n for d). */
KERNEL void vm_shift_by_max(int K, size_t n, const double *restrict a, size_t lda,
                            double *restrict d, double *restrict scratch)
{
  double *restrict m = scratch;
  for (size_t i = 0; i < n; i++)
    m[i] = a[i];
  for (int k = 1; k < K; k++) {
    const double *ak = a + (size_t)k * lda;
    for (size_t i = 0; i < n; i++)
      m[i] = ak[i] > m[i] ? ak[i] : m[i];
  }
  for (int k = 0; k < K; k++) {
    const double *ak = a + (size_t)k * lda;
    double *dk = d + (size_t)k * n;
    for (size_t i = 0; i < n; i++)
      dk[i] = ak[i] - m[i];
  }
}
