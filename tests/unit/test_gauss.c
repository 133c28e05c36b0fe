/*
 * test_gauss.c — univariate and bivariate normal functions.
 *
 * Reference values in the tables were computed independently with mpmath
 * 1.3 at 60 significant digits (ncdf, npdf, erf, root finding on ncdf) and
 * rounded to 20 digits.  Relative tolerances are in units of
 * EPS = 2^-52, so "4 EPS" is a few ulp.  Bivariate values are checked
 * against identities (ρ = 0, ±1, orthants, symmetries) and against an
 * independent one-dimensional integral computed with quad.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "gauss.h"
#include "quad.h"
#include "rt.h"
#include "tap.h"

#define PI 3.14159265358979323846
#define EPS DBL_EPSILON

static const double CDF[][2] = {
  {-37.5, 4.6053530095819548438e-308}, {-35, 1.124910706472406244e-268},
  {-30, 4.9067139271481870595e-198}, {-25, 3.0566967063825609164e-138},
  {-20, 2.7536241186062336951e-89}, {-15, 3.6709661993127508858e-51},
  {-10, 7.619853024160526066e-24}, {-7.5, 3.1908916729108962278e-14},
  {-5, 2.8665157187919391167e-7}, {-3, 1.3498980316300945267e-3},
  {-2, 2.27501319481792072e-2}, {-1.5, 6.6807201268858066004e-2},
  {-1, 1.5865525393145705141e-1}, {-0.5, 3.0853753872598689636e-1},
  {-0.1, 4.6017216272297101633e-1}, {0.3, 6.1791142218895263307e-1},
  {1, 8.4134474606854294859e-1}, {2.5, 9.9379033467422386483e-1},
  {5, 9.9999971334842812081e-1}, {8, 9.999999999999993779e-1},
};

static const double PDF[][2] = {
  {0, 3.9894228040143267794e-1}, {0.7, 3.1225393336676126681e-1},
  {-3.3, 1.7225689390536811513e-3}, {12.25, 1.0357435096208350128e-33},
  {-25.5, 2.5171937051934048741e-142}, {37, 2.1200065515246056269e-298},
};

static const double LOGCDF[][2] = {
  {-1e8, -5.0000000000000193396e+15}, {-1e5, -5.0000000124318639983e+9},
  {-1000, -5.0000782669481218431e+5}, {-100, -5.0055242086942050886e+3},
  {-40, -8.0460844201375378817e+2}, {-30.5, -4.6946273732291211439e+2},
  {-30, -4.5432124395634319711e+2}, {-29.5, -4.3942947460915022775e+2},
  {-20, -2.0391715537109726394e+2}, {-5, -1.5064998393988725736e+1},
  {0, -6.9314718055994530942e-1}, {3, -1.3508099647481937988e-3},
  {10, -7.619853024160526066e-24},
};

static const double QUANT[][2] = {
  {1e-300, -3.7047096299361199237e+1}, {1e-100, -2.1273453560965324294e+1},
  {1e-20, -9.2623400897984075796}, {1e-10, -6.3613409024040561991},
  {0.001, -3.0902323061678135354}, {0.025, -1.9599639845400542118},
  {0.3, -5.2440051270804081597e-1}, {0.7, 5.2440051270804065631e-1},
  {0.975, 1.9599639845400538556}, {0.999999, 4.7534243088170877657},
};

static const double INTERVAL[][3] = {
  {30, 31, 4.9067139271479175345e-198}, {-31, -30, 4.9067139271479175345e-198},
  {20, 20.001, 5.4661042023242375554e-91}, {8, INFINITY, 6.2209605742717841235e-16},
  {-0.001, 0.002, 1.1968262427912065838e-3}, {5, 5.5, 2.6766200941330619229e-7},
  {1.0, 1.000000001, 2.4197074441890548515e-10}, {-6, 6, 9.9999999802682470992e-1},
};

/* M(w) = P(-w < Z < w) = erf(w/√2). */
static const double MASS[][2] = {
  {1e-12, 7.9788456080286533983e-13}, {1e-06, 7.9788456080273233901e-7},
  {0.1, 7.9655674554057967338e-2}, {0.5, 3.8292492254802620728e-1},
  {1, 6.8268949213708589717e-1}, {3, 9.9730020393673981095e-1},
  {10, 1.0}, {1000.0, 1.0},
};

#define COUNT(t) ((int)(sizeof(t) / sizeof((t)[0])))

static void test_cdf(void)
{
  ok(gauss_cdf(0) == 0.5, "Phi(0) = 1/2 exactly");
  ok_rel(gauss_cdf(1.96), 0.9750021048517795, 2 * EPS, "Phi(1.96)");
  ok_rel(gauss_cdf(-5), 2.866515718791939e-07, 4 * EPS, "Phi(-5)");
  ok_rel(gauss_cdf(-30), 4.906713927148187e-198, 4 * EPS, "Phi(-30), full relative precision");
  ok_near(gauss_cdf(-38), 2.8854283600687843e-316, 4 * 4.95e-324, "Phi(-38) subnormal");
  ok(gauss_cdf(-40) == 0 && gauss_cdf(-INFINITY) == 0 && gauss_cdf(INFINITY) == 1,
     "Phi(-40) underflows to 0; Phi(+-inf)");
  ok(isnan(gauss_cdf(NAN)), "Phi(NaN) is NaN");
  for (int i = 0; i < COUNT(CDF); i++)
    ok_rel(gauss_cdf(CDF[i][0]), CDF[i][1], 4 * EPS, "Phi(%g) within 4 eps", CDF[i][0]);
  int sym = 1, sf = 1;
  for (double x = -37; x <= 37; x += 0.37) {
    sf &= gauss_sf(x) == gauss_cdf(-x);
    if (fabs(x) < 8)
      sym &= fabs(gauss_cdf(x) + gauss_cdf(-x) - 1) <= 2 * EPS;
  }
  ok(sf, "sf(x) == Phi(-x) bitwise");
  ok(sym, "Phi(x) + Phi(-x) = 1");
  for (int i = 0; i < COUNT(PDF); i++)
    ok_rel(gauss_pdf(PDF[i][0]), PDF[i][1], 4 * EPS, "phi(%g) within 4 eps", PDF[i][0]);
  ok(gauss_pdf(39) == 0 && gauss_pdf(-INFINITY) == 0 && isnan(gauss_pdf(NAN)), "phi far out and NaN");
}

static void test_log_cdf(void)
{
  for (int i = 0; i < COUNT(LOGCDF); i++)
    ok_rel(gauss_log_cdf(LOGCDF[i][0]), LOGCDF[i][1], 4 * EPS, "log Phi(%g) within 4 eps",
           LOGCDF[i][0]);
  int agree = 1;
  for (double x = -37; x < 0.5; x += 0.173)     /* above, log(Φ) itself cancels */
    agree &= fabs(gauss_log_cdf(x) - log(gauss_cdf(x))) <= 4 * EPS * fabs(log(gauss_cdf(x)));
  ok(agree, "log Phi = log(Phi) wherever Phi is a normal number below 1/2");
  int far = 1;
  for (double x = 5; x < 37; x += 0.31)         /* sf² < 1e-13·sf here */
    far &= fabs(gauss_log_cdf(x) + gauss_sf(x)) <= 2 * EPS * gauss_sf(x) + gauss_sf(x) * gauss_sf(x);
  ok(far, "log Phi(x) = -sf(x) to first order for large x");
  /* Asymptotic form far out: log Phi(x) = -x²/2 - log(-x) - log √(2π) + O(1/x²). */
  double x = -1e6, asym = -0.5 * x * x - log(-x) - 0.5 * log(2 * PI) - 1 / (x * x);
  ok_rel(gauss_log_cdf(x), asym, 2 * EPS, "log Phi(-1e6) = asymptotic form");
  ok(isfinite(gauss_log_cdf(-1e150)) && gauss_log_cdf(-1e160) == -INFINITY,
     "log Phi finite until x^2/2 overflows");
  ok(gauss_log_cdf(40) == 0 || fabs(gauss_log_cdf(40)) < 1e-300, "log Phi(40) = -sf(40) ~ 0");
}

static void test_interval(void)
{
  for (int i = 0; i < COUNT(INTERVAL); i++)
    ok_rel(gauss_interval(INTERVAL[i][0], INTERVAL[i][1]), INTERVAL[i][2], 4 * EPS,
           "P(%g < Z < %g) within 4 eps", INTERVAL[i][0], INTERVAL[i][1]);
  ok_near(gauss_interval(-38, -37.9), 1.2579149183942874948e-314, 8 * 4.95e-324,
          "P(-38 < Z < -37.9), subnormal");
  for (int i = 0; i < COUNT(MASS); i++)
    ok_rel(gauss_interval(-MASS[i][0], MASS[i][0]), MASS[i][1], 4 * EPS,
           "boundary mass M(%g)", MASS[i][0]);
  /* Tiny widths: density at the midpoint times width (midpoint rule error
   * w²/24·|φ''/φ| is below 1e-20 here). */
  const double at[] = {-20, -3, -1e-13, 0, 0.5, 4, 25};
  for (int i = 0; i < 7; i++) {
    double w = 1e-12, a = at[i];
    ok_rel(gauss_interval(a, a + w), gauss_pdf(a + 0.5 * w) * ((a + w) - a), 1e-12,
           "width 1e-12 at %g: density x width", a);
  }
  ok(gauss_interval(1, 1) == 0 && gauss_interval(2, 1) == 0, "empty interval is 0");
  ok(gauss_interval(-INFINITY, INFINITY) == 1, "whole line is 1");
  ok_rel(gauss_interval(-INFINITY, -12), gauss_cdf(-12), EPS, "(-inf, b) = Phi(b)");
  ok(isnan(gauss_interval(NAN, 1)), "NaN propagates");
}

static void test_quantile(void)
{
  for (int i = 0; i < COUNT(QUANT); i++)
    ok_rel(gauss_quantile(QUANT[i][0]), QUANT[i][1], 4 * EPS, "quantile(%g) within 4 eps",
           QUANT[i][0]);
  ok(gauss_quantile(0.5) == 0, "quantile(1/2) = 0");
  ok(gauss_quantile(0) == -INFINITY && gauss_quantile(1) == INFINITY, "quantile of 0 and 1");
  ok(isnan(gauss_quantile(-0.1)) && isnan(gauss_quantile(1.1)), "quantile outside [0,1] is NaN");
  double p = 1e-310, x = gauss_quantile(p);
  ok_rel(gauss_cdf(x), p, 1e-8, "quantile of a subnormal p round-trips");
  int rt = 1;                /* above 0 the rounding of Φ(y) to 1 - δ dominates */
  for (double y = -37; y < 0.3; y += 0.37)
    rt &= fabs(gauss_quantile(gauss_cdf(y)) - y) <= 8 * EPS * fmax(1, fabs(y));
  ok(rt, "quantile(Phi(y)) = y");
  int fast = 1;
  for (int i = 0; i < COUNT(QUANT); i++)
    fast &= fabs(gauss_quantile_fast(QUANT[i][0]) - QUANT[i][1]) <= 1e-14 * fabs(QUANT[i][1]);
  ok(fast, "quantile_fast within 1e-14 relative");
}

/* ------------------------------------------------------------ bivariate */

typedef struct BvnRef {
  double k, rho;
} BvnRef;

static double f_bvn(double x, void *ctx)
{
  const BvnRef *b = ctx;
  double s = sqrt((1 - b->rho) * (1 + b->rho));
  return gauss_pdf(x) * gauss_cdf((b->k - b->rho * x) / s);
}

/* P(Z1 < h, Z2 < k) = ∫_{-∞}^h φ(x) Φ((k - ρx)/√(1-ρ²)) dx, with the
 * inner step located by breakpoints at x = k/ρ and ± its width s/|ρ|. */
static double bvn_by_quad(Rt *rt, double h, double k, double rho)
{
  BvnRef b = {k, rho};
  double s = sqrt((1 - rho) * (1 + rho)), br[5] = {0};
  int nb = 1;
  if (rho != 0) {
    double c = k / rho, w = s / fabs(rho);
    br[nb++] = c, br[nb++] = c - 3 * w, br[nb++] = c + 3 * w;
  }
  QuadOpts o;
  quad_default_opts(&o);
  o.abs_tol = 1e-15;
  o.rel_tol = 1e-14;
  QuadResult r;
  quad_integrate(rt, f_bvn, &b, -INFINITY, h, br, nb, &o, &r);
  return r.value;
}

static void test_bvn_identities(void)
{
  const double hk[][2] = {{0, 0}, {1.3, -0.4}, {-2.5, -3}, {4, 6}, {-7, 2}, {0.5, 8}};
  for (int i = 0; i < 6; i++) {
    double h = hk[i][0], k = hk[i][1];
    ok_near(bvn_cdf(h, k, 0), gauss_cdf(h) * gauss_cdf(k), 1e-16, "rho = 0 at (%g, %g): product", h, k);
    ok_near(bvn_cdf(h, k, 1), gauss_cdf(fmin(h, k)), 1e-16, "rho = 1: Phi(min)");
    ok_near(bvn_cdf(h, k, -1), fmax(0, gauss_cdf(h) - gauss_cdf(-k)), 1e-16, "rho = -1: Phi(h) - Phi(-k)");
    ok_near(bvn_cdf(h, k, 1 - 1e-12), gauss_cdf(fmin(h, k)), 2e-6, "rho -> 1 is continuous");
    ok_near(bvn_cdf(h, k, -1 + 1e-12), fmax(0, gauss_cdf(h) - gauss_cdf(-k)), 2e-6,
            "rho -> -1 is continuous");
  }
  const double rhos[] = {-0.999999, -0.99, -0.95, -0.925, -0.924999, -0.9, -0.75, -0.7499,
                         -0.5, -0.3, -0.2999, 0.1, 0.3, 0.5, 0.75, 0.9, 0.925, 0.99, 0.999999};
  for (int i = 0; i < (int)(sizeof rhos / sizeof rhos[0]); i++)
    ok_near(bvn_cdf(0, 0, rhos[i]), 0.25 + asin(rhos[i]) / (2 * PI), 2e-16,
            "orthant P(Z1<0, Z2<0) at rho = %g", rhos[i]);
  int symm = 1, split = 1;
  for (double h = -3; h <= 3; h += 0.75)
    for (double k = -2.9; k <= 3; k += 0.85)
      for (double r = -0.98; r < 1; r += 0.14) {
        symm &= fabs(bvn_cdf(h, k, r) - bvn_cdf(k, h, r)) <= 4e-16;
        split &= fabs(bvn_cdf(h, k, r) + bvn_cdf(h, -k, -r) - gauss_cdf(h)) <= 1e-15;
      }
  ok(symm, "bvn symmetric in (h, k)");
  ok(split, "bvn(h,k,rho) + bvn(h,-k,-rho) = Phi(h)");
  ok(bvn_cdf(INFINITY, 0.7, 0.4) == gauss_cdf(0.7) && bvn_cdf(-INFINITY, 0.7, 0.4) == 0 &&
     bvn_cdf(0.2, INFINITY, -0.9) == gauss_cdf(0.2), "infinite limits");
  ok(bvn_cdf(45, 50, 0.3) == 1 && bvn_cdf(-45, 3, 0.3) == 0, "limits beyond +-40");
  ok(bvn_upper(0.3, -1.2, 0.6) == bvn_cdf(-0.3, 1.2, 0.6), "bvn_upper = bvn_cdf(-h, -k)");
  ok(isnan(bvn_cdf(NAN, 0, 0)) && isnan(bvn_cdf(0, 0, 1.0000001)), "NaN and |rho| > 1 give NaN");
}

static void test_bvn_quad(void)
{
  Rt rt;
  rt_init(&rt);
  /* A fixed spread: every branch (6, 12, 20 points; |ρ| >= 0.925 both
   * signs), h ≈ k, far tails. */
  const double cases[][3] = {
    {0.3, -0.7, 0.1}, {-1.2, 0.4, -0.25}, {1.5, 2.0, 0.45}, {-2, -2.5, 0.3},
    {0.8, 0.1, -0.6}, {-0.5, 1.7, 0.74}, {2.2, -1.1, -0.8}, {-1, -1, 0.9},
    {1.1, 1.1001, 0.93}, {-0.2, 0.3, 0.95}, {0.6, -0.6, -0.95}, {-3, -2.9, 0.99},
    {2.5, 2.4, 0.999}, {-1.5, 1.5, -0.999}, {0.01, 0.0, 0.99999}, {3.5, -3.4, -0.93},
    {-4.5, -4, 0.5}, {5, -5.5, -0.2}, {-6, 6, 0.97}, {1e-3, -2e-3, -0.9999},
  };
  for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
    double h = cases[i][0], k = cases[i][1], r = cases[i][2];
    ok_near(bvn_cdf(h, k, r), bvn_by_quad(&rt, h, k, r), 1e-13,
            "bvn(%g, %g, %g) = 1-D integral", h, k, r);
  }
}

int main(void)
{
  test_cdf();
  test_log_cdf();
  test_interval();
  test_quantile();
  test_bvn_identities();
  test_bvn_quad();
  return tap_done();
}
