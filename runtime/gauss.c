/*
 * gauss.c — univariate and bivariate normal functions (see gauss.h).
 *
 * The routing code needs normal probabilities that stay RELATIVELY accurate
 * where they are tiny (log-likelihoods of far-out gates, boundary masses of
 * width 1e-12), so each function avoids the two classic losses:
 *   - rounding the erfc argument x/√2 costs ~x² ulp in the tail; we carry the
 *     rounding error of x/√2 and correct erfc to first order;
 *   - differences of two close probabilities cancel; short intervals are
 *     integrated directly (Gauss–Legendre on the density ratio) and tail
 *     intervals are differenced on the side where both terms are small.
 * The bivariate function follows Genz (2004), "Numerical computation of
 * rectangular bivariate and trivariate normal and t probabilities",
 * re-derived from Plackett's identity ∂P/∂ρ = φ₂(h, k; ρ).
 */
#include "gauss.h"

#include <math.h>

#define INV_SQRT_2PI 0.3989422804014327       /* 1/√(2π) */
#define SQRT_2PI 2.5066282746310007           /* √(2π) */
#define LOG_SQRT_2PI 0.9189385332046728       /* log √(2π) */
#define TWO_OVER_SQRT_PI 1.1283791670955126   /* 2/√π */
#define INV_2PI 0.15915494309189535           /* 1/(2π) */
#define RSQRT2_HI 0.7071067811865476          /* 1/√2 = HI + LO */
#define RSQRT2_LO (-4.8336466567264565e-17)

/* ---------------------------------------------------------------- φ, Φ */

double gauss_pdf(double x)
{
  x = fabs(x);
  if (!(x < 40))
    return isnan(x) ? x : 0.0;          /* φ(38.6) is already below 1e-324 */
  /* x = xh + xl with xh on a 2^-16 grid: xh² is exact, xl(x + xh) is tiny,
   * so the exponent carries no rounding error amplified by x². */
  double xh = trunc(x * 65536.0) / 65536.0, xl = x - xh;
  return INV_SQRT_2PI * exp(-0.5 * xh * xh) * exp(-0.5 * xl * (x + xh));
}

/* -d/dy log erfc(y) = 2 e^{-y²} / (√π erfc(y)), needed only to a few digits
 * (it multiplies a correction of relative size ~y²·eps).  Far out, where
 * both factors would underflow, use the asymptotic Mills-ratio series. */
static double erfc_dlog(double y, double erfc_y)
{
  if (y < 20)
    return TWO_OVER_SQRT_PI * exp(-y * y) / erfc_y;
  double t = 1 / (2 * y * y);
  return 2 * y / (1 - t * (1 - 3 * t * (1 - 5 * t)));
}

double gauss_cdf(double x)
{
  if (isnan(x))
    return x;
  /* y + dy = -x/√2 to ~2^-106 relative. */
  double y = -x * RSQRT2_HI;
  double dy = fma(-x, RSQRT2_HI, -y) + (-x) * RSQRT2_LO;
  double r = erfc(y);
  if (r == 0 || isinf(x))
    return 0.5 * r;
  return 0.5 * r * (1 - erfc_dlog(y, r) * dy);
}

double gauss_sf(double x)
{
  return gauss_cdf(-x);
}

/* log Φ(x) for x <= -30 from Φ(x) = φ(x)/|x| · Σ_k (-1)^k (2k-1)!! / x^{2k};
 * at |x| >= 30 the terms fall by ≥ 1/300 each, 7 terms reach 1e-17. */
static double log_cdf_far(double x)
{
  double u = 1 / (x * x), term = 1, sum = 0;
  for (int k = 1; k < 40; k++) {
    term *= -(2 * k - 1) * u;
    sum += term;
    if (fabs(term) < 1e-18)
      break;
  }
  return (-0.5 * x) * x - log(-x) - LOG_SQRT_2PI + log1p(sum);
}

double gauss_log_cdf(double x)
{
  if (isnan(x))
    return x;
  if (x > 0)
    return log1p(-gauss_sf(x));
  if (x > -30)
    return log(gauss_cdf(x));
  return log_cdf_far(x);
}

/* Mills' ratio R(x) = Φ(-x)/φ(x) for x >= 5 by the continued fraction
 * 1/(x + 1/(x + 2/(x + 3/(x + ...)))), evaluated backwards with a fixed
 * depth (for x >= 5, 60 terms leave an error far below one ulp). */
static double mills_cf(double x)
{
  double t = x;
  for (int k = 60; k >= 1; k--)
    t = x + k / t;
  return 1 / t;
}

double gauss_log_mills(double x)
{
  if (isnan(x))
    return x;
  if (x >= 5)
    return log(mills_cf(x));
  if (x > -5)
    return log(gauss_sf(x) / gauss_pdf(x));
  /* Φ(-x) = 1 - Φ(x) and log φ(x) = -x²/2 - log √(2π): no overflow. */
  return log1p(-gauss_cdf(x)) + 0.5 * x * x + 0.91893853320467274178;
}

/* ------------------------------------------------------------ intervals */

/* 10-point Gauss–Legendre nodes (positive half) and weights on [-1, 1]. */
static const double GL10_X[5] = {
  0.973906528517171720078, 0.865063366688984510732, 0.679409568299024406234,
  0.433395394129247190799, 0.148874338981631210885};
static const double GL10_W[5] = {
  0.0666713443086881375936, 0.149451349150580593146, 0.219086362515982043996,
  0.269266719309996355091, 0.295524224714752870174};

/* ∫_a^b φ on a short interval as φ(c) ∫ exp(-(x-c)(x+c)/2) dx, where c is
 * the end nearer 0 (or 0 itself).  Nodes are placed by their offset from a
 * so that x - c keeps its relative precision when the interval is short and
 * far out (x itself would carry an absolute error ~|x|·eps).  The callers
 * keep the exponent within [-1, 0] and the width at most 1, where 10
 * Gauss–Legendre points integrate this entire function to ~1e-20 relative. */
static double short_interval(double a, double b, double c)
{
  double half = 0.5 * (b - a), off = a - c, sum = 0;   /* off is exact */
  for (int i = 0; i < 5; i++) {
    for (int s = -1; s <= 1; s += 2) {
      double u = half * (1 + s * GL10_X[i]);      /* x = a + u, x - c = off + u */
      sum += GL10_W[i] * exp(-0.5 * (off + u) * (a + u + c));
    }
  }
  return gauss_pdf(c) * (half * sum);
}

/* P(a < Z < b) for 0 <= a < b.  Since sf/φ decreases, sf(b)/sf(a) <=
 * φ(b)/φ(a) = e^{-(b-a)(b+a)/2}; so when b·(b - a) > 1, sf(b) < 0.61·sf(a)
 * and the difference of the two tail probabilities loses at most a few ulp.
 * Otherwise the interval is short in the density's own scale. */
static double interval_right(double a, double b)
{
  double h = b - a;
  if (h * b <= 1)
    return short_interval(a, b, a);
  return gauss_sf(a) - gauss_sf(b);
}

double gauss_interval(double a, double b)
{
  if (isnan(a) || isnan(b))
    return a + b;
  if (!(a < b))
    return 0.0;
  if (a >= 0)
    return interval_right(a, b);
  if (b <= 0)
    return interval_right(-b, -a);
  if (b - a < 1)
    return short_interval(a, b, 0.0);
  return (1 - gauss_cdf(a)) - gauss_sf(b);   /* mass >= P(0 < Z < 1) */
}

/* ------------------------------------------------------------- quantile */

/* Wichura (1988), "The percentage points of the normal distribution",
 * Algorithm AS 241 (PPND16), for 0 < p <= 0.5: three rational
 * approximations in q = p - 1/2 or r = √(-log p); the coefficients are the
 * published ones. */
static double as241_lower(double p)
{
  double q = p - 0.5;
  if (fabs(q) <= 0.425) {
    double r = 0.180625 - q * q;
    return q * (((((((2509.0809287301226727 * r + 33430.575583588128105) * r
             + 67265.770927008700853) * r + 45921.953931549871457) * r
             + 13731.693765509461125) * r + 1971.5909503065514427) * r
             + 133.14166789178437745) * r + 3.3871328727963666080)
         / (((((((5226.4952788528545610 * r + 28729.085735721942674) * r
             + 39307.895800092710610) * r + 21213.794301586595867) * r
             + 5394.1960214247511077) * r + 687.18700749205790830) * r
             + 42.313330701600911252) * r + 1);
  }
  double r = sqrt(-log(p));
  if (r <= 5) {
    r -= 1.6;
    return -(((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r
              + 2.41780725177450611770e-1) * r + 1.27045825245236838258) * r
              + 3.64784832476320460504) * r + 5.76949722146069140550) * r
              + 4.63033784615654529590) * r + 1.42343711074968357734)
           / (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r
              + 1.51986665636164571966e-2) * r + 1.48103976427480074590e-1) * r
              + 6.89767334985100004550e-1) * r + 1.67638483018380384940) * r
              + 2.05319162663775882187) * r + 1);
  }
  r -= 5;
  return -(((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r
            + 1.24266094738807843860e-3) * r + 2.65321895265761230930e-2) * r
            + 2.96560571828504891230e-1) * r + 1.78482653991729133580) * r
            + 5.46378491116411436990) * r + 6.65790464350110377720)
         / (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r
            + 1.84631831751005468180e-5) * r + 7.86869131145613259100e-4) * r
            + 1.48753612908506148525e-2) * r + 1.36929880922735805310e-1) * r
            + 5.99832206555887937690e-1) * r + 1);
}

/* Lower-half quantile: AS 241 then one Halley step on Φ(x) = p, which
 * removes the approximation's last-digit error (the residual is computed
 * from our tail-accurate Φ, so the step is valid down to subnormal p). */
static double quantile_lower(double p)
{
  double x = as241_lower(p);
  double dens = gauss_pdf(x);
  if (dens == 0 || !isfinite(x))
    return x;
  double u = (gauss_cdf(x) - p) / dens;
  return x - u / (1 + 0.5 * x * u);
}

/* The shared edge cases: NaN outside [0, 1] (and for NaN), -inf at 0, +inf
 * at 1.  Returns 1 when it has set *x. */
static int quantile_edge(double p, double *x)
{
  if (p > 0 && p < 1)
    return 0;
  *x = p == 0 ? -INFINITY : p == 1 ? INFINITY : NAN;
  return 1;
}

double gauss_quantile(double p)
{
  double x;
  if (quantile_edge(p, &x))
    return x;
  if (p <= 0.5)
    return quantile_lower(p);
  return -quantile_lower(1 - p);     /* 1 - p is exact for p > 1/2 */
}

double gauss_quantile_fast(double p)
{
  double x;
  if (quantile_edge(p, &x))
    return x;
  return p <= 0.5 ? as241_lower(p) : -as241_lower(1 - p);
}

/* ------------------------------------------------------------ bivariate */

/* Gauss–Legendre rules on [-1, 1] (positive half of the symmetric nodes;
 * all tables in this file were computed for it in 50-digit arithmetic by
 * the Golub–Welsch eigenvalue method). */
typedef struct GLRule {
  int m;                 /* number of node pairs */
  const double *x, *w;
} GLRule;

static const double GL6_X[3] = {
  0.932469514203152027812, 0.661209386466264513661, 0.238619186083196908631};
static const double GL6_W[3] = {
  0.17132449237917034504, 0.36076157304813860757, 0.46791393457269104739};
static const double GL12_X[6] = {
  0.981560634246719250691, 0.904117256370474856678, 0.769902674194304687037,
  0.587317954286617447297, 0.367831498998180193753, 0.125233408511468915472};
static const double GL12_W[6] = {
  0.0471753363865118271946, 0.10693932599531843096, 0.160078328543346226335,
  0.203167426723065921749, 0.233492536538354808761, 0.249147045813402785001};
static const double GL20_X[10] = {
  0.993128599185094924786, 0.963971927277913791268, 0.912234428251325905868,
  0.839116971822218823395, 0.746331906460150792614, 0.636053680726515025453,
  0.510867001950827098004, 0.373706088715419560673, 0.22778585114164507808,
  0.0765265211334973337546};
static const double GL20_W[10] = {
  0.0176140071391521183119, 0.040601429800386941331, 0.0626720483341090635695,
  0.0832767415767047487248, 0.101930119817240435037, 0.118194531961518417312,
  0.131688638449176626898, 0.142096109318382051329, 0.149172986472603746788,
  0.152753387130725850698};

static const GLRule GL6 = {3, GL6_X, GL6_W};
static const GLRule GL12 = {6, GL12_X, GL12_W};
static const GLRule GL20 = {10, GL20_X, GL20_W};

/* |ρ| < 0.925: P(X>h, Y>k) = Φ(-h)Φ(-k) + ∫_0^ρ φ₂(h,k;r) dr, and with
 * r = sin θ the integrand (1/2π) exp(-(h²+k²-2hk sin θ)/(2cos²θ)) is smooth
 * on [0, asin ρ]; Genz's 6/12/20-point rules give ~1e-16 absolute. */
static double upper_moderate(double h, double k, double r)
{
  const GLRule *g = fabs(r) < 0.3 ? &GL6 : fabs(r) < 0.75 ? &GL12 : &GL20;
  double hs = 0.5 * (h * h + k * k), hk = h * k;
  double half = 0.5 * asin(r), sum = 0;
  for (int i = 0; i < g->m; i++) {
    for (int s = -1; s <= 1; s += 2) {
      double sn = sin(half * (1 + s * g->x[i]));
      sum += g->w[i] * exp((sn * hk - hs) / (1 - sn * sn));
    }
  }
  return gauss_sf(h) * gauss_sf(k) + sum * half * INV_2PI;
}

/* Closed form of ∫_0^a e^{-b²/(2x²) - hk/2} (1 + c x² + c d x⁴) dx through
 * I_m = ∫_0^a x^{2m} e^{-b²/(2x²)} dx:  I_0 = a E - b√(2π) Φ(-b/a) and
 * (2m+1) I_m = a^{2m+1} E - b² I_{m-1}, with E = e^{-b²/(2a²)}
 * (integration by parts of d/dx[x^{2m+1} E(x)]).  The factor e^{-hk/2} is
 * folded into each exponential so that nothing overflows. */
static double near_one_closed(double a, double b, double hk, double c, double d)
{
  double as = a * a, bs = b * b;
  double e = exp(-0.5 * (bs / as + hk));
  double tail = 0;
  if (b > 0 && hk > -1400)
    tail = b * SQRT_2PI * gauss_cdf(-b / a) * exp(-0.5 * hk);
  double i0 = a * e - tail;
  double i1 = (as * a * e - bs * i0) / 3;
  double i2 = (as * as * a * e - bs * i1) / 5;
  return i0 + c * i1 + c * d * i2;
}

/* The rest, ∫_0^a e^{-b²/(2x²) - hk/2} [T(x) - (1 + c x² + c d x⁴)] dx with
 * T = exp(-hk(1-√(1-x²))/(2(1+√(1-x²))))/√(1-x²): the bracket is O(x⁶), so
 * the 20-point rule on [0, a] (a <= 0.38) is accurate to ~1e-16. */
static double near_one_rest(double a, double b, double hk, double c, double d)
{
  double half = 0.5 * a, bs = b * b, sum = 0;
  for (int i = 0; i < GL20.m; i++) {
    for (int s = -1; s <= 1; s += 2) {
      double x = half * (1 + s * GL20.x[i]), xs = x * x;
      double ex = -0.5 * (bs / xs + hk);
      if (ex < -745)
        continue;
      double rs = sqrt(1 - xs), op = 1 + rs;
      double t = exp(-0.5 * hk * xs / (op * op)) / rs;  /* (1-rs)/(1+rs) = xs/op² */
      sum += GL20.w[i] * exp(ex) * (t - (1 + c * xs * (1 + d * xs)));
    }
  }
  return sum * half;
}

/* For 0.925 <= ρ < 1: ∫_ρ^1 φ₂(h,k;r) dr.  Substituting x = √(1-r²) the
 * integrand becomes (1/2π) e^{-(h-k)²/(2x²)} e^{-hk/(1+√(1-x²))}/√(1-x²),
 * which is sharp at x = 0 when h ≈ k; Genz subtracts its expansion
 * e^{-hk/2}(1 + c x² + c d x⁴), c = (4-hk)/8, d = (12-hk)/16, integrates
 * that in closed form and the smooth remainder by Gauss–Legendre. */
static double near_one(double h, double k, double r)
{
  double a = sqrt((1 - r) * (1 + r)), b = fabs(h - k), hk = h * k;
  double c = (4 - hk) / 8, d = (12 - hk) / 16;
  return (near_one_closed(a, b, hk, c, d) + near_one_rest(a, b, hk, c, d)) * INV_2PI;
}

/* Beyond |x| = 40 every normal probability involved is below 1e-349, i.e.
 * exactly 0 in double precision, so such limits are as good as infinite
 * (and clamping keeps h², hk finite). */
static double clamp_limit(double x)
{
  return x > 40 ? INFINITY : x < -40 ? -INFINITY : x;
}

static double clamp01(double p)
{
  return p < 0 ? 0.0 : p > 1 ? 1.0 : p;
}

double bvn_upper(double h, double k, double rho)
{
  if (isnan(h) || isnan(k) || isnan(rho) || fabs(rho) > 1)
    return NAN;
  h = clamp_limit(h);
  k = clamp_limit(k);
  if (h == INFINITY || k == INFINITY)
    return 0.0;
  if (h == -INFINITY)
    return gauss_sf(k);
  if (k == -INFINITY)
    return gauss_sf(h);
  if (rho == 1)
    return gauss_sf(fmax(h, k));
  if (rho == -1)
    return gauss_interval(h, -k);             /* Y = -X: h < X < -k */
  if (fabs(rho) < 0.925)
    return clamp01(upper_moderate(h, k, rho));
  if (rho > 0)
    return clamp01(gauss_sf(fmax(h, k)) - near_one(h, k, rho));
  /* ρ < 0: P(X>h, Y>k) = P(X>h) - P(X>h, -Y>-k), the latter with corr -ρ. */
  return clamp01(gauss_interval(h, -k) + near_one(h, -k, -rho));
}

double bvn_cdf(double h, double k, double rho)
{
  return bvn_upper(-h, -k, rho);
}
