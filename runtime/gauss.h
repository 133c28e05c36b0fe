/*
 * gauss.h — the standard normal distribution in one and two dimensions.
 *
 * These are the scalar building blocks of the routing probabilities: the
 * density, the distribution function and its complement with full RELATIVE
 * precision deep in the tails, the log of the distribution function far
 * below where it underflows, the probability of a short or far-out interval
 * without cancellation, the quantile, and the bivariate normal distribution
 * function.  All are pure functions of their arguments (no state, no
 * allocation, no errors: NaN in gives NaN out), safe from any thread.
 */
#ifndef MOE_GAUSS_H
#define MOE_GAUSS_H

/* φ(x) = exp(-x²/2)/√(2π), within ~2 ulp for all x (x² is split so that the
 * exponent is exact; underflows to 0 beyond |x| ≈ 38.6). */
double gauss_pdf(double x);

/* Φ(x) = P(Z < x), within a few ulp RELATIVE for every x where the result is
 * a normal number (Φ(-30) ≈ 4.9e-198 keeps all its digits); subnormal below
 * x ≈ -37.5 with the precision a subnormal can hold, 0 below x ≈ -38.5. */
double gauss_cdf(double x);

/* 1 - Φ(x) = Φ(-x), same accuracy (no cancellation for large x). */
double gauss_sf(double x);

/* log Φ(x), accurate for all x: log of gauss_cdf where that is a normal
 * number, an asymptotic series for x < -30, and -sf(x) (to first order) for
 * large positive x.  -INFINITY only when x²/2 overflows (x < -1.3e154). */
double gauss_log_cdf(double x);

/* log of Mills' ratio, log(Φ(-x)/φ(x)), accurate for every x: a
 * continued fraction for x >= 5 (where Φ(-x) and φ(x) underflow together),
 * the plain ratio in between, and logs for x <= -5 (where the ratio is
 * about √(2π)·e^{x²/2} and overflows). */
double gauss_log_mills(double x);

/* P(a < Z < b) for a <= b, with full relative precision both for tiny widths
 * (b - a = 1e-12 gives φ·(b-a) to ~2 ulp) and for intervals deep in one tail.
 * Returns 0 when a >= b; a = -INFINITY and b = +INFINITY are allowed. */
double gauss_interval(double a, double b);

/* Φ⁻¹(p) for 0 < p < 1 (Wichura's AS 241 rational approximation polished
 * by one Halley step against gauss_cdf: ~1 ulp relative, also for p down to
 * the smallest subnormal).  Returns -INFINITY at 0, +INFINITY at 1, NaN
 * outside [0, 1].  For p near 1 the answer is limited by the spacing of p;
 * use -gauss_quantile(q) with q = 1 - p computed exactly when you can. */
double gauss_quantile(double p);

/* AS 241 alone, without the polishing step: relative error ~1e-16 but
 * about three times faster than gauss_quantile; for inner loops (the
 * multivariate normal integrand).  Same conventions for 0, 1 and NaN. */
double gauss_quantile_fast(double p);

/* P(Z1 < h, Z2 < k) for a standard bivariate normal with correlation rho in
 * [-1, 1] (NaN outside).  Genz's 2004 method (Drezner–Wesolowsky integral
 * in asin ρ for |ρ| < 0.925, the expanded form around |ρ| = 1 otherwise);
 * absolute error below ~1e-15.  |rho| = 1 and infinite h, k are exact. */
double bvn_cdf(double h, double k, double rho);

/* P(Z1 > h, Z2 > k) = bvn_cdf(-h, -k, rho). */
double bvn_upper(double h, double k, double rho);

#endif
