/*
 * test_vmath.c — the array kernels of runtime/vmath.c.
 *
 * Accuracy: each kernel is swept over random points in several ranges (the
 * whole domain, the region near 0, the range ends, the joins between the
 * kernel's pieces) and its largest error is measured in ulps of the double
 * nearest the long-double libm value (glibc's long-double functions are good
 * to ~2^-63, a thousandth of a double ulp).  The bound each check uses is the
 * one stated in vmath.h; the measured figure is printed in the test name.
 * Special values (0, -0, tiny, huge, ±inf, NaN, the exp underflow boundary,
 * log near 1, trig near 1e5 and beyond) are checked exactly.
 *
 * Layout: in-place calls give the bits of out-of-place ones, and calls on
 * every length 1..37 at several offsets give the bits of one long call (so
 * vector body, masked or scalar tails and clones agree).
 *
 * Softmax: sums to 1, agreement with a naive long-double softmax, the
 * limits tau -> 0 (one-hot, ties split) and tau -> inf (uniform), logits of
 * ±1e300 (no NaN), and a timing print (not a check).
 */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */

#include "vmath.h"
#include "tap.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Stated bounds (vmath.h), in ulps. */
#define EXP_ULP 1.0
#define LOG_ULP 1.0
#define TRIG_ULP 1.0
#define TAN_ULP 1.0
#define HYP_ULP 1.0       /* tanh, sigmoid, softplus */
#define ERF_ULP 1.0

#define NSWEEP 200000     /* points per sweep range */

/* ---- helpers ------------------------------------------------------------ */

static uint64_t mix_state = 0x0123456789ABCDEFu;

/* splitmix64: test inputs that do not come from the code under test. */
static uint64_t mix(void)
{
  uint64_t z = (mix_state += 0x9E3779B97F4A7C15u);
  z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9u;
  z = (z ^ z >> 27) * 0x94D049BB133111EBu;
  return z ^ z >> 31;
}

static double unif(double lo, double hi)
{
  return lo + (hi - lo) * ((double)(mix() >> 11) * 0x1p-53);
}

/* |v| log-uniform in [lo, hi], random sign if sign != 0. */
static double logunif(double lo, double hi, int sign)
{
  double v = exp(unif(log(lo), log(hi)));
  return (sign && (mix() & 1)) ? -v : v;
}

static double *dalloc(size_t n)
{
  double *p = malloc((n ? n : 1) * sizeof *p);
  if (!p) {
    printf("Bail out! out of memory\n");
    exit(1);
  }
  return p;
}

static uint64_t bits(double x)
{
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

static int same(double a, double b)
{
  return bits(a) == bits(b) || (isnan(a) && isnan(b));
}

/* Error of y in ulps of the double nearest ref (subnormal ulp below). */
static double ulp_error(double y, long double ref)
{
  double r = (double)ref;
  if (isnan(r) || isnan(y))
    return isnan(r) && isnan(y) ? 0 : INFINITY;
  if (isinf(r) || isinf(y))
    return y == r ? 0 : INFINITY;
  int e = r == 0 ? -1022 : ilogb(r);
  if (e < -1022)
    e = -1022;
  return (double)(fabsl((long double)y - ref) / ldexpl(1.0L, e - 52));
}

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef void (*Kernel)(const double *, double *, size_t);
typedef long double (*Ref)(long double);
typedef double (*Gen)(void);

/* ---- long-double references --------------------------------------------- */

static long double ref_exp(long double x) { return expl(x); }
static long double ref_log(long double x) { return logl(x); }
static long double ref_log1p(long double x) { return log1pl(x); }
static long double ref_sqrt(long double x) { return sqrtl(x); }
static long double ref_sin(long double x) { return sinl(x); }
static long double ref_cos(long double x) { return cosl(x); }
static long double ref_tan(long double x) { return tanl(x); }
static long double ref_tanh(long double x) { return tanhl(x); }
static long double ref_erf(long double x) { return erfl(x); }

static long double ref_sigmoid(long double x)
{
  return x >= 0 ? 1 / (1 + expl(-x)) : expl(x) / (1 + expl(x));
}

static long double ref_softplus(long double x)
{
  return x > 0 ? x + log1pl(expl(-x)) : log1pl(expl(x));
}

/* ---- accuracy sweeps ---------------------------------------------------- */

/* Max error of f over NSWEEP points from gen; prints and returns it. */
static double sweep(Kernel f, Ref ref, Gen gen, double *at)
{
  double *x = dalloc(NSWEEP), *y = dalloc(NSWEEP), worst = 0;
  for (size_t i = 0; i < NSWEEP; i++)
    x[i] = gen();
  f(x, y, NSWEEP);
  *at = 0;
  for (size_t i = 0; i < NSWEEP; i++) {
    double e = ulp_error(y[i], ref(x[i]));
    if (e > worst) {
      worst = e;
      *at = x[i];
    }
  }
  free(x);
  free(y);
  return worst;
}

#define SWEEP(f, ref, gen, bound, what)                                        \
  do {                                                                         \
    double at_, w_ = sweep(f, ref, gen, &at_);                                 \
    ok(w_ <= (bound), "%s: %s max error %.3f ulp (at %a), bound %.1f", #f,      \
       what, w_, at_, (double)(bound));                                        \
  } while (0)

static double g_exp_all(void) { return unif(-745.13, 709.78); }
static double g_exp_unit(void) { return unif(-2, 2); }
static double g_exp_tiny(void) { return logunif(1e-300, 1e-3, 1); }
static double g_exp_sub(void) { return unif(-745.13, -708.4); }
static double g_pos_all(void)   /* every positive finite double's exponent */
{
  uint64_t b = mix() >> 1;
  double v;
  memcpy(&v, &b, sizeof v);
  return isfinite(v) && v > 0 ? v : 1.5;
}
static double g_near1(void) { return 1 + unif(-0.3, 0.42); }
static double g_sqrth(void) { return unif(0.69, 0.72) * (mix() & 1 ? 2 : 1); }
static double g_l1p_unit(void) { return unif(-1, 1); }
static double g_l1p_tiny(void) { return logunif(1e-300, 1e-2, 1); }
static double g_l1p_small(void) { return logunif(1e-18, 1e-5, 1); }
static double g_l1p_big(void) { return logunif(1, 1e300, 0); }
static double g_l1p_m1(void) { return -1 + logunif(1e-16, 0.5, 0); }
static double g_trig_small(void) { return unif(-10, 10); }
static double g_trig_wide(void) { return unif(-1e5, 1e5); }
static double g_trig_tiny(void) { return logunif(1e-300, 1e-2, 1); }
static double g_trig_half(void)   /* just off multiples of pi/2 */
{
  double k = floor(unif(-6e4, 6e4));
  return k * 1.5707963267948966 + logunif(1e-12, 1e-3, 1);
}
static double g_tanh(void) { return unif(-25, 25); }
static double g_unit(void) { return unif(-1, 1); }
static double g_tiny(void) { return logunif(1e-300, 1e-3, 1); }
static double g_wide(void) { return unif(-750, 750); }
static double g_mid(void) { return unif(-40, 40); }
static double g_sp_joins(void) { return mix() & 1 ? unif(-22, -18) : unif(38, 42); }
static double g_erf(void) { return unif(-7, 7); }
static double g_erf_joins(void)
{
  static const double j[] = {0.75, 1.5, 3.0, 5.9};
  return (mix() & 1 ? -1 : 1) * (j[mix() % 4] + unif(-0.02, 0.02));
}

static void test_accuracy(void)
{
  SWEEP(vm_exp_n, ref_exp, g_exp_all, EXP_ULP, "[-745.13, 709.78]");
  SWEEP(vm_exp_n, ref_exp, g_exp_unit, EXP_ULP, "[-2, 2]");
  SWEEP(vm_exp_n, ref_exp, g_exp_tiny, EXP_ULP, "tiny");
  SWEEP(vm_exp_n, ref_exp, g_exp_sub, EXP_ULP, "subnormal results");
  SWEEP(vm_log_n, ref_log, g_pos_all, LOG_ULP, "all positive doubles");
  SWEEP(vm_log_n, ref_log, g_near1, LOG_ULP, "[0.7, 1.42]");
  SWEEP(vm_log_n, ref_log, g_sqrth, LOG_ULP, "near sqrt(1/2), sqrt 2");
  SWEEP(vm_log1p_n, ref_log1p, g_l1p_unit, LOG_ULP, "(-1, 1)");
  SWEEP(vm_log1p_n, ref_log1p, g_l1p_tiny, LOG_ULP, "tiny");
  SWEEP(vm_log1p_n, ref_log1p, g_l1p_small, LOG_ULP, "1e-18 <= |x| <= 1e-5");
  SWEEP(vm_log1p_n, ref_log1p, g_l1p_big, LOG_ULP, "[1, 1e300]");
  SWEEP(vm_log1p_n, ref_log1p, g_l1p_m1, LOG_ULP, "near -1");
  SWEEP(vm_sqrt_n, ref_sqrt, g_pos_all, 0.5, "all positive doubles");
  SWEEP(vm_sin_n, ref_sin, g_trig_small, TRIG_ULP, "[-10, 10]");
  SWEEP(vm_sin_n, ref_sin, g_trig_wide, TRIG_ULP, "[-1e5, 1e5]");
  SWEEP(vm_sin_n, ref_sin, g_trig_tiny, TRIG_ULP, "tiny");
  SWEEP(vm_sin_n, ref_sin, g_trig_half, TRIG_ULP, "near k pi/2");
  SWEEP(vm_cos_n, ref_cos, g_trig_small, TRIG_ULP, "[-10, 10]");
  SWEEP(vm_cos_n, ref_cos, g_trig_wide, TRIG_ULP, "[-1e5, 1e5]");
  SWEEP(vm_cos_n, ref_cos, g_trig_tiny, TRIG_ULP, "tiny");
  SWEEP(vm_cos_n, ref_cos, g_trig_half, TRIG_ULP, "near k pi/2");
  SWEEP(vm_tan_n, ref_tan, g_trig_small, TAN_ULP, "[-10, 10]");
  SWEEP(vm_tan_n, ref_tan, g_trig_wide, TAN_ULP, "[-1e5, 1e5]");
  SWEEP(vm_tan_n, ref_tan, g_trig_tiny, TAN_ULP, "tiny");
  SWEEP(vm_tan_n, ref_tan, g_trig_half, TAN_ULP, "near k pi/2");
  SWEEP(vm_tanh_n, ref_tanh, g_tanh, HYP_ULP, "[-25, 25]");
  SWEEP(vm_tanh_n, ref_tanh, g_unit, HYP_ULP, "[-1, 1]");
  SWEEP(vm_tanh_n, ref_tanh, g_tiny, HYP_ULP, "tiny");
  SWEEP(vm_sigmoid_n, ref_sigmoid, g_wide, HYP_ULP, "[-750, 750]");
  SWEEP(vm_sigmoid_n, ref_sigmoid, g_mid, HYP_ULP, "[-40, 40]");
  SWEEP(vm_sigmoid_n, ref_sigmoid, g_tiny, HYP_ULP, "tiny");
  SWEEP(vm_softplus_n, ref_softplus, g_wide, HYP_ULP, "[-750, 750]");
  SWEEP(vm_softplus_n, ref_softplus, g_mid, HYP_ULP, "[-40, 40]");
  SWEEP(vm_softplus_n, ref_softplus, g_tiny, HYP_ULP, "tiny");
  SWEEP(vm_softplus_n, ref_softplus, g_sp_joins, HYP_ULP, "near -20, 40");
  SWEEP(vm_erf_n, ref_erf, g_erf, ERF_ULP, "[-7, 7]");
  SWEEP(vm_erf_n, ref_erf, g_unit, ERF_ULP, "[-1, 1]");
  SWEEP(vm_erf_n, ref_erf, g_tiny, ERF_ULP, "tiny");
  SWEEP(vm_erf_n, ref_erf, g_erf_joins, ERF_ULP, "near the joins 0.75, 1.5, 3, 6");
}

/* ---- special values ----------------------------------------------------- */

static double one(Kernel f, double x)
{
  double y;
  f(&x, &y, 1);
  return y;
}

/* f(x) has exactly the bits of want (any NaN for NaN). */
#define EXACT(f, x, want)                                                      \
  do {                                                                         \
    double y_ = one(f, x), w_ = (want);                                        \
    if (!ok(same(y_, w_), "%s(%a) = %a", #f, (double)(x), w_))                  \
      printf("#   got %a\n", y_);                                              \
  } while (0)

static void test_special(void)
{
  double inf = INFINITY, nan = NAN, tiny = 0x1p-1074, huge = DBL_MAX;

  EXACT(vm_exp_n, 0.0, 1.0);
  EXACT(vm_exp_n, -0.0, 1.0);
  EXACT(vm_exp_n, tiny, 1.0);
  EXACT(vm_exp_n, -tiny, 1.0);
  ok(ulp_error(one(vm_exp_n, 1.0), expl(1.0L)) <= EXP_ULP, "exp(1)");
  EXACT(vm_exp_n, inf, inf);
  EXACT(vm_exp_n, -inf, 0.0);
  EXACT(vm_exp_n, nan, nan);
  EXACT(vm_exp_n, huge, inf);
  EXACT(vm_exp_n, -huge, 0.0);
  ok(ulp_error(one(vm_exp_n, 709.78), ref_exp(709.78)) <= EXP_ULP, "exp(709.78)");
  ok(ulp_error(one(vm_exp_n, 709.782712893384), ref_exp(709.782712893384)) <= EXP_ULP,
     "exp(709.782712893384) (largest finite result)");
  EXACT(vm_exp_n, 709.7827128933841, inf);         /* past ln DBL_MAX */
  EXACT(vm_exp_n, 709.79, inf);
  /* around ln 2^-1075, where the result rounds to 2^-1074 or 0: within one
   * subnormal ulp (the last rounding happens after the mantissa's) */
  static const double ub[] = {-745.1332191019411, -745.1332191019412, -745.13321910194,
                              -745.13321910195};
  for (size_t i = 0; i < sizeof ub / sizeof *ub; i++)
    ok(fabs(one(vm_exp_n, ub[i]) - (double)ref_exp(ub[i])) <= 0x1p-1074,
       "exp(%.17g) within a subnormal ulp", ub[i]);
  EXACT(vm_exp_n, -745.13, 0x1p-1074);
  EXACT(vm_exp_n, -745.14, 0.0);
  EXACT(vm_exp_n, -745.2, 0.0);
  EXACT(vm_exp_n, -1e4, 0.0);
  EXACT(vm_exp_n, -1e300, 0.0);
  ok(fabs(one(vm_exp_n, -720) - exp(-720)) <= 0x1p-1074,
     "exp(-720) subnormal within 1 ulp: %a vs %a", one(vm_exp_n, -720), exp(-720));

  EXACT(vm_log_n, 1.0, 0.0);
  EXACT(vm_log_n, 0.0, -inf);
  EXACT(vm_log_n, -0.0, -inf);
  EXACT(vm_log_n, -1.0, nan);
  EXACT(vm_log_n, -inf, nan);
  EXACT(vm_log_n, inf, inf);
  EXACT(vm_log_n, nan, nan);
  ok(ulp_error(one(vm_log_n, tiny), logl(tiny)) <= LOG_ULP, "log(2^-1074)");
  ok(ulp_error(one(vm_log_n, huge), logl(huge)) <= LOG_ULP, "log(DBL_MAX)");
  ok(ulp_error(one(vm_log_n, nextafter(1, 0)), logl(nextafter(1, 0))) <= LOG_ULP,
     "log(1 - 2^-53)");
  ok(ulp_error(one(vm_log_n, nextafter(1, 2)), logl(nextafter(1, 2))) <= LOG_ULP,
     "log(1 + 2^-52)");

  EXACT(vm_log1p_n, 0.0, 0.0);
  EXACT(vm_log1p_n, -0.0, -0.0);
  EXACT(vm_log1p_n, tiny, tiny);
  EXACT(vm_log1p_n, -tiny, -tiny);
  EXACT(vm_log1p_n, 1e-300, 1e-300);
  EXACT(vm_log1p_n, -1.0, -inf);
  EXACT(vm_log1p_n, -1.5, nan);
  EXACT(vm_log1p_n, -inf, nan);
  EXACT(vm_log1p_n, inf, inf);
  EXACT(vm_log1p_n, nan, nan);
  ok(ulp_error(one(vm_log1p_n, huge), log1pl(huge)) <= LOG_ULP, "log1p(DBL_MAX)");
  ok(ulp_error(one(vm_log1p_n, 1e-17), log1pl(1e-17)) <= LOG_ULP, "log1p(1e-17)");
  ok(ulp_error(one(vm_log1p_n, -0x1p-53), log1pl(-0x1p-53)) <= LOG_ULP, "log1p(-2^-53)");

  EXACT(vm_sqrt_n, 0.0, 0.0);
  EXACT(vm_sqrt_n, -0.0, -0.0);
  EXACT(vm_sqrt_n, 4.0, 2.0);
  EXACT(vm_sqrt_n, inf, inf);
  EXACT(vm_sqrt_n, -1.0, nan);
  EXACT(vm_sqrt_n, nan, nan);

  EXACT(vm_sin_n, 0.0, 0.0);
  EXACT(vm_sin_n, -0.0, -0.0);
  EXACT(vm_sin_n, tiny, tiny);
  EXACT(vm_sin_n, -1e-300, -1e-300);
  EXACT(vm_sin_n, inf, nan);
  EXACT(vm_sin_n, -inf, nan);
  EXACT(vm_sin_n, nan, nan);
  EXACT(vm_cos_n, 0.0, 1.0);
  EXACT(vm_cos_n, -0.0, 1.0);
  EXACT(vm_cos_n, inf, nan);
  EXACT(vm_cos_n, nan, nan);
  EXACT(vm_tan_n, 0.0, 0.0);
  EXACT(vm_tan_n, -0.0, -0.0);
  EXACT(vm_tan_n, -1e-300, -1e-300);
  EXACT(vm_tan_n, inf, nan);
  EXACT(vm_tan_n, nan, nan);
  /* the hardest case below the vector limit, and |x| around and past 1e5 */
  double hard = 0x1.6c6cbc45dc8dep+5;
  ok(ulp_error(one(vm_sin_n, hard), sinl(hard)) <= TRIG_ULP, "sin(%a), |r| = 6e-19", hard);
  ok(ulp_error(one(vm_cos_n, hard), cosl(hard)) <= TRIG_ULP, "cos(%a)", hard);
  ok(ulp_error(one(vm_tan_n, hard), tanl(hard)) <= TAN_ULP, "tan(%a)", hard);
  static const double big[] = {99999.99, -99999.999999, 1e5, -1e5, 100000.5, 1e6,
                               -3e7, 1e22, 1e300, -DBL_MAX};
  for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
    double x = big[i];
    if (fabs(x) < 1e5) {
      ok(ulp_error(one(vm_sin_n, x), sinl(x)) <= TRIG_ULP, "sin(%.17g) (vector)", x);
      ok(ulp_error(one(vm_cos_n, x), cosl(x)) <= TRIG_ULP, "cos(%.17g) (vector)", x);
      ok(ulp_error(one(vm_tan_n, x), tanl(x)) <= TAN_ULP, "tan(%.17g) (vector)", x);
    } else {
      EXACT(vm_sin_n, x, sin(x));
      EXACT(vm_cos_n, x, cos(x));
      EXACT(vm_tan_n, x, tan(x));
    }
  }

  EXACT(vm_tanh_n, 0.0, 0.0);
  EXACT(vm_tanh_n, -0.0, -0.0);
  EXACT(vm_tanh_n, tiny, tiny);
  EXACT(vm_tanh_n, -1e-300, -1e-300);
  EXACT(vm_tanh_n, 25.0, 1.0);
  EXACT(vm_tanh_n, -1e300, -1.0);
  EXACT(vm_tanh_n, inf, 1.0);
  EXACT(vm_tanh_n, -inf, -1.0);
  EXACT(vm_tanh_n, nan, nan);

  EXACT(vm_sigmoid_n, 0.0, 0.5);
  EXACT(vm_sigmoid_n, -0.0, 0.5);
  EXACT(vm_sigmoid_n, 40.0, 1.0);
  EXACT(vm_sigmoid_n, inf, 1.0);
  EXACT(vm_sigmoid_n, -inf, 0.0);
  EXACT(vm_sigmoid_n, -1e300, 0.0);
  EXACT(vm_sigmoid_n, 1e300, 1.0);
  EXACT(vm_sigmoid_n, -800.0, 0.0);
  EXACT(vm_sigmoid_n, nan, nan);
  ok(ulp_error(one(vm_sigmoid_n, -700), ref_sigmoid(-700)) <= HYP_ULP, "sigmoid(-700)");
  ok(fabs(one(vm_sigmoid_n, -730) - exp(-730)) <= 0x1p-1074, "sigmoid(-730) subnormal");

  ok(ulp_error(one(vm_softplus_n, 0.0), log1pl(1.0L)) <= HYP_ULP, "softplus(0) = ln 2");
  EXACT(vm_softplus_n, 50.0, 50.0);
  EXACT(vm_softplus_n, 1e300, 1e300);
  EXACT(vm_softplus_n, huge, huge);
  EXACT(vm_softplus_n, inf, inf);
  EXACT(vm_softplus_n, -inf, 0.0);
  EXACT(vm_softplus_n, -1e300, 0.0);
  EXACT(vm_softplus_n, nan, nan);
  ok(ulp_error(one(vm_softplus_n, -700), ref_softplus(-700)) <= HYP_ULP, "softplus(-700)");
  ok(ulp_error(one(vm_softplus_n, -40), ref_softplus(-40)) <= HYP_ULP, "softplus(-40)");
  ok(ulp_error(one(vm_softplus_n, 36), ref_softplus(36)) <= HYP_ULP, "softplus(36)");

  EXACT(vm_erf_n, 0.0, 0.0);
  EXACT(vm_erf_n, -0.0, -0.0);
  ok(ulp_error(one(vm_erf_n, tiny), erfl(tiny)) <= ERF_ULP, "erf(2^-1074)");
  EXACT(vm_erf_n, 6.0, 1.0);
  EXACT(vm_erf_n, -10.0, -1.0);
  EXACT(vm_erf_n, inf, 1.0);
  EXACT(vm_erf_n, -inf, -1.0);
  EXACT(vm_erf_n, nan, nan);
  ok(ulp_error(one(vm_erf_n, 1e-300), erfl(1e-300)) <= ERF_ULP, "erf(1e-300)");
}

/* ---- layout: in place, tails -------------------------------------------- */

static const struct {
  const char *name;
  Kernel f;
} KERNELS[] = {
    {"exp", vm_exp_n},         {"log", vm_log_n},     {"log1p", vm_log1p_n},
    {"sqrt", vm_sqrt_n},       {"sin", vm_sin_n},     {"cos", vm_cos_n},
    {"tan", vm_tan_n},         {"tanh", vm_tanh_n},   {"sigmoid", vm_sigmoid_n},
    {"softplus", vm_softplus_n}, {"erf", vm_erf_n},
};
#define NKERNELS (sizeof KERNELS / sizeof *KERNELS)

/* A mix of ordinary values, special values and huge trig arguments. */
static void layout_inputs(double *x, size_t n)
{
  static const double sp[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e300, -1e300,
                              0x1p-1074, 2e5, -745.5, 709.9, 1.0, -1.0};
  for (size_t i = 0; i < n; i++)
    x[i] = i % 7 == 3 ? sp[(i / 7) % (sizeof sp / sizeof *sp)] : unif(-30, 30);
}

static void test_layout(void)
{
  enum { N = 300 };
  double *x = dalloc(N), *y = dalloc(N), *z = dalloc(N), *w = dalloc(N);
  layout_inputs(x, N);
  for (size_t k = 0; k < NKERNELS; k++) {
    Kernel f = KERNELS[k].f;
    f(x, y, N);
    memcpy(z, x, sizeof(double) * N);
    f(z, z, N);
    int okp = 1;
    for (size_t i = 0; i < N; i++)
      okp &= same(z[i], y[i]);
    ok(okp, "%s: in place gives the same bits", KERNELS[k].name);
    int okt = 1;
    for (size_t len = 1; len <= 37; len++)
      for (size_t off = 0; off + len <= N; off += 41 + len) {
        f(x + off, w, len);
        for (size_t i = 0; i < len; i++)
          okt &= same(w[i], y[off + i]);
      }
    ok(okt, "%s: calls of length 1..37 at many offsets give the bits of one call",
       KERNELS[k].name);
  }
  free(x);
  free(y);
  free(z);
  free(w);
}

/* ---- softmax ------------------------------------------------------------ */

static void softmax_ref(int K, size_t n, const double *a, double tau, long double *g)
{
  for (size_t i = 0; i < n; i++) {
    long double m = a[i], s = 0;
    for (int k = 1; k < K; k++)
      m = a[k * n + i] > m ? a[k * n + i] : m;
    for (int k = 0; k < K; k++)
      s += g[k * n + i] = expl(((long double)a[k * n + i] - m) / tau);
    for (int k = 0; k < K; k++)
      g[k * n + i] /= s;
  }
}

static void test_softmax(void)
{
  enum { N = 1000, KMAX = 16 };
  double *a = dalloc(KMAX * N), *g = dalloc(KMAX * N), *scr = dalloc(2 * N);
  long double *r = malloc(sizeof(long double) * KMAX * N);
  if (!r) {
    printf("Bail out! out of memory\n");
    exit(1);
  }
  static const int Ks[] = {1, 2, 3, 4, 7, 16};
  for (size_t t = 0; t < sizeof Ks / sizeof *Ks; t++) {
    int K = Ks[t];
    for (size_t i = 0; i < (size_t)K * N; i++)
      a[i] = unif(-4, 4);
    double tau = 0.7;
    vm_softmax_cols(K, N, a, N, 1 / tau, g, N, scr);
    softmax_ref(K, N, a, tau, r);
    /* Relative error budget per entry: (a - m), the product by 1/tau and
     * 1/tau itself each round, which moves e^z by up to |z| 2^-53 apiece;
     * exp adds up to 2 2^-53, the sum up to K 2^-53 and the division 2. */
    double wsum = 0, wrel = 0;
    for (size_t i = 0; i < N; i++) {
      double s = 0, m = a[i];
      for (int k = 1; k < K; k++)
        m = a[k * N + i] > m ? a[k * N + i] : m;
      for (int k = 0; k < K; k++) {
        s += g[k * N + i];
        long double ref = r[k * N + i];
        double z = fabs(a[k * N + i] - m) / tau;
        double budget = (3 * z + K + 4) * 0x1p-53;
        double rel = (double)(fabsl(g[k * N + i] - ref) / ref) / budget;
        wrel = rel > wrel ? rel : wrel;
      }
      wsum = fabs(s - 1) > wsum ? fabs(s - 1) : wsum;
    }
    ok(wsum <= 1e-15, "softmax K=%d: sums to 1 within %.2g (bound 1e-15)", K, wsum);
    ok(wrel <= 1, "softmax K=%d: matches long double, worst error %.2f of its budget", K,
       wrel);
  }

  /* tau -> 0: one-hot of the argmax, ties split evenly */
  {
    enum { K = 5, n = 4 };
    double la[K * n] = {
        1, 2, 3, 0,     /* row 0 */
        5, 2, -1, 0,    /* row 1 */
        5, 2, 3, 0,     /* row 2 */
        4.999999999999999, 1, 3, 0, /* row 3 */
        -1e300, 2, 3, 0, /* row 4 */
    };
    double lg[K * n], ls[2 * n];
    const double want[K * n] = {
        0, 0.25, 0.25, 0.2,   /* ties: col 0 rows 1, 2; cols 1, 2 four rows */
        0.5, 0.25, 0, 0.2,
        0.5, 0.25, 0.25, 0.2,
        0, 0, 0.25, 0.2,
        0, 0.25, 0.25, 0.2,
    };
    vm_softmax_cols(K, n, la, n, 1e300, lg, n, ls);
    int good = 1;
    for (int i = 0; i < K * n; i++)
      good &= lg[i] == want[i];
    ok(good, "softmax tau=1e-300: one-hot of the argmax, ties split evenly");
    vm_softmax_cols(K, n, la, n, INFINITY, lg, n, ls);
    good = 1;
    for (int i = 0; i < K * n; i++)
      good &= lg[i] == want[i];
    ok(good, "softmax inv_tau=inf: same as tau -> 0");
    for (int i = 0; i < K * n; i++)
      la[i] = unif(-1e10, 1e10);
    vm_softmax_cols(K, n, la, n, 1e-300, lg, n, ls);
    good = 1;
    for (int i = 0; i < K * n; i++)
      good &= lg[i] == 0.2;
    ok(good, "softmax tau=1e300: uniform 1/K");
  }

  /* logits of ±1e300 and the extremes of the double range */
  {
    enum { K = 4, n = 6 };
    double la[K * n], lg[K * n], ls[2 * n];
    static const double v[] = {1e300, -1e300, DBL_MAX, -DBL_MAX, 0, 1e-300};
    for (int i = 0; i < K * n; i++)
      la[i] = v[(i * 7 + i / n) % 6];
    static const double itau[] = {1e-300, 1e-4, 1, 1e4, 1e300};
    int good = 1;
    for (size_t t = 0; t < sizeof itau / sizeof *itau; t++) {
      vm_softmax_cols(K, n, la, n, itau[t], lg, n, ls);
      for (int i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < K; k++) {
          good &= !isnan(lg[k * n + i]) && lg[k * n + i] >= 0;
          s += lg[k * n + i];
        }
        good &= fabs(s - 1) <= 1e-15;
      }
    }
    ok(good, "softmax logits of ±1e300 and ±DBL_MAX: no NaN, sums to 1");
  }

  /* in-row equal logits: equal weights at any temperature */
  {
    enum { K = 3, n = 8 };
    double la[K * n], lg[K * n], ls[2 * n];
    for (int i = 0; i < n; i++) {
      la[i] = la[n + i] = 0.125 * i;
      la[2 * n + i] = -3.0 * i;
    }
    vm_softmax_cols(K, n, la, n, 10.0, lg, n, ls);
    int good = 1;
    for (int i = 0; i < n; i++)
      good &= lg[i] == lg[n + i];
    ok(good, "softmax: tied logits get identical weights");
  }

  /* timing: a print, not a check */
  enum { NB = 2048 };
  double *xb = dalloc(NB), *yb = dalloc(NB);
  for (size_t i = 0; i < NB; i++)
    xb[i] = unif(-30, 5);
  int reps = 2000;
  double t0 = now();
  for (int r = 0; r < reps; r++)
    vm_exp_n(xb, yb, NB);
  double te = (now() - t0) / ((double)reps * NB) * 1e9;
  double sink = 0;
  t0 = now();
  for (int r = 0; r < reps / 4; r++)
    for (size_t i = 0; i < NB; i++)
      sink += exp(xb[i] + r * 1e-300);
  double tg = (now() - t0) / ((double)(reps / 4) * NB) * 1e9;
  printf("# timing: vm_exp_n %.2f ns/element (glibc exp %.2f ns; sink %g)\n", te, tg, sink);
  for (size_t i = 0; i < NB; i++)
    xb[i] = unif(-1e6, 0);
  t0 = now();
  for (int r = 0; r < reps; r++)
    vm_exp_n(xb, yb, NB);
  printf("# timing: vm_exp_n on underflowing arguments %.2f ns/element\n",
         (now() - t0) / ((double)reps * NB) * 1e9);
  for (size_t i = 0; i < (size_t)KMAX * NB && i < (size_t)KMAX * N; i++)
    a[i] = unif(-4, 4);
  double *ab = dalloc(KMAX * NB), *gb = dalloc(KMAX * NB), *sb = dalloc(2 * NB);
  for (size_t i = 0; i < (size_t)KMAX * NB; i++)
    ab[i] = unif(-4, 4);
  static const int Kt[] = {4, 16};
  static const double taus[] = {1.0, 1e-4};
  for (size_t t = 0; t < 2; t++)
    for (size_t u = 0; u < 2; u++) {
      int K = Kt[t];
      t0 = now();
      for (int r = 0; r < reps / 4; r++)
        vm_softmax_cols(K, NB, ab, NB, 1 / taus[u], gb, NB, sb);
      double ts = (now() - t0) / ((double)(reps / 4) * NB) * 1e9;
      printf("# timing: softmax K=%d tau=%g: %.2f ns/sample (%.2f ns per sample and k)\n", K,
             taus[u], ts, ts / K);
    }
  free(xb);
  free(yb);
  free(ab);
  free(gb);
  free(sb);
  free(a);
  free(g);
  free(scr);
  free(r);
}

int main(void)
{
  test_special();
  test_accuracy();
  test_layout();
  test_softmax();
  return tap_done();
}
