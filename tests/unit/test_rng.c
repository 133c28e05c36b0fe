/*
 * test_rng.c — unit tests for the random streams (runtime/rng.c).
 *
 * Checks, in order: the raw generator against Random123 (its known-answer
 * vectors and its own philox4x32_R); the counter layout, by rebuilding every
 * fill from rng_philox with independent scalar code (which also shows the
 * vectorized kernels give the scalar bits); determinism and independence of
 * streams; how fills split across calls; the statistics of uniforms and
 * normals, with tolerances derived from standard errors; the accuracy of the
 * log/sin/cos kernels against long-double libm; rng_below; and streams used
 * from two threads at once.
 *
 * Odd sizes: a fill uses ceil(n/2) counters and drops the unused half of the
 * last one, so a fill split after an odd count skips one value relative to a
 * single call.  test_split pins that down.
 */
#define _POSIX_C_SOURCE 200809L   /* pthreads (TSan intercepts them, not C11 thrd_*) */

#include "rng.h"
#include "tap.h"

#include <Random123/philox.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#define Z5 5.0            /* tolerances are 5 standard errors */
#define LOG_ULP 1.5       /* stated accuracy of rng_log_n (measured 1.02) */
#define TRIG_ULP 2.0      /* stated accuracy of rng_sincos_turn_n (measured 1.88) */

static const uint64_t SEED = 0x0123456789ABCDEFu;
static const uint64_t BLOCK = 0xFEDCBA9876543210u;
static const uint32_t SUB = 7;

/* splitmix64: test parameters that do not come from the code under test. */
static uint64_t mix(uint64_t *s)
{
  uint64_t z = (*s += 0x9E3779B97F4A7C15u);
  z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9u;
  z = (z ^ z >> 27) * 0x94D049BB133111EBu;
  return z ^ z >> 31;
}

static double *dalloc(size_t n)
{
  double *p = malloc(n * sizeof *p);
  if (!p) {
    printf("Bail out! out of memory\n");
    exit(1);
  }
  return p;
}

/* ---- reference model of the stream, from rng_philox ------------------ */

static void ref_counter(uint64_t seed, uint64_t block, uint32_t sub, uint32_t c,
                        uint32_t out[4])
{
  uint32_t ctr[4] = { c, sub, (uint32_t)block, (uint32_t)(block >> 32) };
  uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
  rng_philox(ctr, key, out);
}

/* The documented uniform: (2k+1) 2^-53 with k the top 52 bits of the word. */
static double ref_unit(uint32_t lo, uint32_t hi)
{
  uint64_t w = (uint64_t)hi << 32 | lo;
  return (double)(2 * (w >> 12) + 1) * 0x1p-53;
}

/* Box–Muller one element at a time, through the exposed scalar kernels. */
static void ref_normals(const uint32_t v[4], double z[2])
{
  double u1 = ref_unit(v[0], v[1]), u2 = ref_unit(v[2], v[3]), l, sn, cs;
  rng_log_n(&u1, &l, 1);
  rng_sincos_turn_n(&u2, &sn, &cs, 1);
  double r = sqrt(-2.0 * l);
  z[0] = r * cs;
  z[1] = r * sn;
}

/* Lemire with the threshold always computed: accept iff low >= 2^64 mod n. */
static int ref_accept(uint32_t lo, uint32_t hi, uint64_t n, uint64_t *r)
{
  __extension__ unsigned __int128 m = (unsigned __int128)((uint64_t)hi << 32 | lo) * n;
  if ((uint64_t)m < -n % n)
    return 0;
  *r = (uint64_t)(m >> 64);
  return 1;
}

/* ---- Philox ------------------------------------------------------------ */

static void test_kat(void)
{
  static const uint32_t kat[3][10] = {
    { 0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 },
    { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
      0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd },
    { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
      0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 },
  };
  for (int i = 0; i < 3; i++) {
    uint32_t out[4];
    rng_philox(kat[i], kat[i] + 4, out);
    ok(memcmp(out, kat[i] + 6, sizeof out) == 0,
       "rng_philox known answer %d: %08x %08x %08x %08x", i, out[0], out[1],
       out[2], out[3]);
    philox4x32_ctr_t c = { { kat[i][0], kat[i][1], kat[i][2], kat[i][3] } };
    philox4x32_key_t k = { { kat[i][4], kat[i][5] } };
    philox4x32_ctr_t r = philox4x32_R(10, c, k);
    ok(memcmp(r.v, kat[i] + 6, sizeof out) == 0,
       "Random123 philox4x32_R agrees with known answer %d", i);
  }
}

static void test_vs_random123(void)
{
  uint64_t st = 42;
  long bad = 0;
  for (int i = 0; i < 200000; i++) {
    uint64_t a = mix(&st), b = mix(&st), c = mix(&st);
    philox4x32_ctr_t ctr = { { (uint32_t)a, (uint32_t)(a >> 32), (uint32_t)b,
                               (uint32_t)(b >> 32) } };
    philox4x32_key_t key = { { (uint32_t)c, (uint32_t)(c >> 32) } };
    philox4x32_ctr_t want = philox4x32_R(10, ctr, key);
    uint32_t got[4];
    rng_philox(ctr.v, key.v, got);
    bad += memcmp(got, want.v, sizeof got) != 0;
  }
  ok(bad == 0, "rng_philox == philox4x32_R on 200000 random inputs (%ld differ)", bad);
}

/* ---- counter layout ---------------------------------------------------- */

static void test_init(void)
{
  RngStream s;
  rng_init(&s, SEED, BLOCK, SUB);
  ok(s.key[0] == 0x89ABCDEFu && s.key[1] == 0x01234567u, "key = seed (lo, hi)");
  ok(s.ctr[0] == 0 && s.ctr[1] == SUB && s.ctr[2] == 0x76543210u &&
     s.ctr[3] == 0xFEDCBA98u, "ctr = (0, sub, block lo, block hi)");
}

static void test_uniform_layout(void)
{
  enum { N = 1001 };
  double u[N];
  RngStream s;
  rng_init(&s, SEED, BLOCK, SUB);
  rng_uniform(&s, u, N);
  long bad = 0;
  for (uint32_t i = 0; i < N; i++) {
    uint32_t v[4];
    ref_counter(SEED, BLOCK, SUB, i / 2, v);
    bad += u[i] != (i % 2 ? ref_unit(v[2], v[3]) : ref_unit(v[0], v[1]));
  }
  ok(bad == 0, "rng_uniform value i comes from counter i/2, word pair i%%2 (%ld differ)", bad);
  ok(s.ctr[0] == (N + 1) / 2, "uniform fill of %d advances %d counters (got %u)", N,
     (N + 1) / 2, s.ctr[0]);
}

static void test_normal_layout(void)
{
  enum { N = 1001 };
  double z[N];
  RngStream s;
  rng_init(&s, SEED, BLOCK, SUB);
  rng_normal(&s, z, N);
  long bad = 0;
  for (uint32_t i = 0; i < N; i += 2) {
    uint32_t v[4];
    double w[2];
    ref_counter(SEED, BLOCK, SUB, i / 2, v);
    ref_normals(v, w);
    bad += memcmp(&z[i], &w[0], sizeof w[0]) != 0;
    bad += i + 1 < N && memcmp(&z[i + 1], &w[1], sizeof w[1]) != 0;
  }
  ok(bad == 0, "rng_normal bit-identical to scalar Box-Muller from rng_philox (%ld differ)", bad);
  ok(s.ctr[0] == (N + 1) / 2, "normal fill of %d advances %d counters", N, (N + 1) / 2);
}

static void test_below_layout(void)
{
  const uint64_t n = 3ull << 62;   /* rejects a quarter of the words */
  RngStream s;
  rng_init(&s, SEED, BLOCK, SUB);
  uint32_t c = 0;
  long bad = 0;
  for (int i = 0; i < 2000; i++) {
    uint64_t want = 0, got = rng_below(&s, n);
    uint32_t v[4];
    do
      ref_counter(SEED, BLOCK, SUB, c++, v);
    while (!ref_accept(v[0], v[1], n, &want) && !ref_accept(v[2], v[3], n, &want));
    bad += got != want;
  }
  ok(bad == 0, "rng_below = Lemire on the counters' words, fresh counter per draw (%ld differ)", bad);
  ok(s.ctr[0] == c, "rng_below advanced %u counters, reference %u", s.ctr[0], c);
}

/* ---- determinism and independence ------------------------------------- */

static int same_stream(uint64_t seed, uint64_t block, uint32_t sub)
{
  enum { N = 1000 };
  double a[N], b[N];
  RngStream s;
  rng_init(&s, SEED, BLOCK, SUB);
  rng_normal(&s, a, N);
  rng_init(&s, seed, block, sub);
  rng_normal(&s, b, N);
  int equal = 0;
  for (int i = 0; i < N; i++)
    equal += a[i] == b[i];
  return equal;
}

static void test_streams(void)
{
  ok(same_stream(SEED, BLOCK, SUB) == 1000, "same (seed, block, sub) => same numbers");
  ok(same_stream(SEED + 1, BLOCK, SUB) == 0, "seed + 1 => different numbers");
  ok(same_stream(SEED ^ 1ull << 40, BLOCK, SUB) == 0, "seed high half => different");
  ok(same_stream(SEED, BLOCK + 1, SUB) == 0, "block + 1 => different numbers");
  ok(same_stream(SEED, BLOCK ^ 1ull << 40, SUB) == 0, "block high half => different");
  ok(same_stream(SEED, BLOCK, SUB + 1) == 0, "substream + 1 => different numbers");
}

typedef void FillFn(RngStream *, double *, size_t);

/* Fills `a` in one call, then in two calls of k and N-k into `b`; returns
 * the number of mismatches against the documented expectation. */
static long split_mismatch(FillFn *fill, size_t k)
{
  enum { N = 1000 };
  double a[N + 1], b[N];
  RngStream s;
  rng_init(&s, SEED, BLOCK, SUB);
  fill(&s, a, N + 1);
  rng_init(&s, SEED, BLOCK, SUB);
  fill(&s, b, k);
  fill(&s, b + k, N - k);
  size_t skip = k % 2;   /* an odd first call drops the rest of its counter */
  long bad = 0;
  for (size_t i = 0; i < N; i++)
    bad += b[i] != a[i < k ? i : i + skip];
  return bad;
}

static void test_split(void)
{
  ok(split_mismatch(rng_uniform, 400) == 0, "uniform: 400 + 600 == one call of 1000");
  ok(split_mismatch(rng_normal, 400) == 0, "normal: 400 + 600 == one call of 1000");
  ok(split_mismatch(rng_normal, 32) == 0, "normal: 32 + 968 == one call of 1000");
  ok(split_mismatch(rng_uniform, 401) == 0,
     "uniform: 401 + 599 == one call with value 401 skipped");
  ok(split_mismatch(rng_normal, 33) == 0,
     "normal: 33 + 967 == one call with value 33 skipped");
  RngStream s;
  rng_init(&s, SEED, BLOCK, SUB);
  rng_normal(&s, NULL, 0);
  rng_uniform(&s, NULL, 0);
  rng_below_n(&s, 7, NULL, 0);
  ok(s.ctr[0] == 0, "empty fills use no counters");
}

/* ---- statistics ---------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Kolmogorov–Smirnov distance of x[0..n) (sorted here) from the CDF. */
static double ks_distance(double *x, size_t n, double (*cdf)(double))
{
  qsort(x, n, sizeof *x, cmp_double);
  double d = 0;
  for (size_t i = 0; i < n; i++) {
    double f = cdf(x[i]);
    d = fmax(d, fmax((double)(i + 1) / n - f, f - (double)i / n));
  }
  return d;
}

/* Asymptotic KS critical value sqrt(-ln(alpha/2)/2) / sqrt(n). */
static double ks_critical(double alpha, size_t n)
{
  return sqrt(-0.5 * log(alpha / 2)) / sqrt((double)n);
}

static double uniform_cdf(double x) { return x; }
static double normal_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

static void test_uniform_stats(void)
{
  const size_t n = 1000000;
  double *u = dalloc(n);
  RngStream s;
  rng_init(&s, 2024, 3, 0);
  rng_uniform(&s, u, n);
  long outside = 0, offgrid = 0;
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    double k = u[i] * 0x1p53;   /* must be an odd integer */
    outside += !(u[i] > 0 && u[i] < 1);
    offgrid += k != floor(k) || fmod(k, 2.0) != 1.0;
    sum += u[i];
  }
  double mean = sum / n, m2 = 0;
  for (size_t i = 0; i < n; i++)
    m2 += (u[i] - mean) * (u[i] - mean);
  m2 /= n;
  ok(outside == 0, "uniforms strictly inside (0, 1) (%ld outside)", outside);
  ok(offgrid == 0, "uniforms are odd multiples of 2^-53 (%ld not)", offgrid);
  ok_near(mean, 0.5, Z5 * sqrt(1.0 / 12 / n), "uniform mean 1/2");
  ok_near(m2, 1.0 / 12, Z5 * sqrt((1.0 / 80 - 1.0 / 144) / n), "uniform variance 1/12");
  double d = ks_distance(u, n, uniform_cdf), crit = ks_critical(0.001, n);
  ok(d < crit, "uniform KS distance %.3g below the 0.1%% critical value %.3g", d, crit);
  free(u);
}

static void test_normal_stats(void)
{
  const size_t n = 4000000;
  double *z = dalloc(n);
  RngStream s;
  rng_init(&s, 99, 12, 1);
  rng_normal(&s, z, n);
  long bad = 0, tail = 0;
  double sum = 0, zmax = 0;
  for (size_t i = 0; i < n; i++) {
    bad += !isfinite(z[i]);
    tail += fabs(z[i]) > 3;
    zmax = fmax(zmax, fabs(z[i]));
    sum += z[i];
  }
  double mean = sum / n, m2 = 0, m3 = 0, m4 = 0;
  for (size_t i = 0; i < n; i++) {
    double d = z[i] - mean, d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  /* Standard errors for N(0,1): mean 1/sqrt n, variance sqrt(2/n),
   * skewness sqrt(6/n), kurtosis sqrt(24/n), a proportion sqrt(p(1-p)/n). */
  double p = erfc(3 / sqrt(2.0));
  ok(bad == 0, "4e6 normals all finite (%ld not)", bad);
  ok(zmax <= sqrt(-2 * log(0x1p-53)) * (1 + 1e-12),
     "max |z| %.4f within the Box-Muller bound for u >= 2^-53", zmax);
  ok_near(mean, 0, Z5 / sqrt((double)n), "normal mean 0");
  ok_near(m2, 1, Z5 * sqrt(2.0 / n), "normal variance 1");
  ok_near(m3 / pow(m2, 1.5), 0, Z5 * sqrt(6.0 / n), "normal skewness 0");
  ok_near(m4 / (m2 * m2), 3, Z5 * sqrt(24.0 / n), "normal kurtosis 3");
  ok_near((double)tail / n, p, Z5 * sqrt(p * (1 - p) / n), "P(|Z| > 3) = %.7f", p);
  double d = ks_distance(z, n, normal_cdf), crit = ks_critical(0.001, n);
  ok(d < crit, "normal KS distance %.3g below the 0.1%% critical value %.3g", d, crit);
  free(z);
}

/* More normals from many streams and ragged fill sizes: never NaN or Inf. */
static void test_normal_finite(void)
{
  enum { CHUNK = 1001 };
  double z[CHUNK];
  uint64_t st = 7;
  long bad = 0, total = 0;
  for (int b = 0; b < 4000; b++) {
    RngStream s;
    rng_init(&s, mix(&st), mix(&st), (uint32_t)b);
    size_t len = 1 + mix(&st) % CHUNK;
    rng_normal(&s, z, len);
    for (size_t i = 0; i < len; i++)
      bad += !isfinite(z[i]);
    total += (long)len;
  }
  ok(bad == 0, "%ld more normals from 4000 streams all finite (%ld not)", total, bad);
}

/* ---- kernel accuracy ----------------------------------------------------- */

/* Error of y in units of the last place of the (more precise) reference. */
static double ulp_error(double y, long double ref)
{
  if (ref == 0)
    return y == 0 ? 0 : INFINITY;
  int e;
  frexpl(ref, &e);
  return (double)(fabsl((long double)y - ref) / ldexpl(1.0L, e - 53));
}

static void test_log_kernel(void)
{
  uint64_t st = 11;
  double worst = 0, at = 0;
  for (int i = 0; i < 3000000; i++) {
    double x, y, v = (double)(mix(&st) >> 11) * 0x1p-53;
    if (i % 3 == 0) /* every binade from 2^-100 to 2^19 */
      x = ldexp(1 + v, (int)(mix(&st) % 120) - 100);
    else if (i % 3 == 1) /* close to 1, where the log is small */
      x = 1 + (v - 0.5) * ldexp(1, -(int)(mix(&st) % 50));
    else /* just below sqrt(1/2): e = -1 cancels against ln m ~ ln sqrt 2 */
      x = 0.70710678118654752 - v * ldexp(1, -(int)(mix(&st) % 40) - 6);
    rng_log_n(&x, &y, 1);
    double e = ulp_error(y, logl(x));
    if (e > worst) {
      worst = e;
      at = x;
    }
  }
  ok(worst <= LOG_ULP, "log kernel max error %.3f ulp (at %a), bound %.1f", worst, at, LOG_ULP);
  double xs[5] = { 1.0, 0x1p-53, 0.5, 1 - 0x1p-53, 2.0 }, ys[5];
  rng_log_n(xs, ys, 5);
  ok(ys[0] == 0 && ys[2] == -ys[4] && ys[3] == -0x1p-53 && fabs(ys[1] + 53 * log(2.0)) < 1e-13,
     "log kernel at 1, 2^-53, 1/2, 1-2^-53, 2");
}

/* The reference reduces u exactly (u - q/4) and uses long-double sinl/cosl. */
static void ref_sincos_turn(double u, long double *sn, long double *cs)
{
  const long double twopi = 6.283185307179586476925286766559005768L;
  long double q = nearbyintl(4.0L * u), a = twopi * (u - q / 4);
  long double s = sinl(a), c = cosl(a);
  switch ((long long)q & 3) {
  case 0: *sn = s; *cs = c; break;
  case 1: *sn = c; *cs = -s; break;
  case 2: *sn = -s; *cs = -c; break;
  default: *sn = -c; *cs = s; break;
  }
}

static void test_trig_kernel(void)
{
  uint64_t st = 13;
  double ws = 0, wc = 0, us = 0, uc = 0;
  for (int i = 0; i < 3000000; i++) {
    double u, sn, cs, v = (double)(mix(&st) >> 11) * 0x1p-53 - 0.5;
    long double rs, rc;
    if (i % 3 == 0) /* the values Box-Muller feeds it */
      u = (double)(2 * (mix(&st) >> 12) + 1) * 0x1p-53;
    else if (i % 3 == 1) /* close to the octant boundaries */
      u = (double)(mix(&st) % 8) * 0.125 + v * ldexp(1, -(int)(mix(&st) % 40));
    else /* near k/12, where sin or cos crosses 1/2 and the ulp halves */
      u = (double)(mix(&st) % 12) / 12 + v * ldexp(1, -(int)(mix(&st) % 20) - 6);
    rng_sincos_turn_n(&u, &sn, &cs, 1);
    ref_sincos_turn(u, &rs, &rc);
    double es = ulp_error(sn, rs), ec = ulp_error(cs, rc);
    if (es > ws) { ws = es; us = u; }
    if (ec > wc) { wc = ec; uc = u; }
  }
  ok(ws <= TRIG_ULP, "sin(2 pi u) kernel max error %.3f ulp (at %a), bound %.1f", ws, us, TRIG_ULP);
  ok(wc <= TRIG_ULP, "cos(2 pi u) kernel max error %.3f ulp (at %a), bound %.1f", wc, uc, TRIG_ULP);
  double u[4] = { 0.25, 0.5, 0.75, 0.125 }, sn[4], cs[4];
  rng_sincos_turn_n(u, sn, cs, 4);
  ok(sn[0] == 1 && cs[0] == 0 && sn[1] == 0 && cs[1] == -1 && sn[2] == -1 && cs[2] == 0,
     "sin/cos of quarter turns are exact");
  ok(fabs(sn[3] - sqrt(0.5)) <= 0x1p-53 && fabs(cs[3] - sqrt(0.5)) <= 0x1p-53,
     "sin/cos of an eighth turn");
}

/* ---- integers ------------------------------------------------------------ */

static void test_below_stats(void)
{
  enum { N = 700000, K = 7 };
  static uint64_t v[N];
  RngStream s;
  rng_init(&s, 5, 6, 2);
  rng_below_n(&s, K, v, N);
  long count[K] = { 0 }, outside = 0;
  for (int i = 0; i < N; i++) {
    if (v[i] < K)
      count[v[i]]++;
    else
      outside++;
  }
  double chi2 = 0, e = (double)N / K;
  for (int k = 0; k < K; k++)
    chi2 += (count[k] - e) * (count[k] - e) / e;
  ok(outside == 0, "rng_below_n(7) values in [0, 7) (%ld outside)", outside);
  /* 22.458 is the upper 0.1% point of chi-square with 6 degrees of freedom. */
  ok(chi2 < 22.458, "chi-square over 7 buckets %.2f < 22.458 (df 6, 0.1%%)", chi2);

  rng_init(&s, 5, 6, 3);
  rng_below_n(&s, 1, v, 1000);
  long nonzero = 0;
  for (int i = 0; i < 1000; i++)
    nonzero += v[i] != 0;
  ok(nonzero == 0 && s.ctr[0] == 1000, "n = 1 always gives 0, one counter per draw");

  const uint64_t big = 3ull << 62;
  rng_init(&s, 5, 6, 4);
  rng_below_n(&s, big, v, N);
  long high = 0;
  outside = 0;
  for (int i = 0; i < N; i++) {
    outside += v[i] >= big;
    high += v[i] >= 1ull << 63;
  }
  ok(outside == 0, "n = 3*2^62: values in range (%ld outside)", outside);
  ok_near((double)high / N, 1.0 / 3, Z5 * sqrt(2.0 / 9 / N), "n = 3*2^62: P(v >= 2^63) = 1/3");
}

/* rng_below_n must equal repeated rng_below, value for value and counter for
 * counter, including when draws run past one counter. */
static void test_below_batch(void)
{
  static const uint64_t ns[] = { 7, 1, 1u << 20, 3ull << 62, (1ull << 63) + 1, UINT64_MAX };
  enum { N = 1000 };
  long bad = 0;
  for (size_t j = 0; j < sizeof ns / sizeof *ns; j++) {
    uint64_t a[N];
    RngStream s, t;
    rng_init(&s, SEED, j, SUB);
    rng_init(&t, SEED, j, SUB);
    rng_below_n(&s, ns[j], a, N);
    for (int i = 0; i < N; i++)
      bad += rng_below(&t, ns[j]) != a[i];
    bad += s.ctr[0] != t.ctr[0];
  }
  ok(bad == 0, "rng_below_n == repeated rng_below for 6 n (%ld differ)", bad);
}

/* ---- threads ------------------------------------------------------------- */

enum { TN = 100000 };

typedef struct Job {
  uint32_t sub;
  double *out;
} Job;

static void *thread_fill(void *arg)
{
  Job *job = arg;
  RngStream s;
  rng_init(&s, SEED, BLOCK, job->sub);
  for (size_t i = 0; i < TN; i += 1000)
    rng_normal(&s, job->out + i, 1000);
  return NULL;
}

static void test_threads(void)
{
  Job jobs[2] = { { 0, dalloc(TN) }, { 1, dalloc(TN) } };
  pthread_t th[2];
  int started = 0;
  for (int i = 0; i < 2; i++)
    started += pthread_create(&th[i], NULL, thread_fill, &jobs[i]) == 0;
  for (int i = 0; i < started; i++)
    pthread_join(th[i], NULL);
  double *want = dalloc(TN);
  long bad = 0;
  for (int i = 0; i < 2; i++) {
    RngStream s;
    rng_init(&s, SEED, BLOCK, jobs[i].sub);
    rng_normal(&s, want, TN);
    bad += memcmp(want, jobs[i].out, TN * sizeof *want) != 0;
  }
  ok(started == 2 && bad == 0, "two threads on two streams match single-threaded fills");
  free(want);
  free(jobs[0].out);
  free(jobs[1].out);
}

int main(void)
{
  test_kat();
  test_vs_random123();
  test_init();
  test_uniform_layout();
  test_normal_layout();
  test_below_layout();
  test_streams();
  test_split();
  test_uniform_stats();
  test_normal_stats();
  test_normal_finite();
  test_log_kernel();
  test_trig_kernel();
  test_below_stats();
  test_below_batch();
  test_threads();
  return tap_done();
}
