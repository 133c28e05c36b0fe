/*
 * risk2.h — exact risks of a two-expert model over a normal input law.
 *
 * X = mean + factor·Z with Z ~ N(0, I_r) (the factor is d×r, row-major, and
 * may be singular or r = 0).  The router's logit difference s(x) = u·x + u0
 * sends x to expert 1 where s > 0; the soft gate of expert 1 is σ(s/τ)
 * (logistic).  Experts are affine, f_k(x) = β_k·x + c_k.  The target m(x) is
 * affine or a hard-routed two-expert teacher (h1 where t(x) = v·x + v0 > 0,
 * h2 where t < 0); the noise has standard deviation `noise`.
 *
 *   R_τ = E[(m − F_τ)²] + noise²,  F_τ = σ(s/τ) f1 + (1 − σ(s/τ)) f2,
 *   R_0 likewise with the hard gate, G(τ) = R_τ − R_0, κ = lim G(τ)/τ.
 *
 * Ties go to the lower index (MATH.md): where s = 0 the hard gate picks f1,
 * where t = 0 the teacher picks h1.  This matters only when a logit
 * difference is constant zero.  All functions compute the moments once
 * (O(d·r)), then integrate in one dimension (O(1) per node); they neither
 * keep state nor print, so they are safe from any thread given their own Rt.
 *
 * Rounding-level residuals are snapped to zero: a teacher whose split
 * coincides with the router's up to 1e-12 of the magnitudes that formed it
 * (t = 2.5·s with 2.5·u rounded, say) is exactly aligned, and a router whose
 * sd(s) is below 1e-12 of Σ_i |u_i F_i·| is constant.  Accuracy: R_0 and
 * R_τ to ~1e-15 of E[U²] + E[D²] (U = m − f2, D = f1 − f2); G/τ to ~1e-14
 * relative when the experts differ by O(1), in general to about
 * 1e-14·√(E[U²] E[D²])/(sd(s)·|G/τ|): the gap's integrand has an odd part
 * of size E[UD|s] that integrates to O(τ), so experts that differ by 1e-4
 * against an O(1) target leave ~1e-10.  Each call makes one O(d·r) pass over
 * the factor and ~350–1000 O(1) integrand evaluations.
 */
#ifndef MOE_RISK2_H
#define MOE_RISK2_H

#include "rt.h"

typedef struct Affine2 {
  const double *beta;   /* d coefficients */
  double c;
} Affine2;

typedef struct Risk2 {
  int d, r;                   /* input dimension (>= 1), factor rank (>= 0) */
  const double *mean;         /* d */
  const double *factor;       /* d×r row-major; may be NULL when r = 0 */
  const double *u;            /* router: s = u·x + u0 (d entries) */
  double u0;
  Affine2 f1, f2;             /* f1 wins where s > 0 */
  int teacher;                /* 0: m = target; 1: two-expert teacher */
  Affine2 target;             /* used when teacher == 0 */
  const double *v;            /* teacher: t = v·x + v0, h1 where t > 0 */
  double v0;
  Affine2 h1, h2;
  double noise;               /* σ_ε >= 0 */
} Risk2;

/* R_0 (hard routing) and an estimate of its absolute error (abserr may be
 * NULL).  RT_EINVAL for invalid input, or when s ≡ 0 on the support while
 * the experts differ there ("the router's two logits are equal
 * everywhere"); RT_ENOMEM. */
RtStatus risk2_hard(Rt *rt, const Risk2 *p, double *R0, double *abserr);

/* R_τ for 0 <= τ <= +inf (τ = 0 is R_0; τ = +inf the gate 1/2), computed
 * as R_0 + G(τ) so that it is exact to ~1e-15 of the problem's scale for
 * every τ.  Errors as risk2_hard (s ≡ 0 is allowed when τ > 0). */
RtStatus risk2_soft(Rt *rt, const Risk2 *p, double tau, double *Rtau,
                    double *abserr);

/* G(τ)/τ for 0 <= τ <= +inf, integrated directly (no R_τ − R_0
 * cancellation), so its relative accuracy does not degrade as τ → 0: κ at
 * τ = 0 and, to rounding, at τ = 1e-300 (or any subnormal τ); 0 at
 * τ = +inf.  Errors as risk2_hard. */
RtStatus risk2_gap(Rt *rt, const Risk2 *p, double tau, double *G_over_tau,
                   double *abserr);

/* κ = φ_s(0)·(2 ln 2·(E[UD|s=0+] − E[UD|s=0−]) − E[D²|s=0]) with
 * D = f1 − f2, U = m − f2: MATH.md's ∫(2 ln 2·D J − D²) dν in closed form.
 * 0 when Var(s) = 0 and s ≢ 0.  Errors as risk2_hard. */
RtStatus risk2_kappa(Rt *rt, const Risk2 *p, double *kappa);

#endif
