/*
 * test_risk2.c — the two-expert exact risks against independent computations.
 *
 * The references never use risk2's machinery (loadings conditioned on s,
 * truncated moments inside an integral): plain Monte Carlo over Z with a
 * splitmix64/Box–Muller generator written here; a direct 2-D quadrature
 * (quad of quad) over both coordinates of Z for d = 2, with the squared
 * error evaluated pointwise in x; conditional moments given s = 0 from
 * Σ = F Fᵀ for the boundary integrals ∫ X Y dν; and unconditional closed
 * forms for the constant-gate and affine cases.  A counting allocator
 * checks that nothing leaks and that a failed allocation is reported.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gauss.h"
#include "quad.h"
#include "risk2.h"
#include "rt.h"
#include "tap.h"
#include "testalloc.h"

#define PI 3.14159265358979323846
#define LN2 0.69314718055994530942
#define MAXD 8

static void init_rt(Rt *rt) { counting_rt(rt); }

/* ---------------------------------------------------- random numbers */

typedef struct Sm {
  uint64_t s;
  int have;
  double spare;
} Sm;

static uint64_t sm_next(Sm *g)
{
  uint64_t z = (g->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double sm_unif(Sm *g)
{
  return ((double)(sm_next(g) >> 11) + 0.5) * 0x1p-53;
}

static double sm_normal(Sm *g)
{
  if (g->have) {
    g->have = 0;
    return g->spare;
  }
  double r = sqrt(-2 * log(sm_unif(g))), th = 2 * PI * sm_unif(g);
  g->spare = r * sin(th);
  g->have = 1;
  return r * cos(th);
}

/* ------------------------------------------------------------ problems */

/* A problem with its own storage (the Risk2 points into it). */
typedef struct Prob {
  int d, r;
  double mean[MAXD], F[MAXD * MAXD], u[MAXD], v[MAXD];
  double b1[MAXD], b2[MAXD], bt[MAXD], g1[MAXD], g2[MAXD];
  Risk2 p;
} Prob;

static void bind(Prob *q)
{
  Risk2 *p = &q->p;
  p->d = q->d, p->r = q->r;
  p->mean = q->mean, p->factor = q->F, p->u = q->u, p->v = q->v;
  p->f1.beta = q->b1, p->f2.beta = q->b2, p->target.beta = q->bt;
  p->h1.beta = q->g1, p->h2.beta = q->g2;
}

/* Generic parameters from a seed: an asymmetric router (E s != 0), experts
 * and target/teacher of order one, noise 0.3. */
static void make_prob(Prob *q, int d, int r, int teacher, uint64_t seed)
{
  Sm g = {seed, 0, 0};
  memset(q, 0, sizeof *q);
  q->d = d, q->r = r;
  for (int i = 0; i < d; i++) {
    q->mean[i] = 0.3 * sm_normal(&g);
    for (int j = 0; j < r; j++)
      q->F[i * r + j] = sm_normal(&g) / sqrt(r);
    q->u[i] = sm_normal(&g), q->v[i] = sm_normal(&g);
    q->b1[i] = 0.7 * sm_normal(&g), q->b2[i] = 0.7 * sm_normal(&g);
    q->bt[i] = 0.7 * sm_normal(&g);
    q->g1[i] = 0.7 * sm_normal(&g), q->g2[i] = 0.7 * sm_normal(&g);
  }
  Risk2 *p = &q->p;
  p->u0 = 0.3 + 0.2 * sm_normal(&g), p->v0 = 0.3 * sm_normal(&g);
  p->f1.c = 0.5 * sm_normal(&g), p->f2.c = 0.5 * sm_normal(&g);
  p->target.c = 0.5 * sm_normal(&g);
  p->h1.c = 0.5 * sm_normal(&g), p->h2.c = 0.5 * sm_normal(&g);
  p->teacher = teacher;
  p->noise = 0.3;
  bind(q);
}

/* A teacher aligned with the router: t = c·s (so with c = 2.5 the rounded
 * v = 2.5·u is aligned only up to rounding). */
static void align_teacher(Prob *q, double c)
{
  for (int i = 0; i < q->d; i++)
    q->v[i] = c * q->u[i];
  q->p.v0 = c * q->p.u0;
}

/* The teacher's experts equal the model's: h_k = f_k, so J = D. */
static void copy_experts(Prob *q)
{
  memcpy(q->g1, q->b1, sizeof q->g1);
  memcpy(q->g2, q->b2, sizeof q->g2);
  q->p.h1.c = q->p.f1.c, q->p.h2.c = q->p.f2.c;
}

static double dotd(const double *a, const double *b, int d)
{
  double s = 0;
  for (int i = 0; i < d; i++)
    s += a[i] * b[i];
  return s;
}

/* Pointwise values at x: router s, teacher t, experts, target m. */
typedef struct Pt {
  double s, t, f1, f2, m;
} Pt;

static Pt eval_at(const Risk2 *p, const double *x)
{
  Pt e;
  int d = p->d;
  e.s = dotd(p->u, x, d) + p->u0;
  e.f1 = dotd(p->f1.beta, x, d) + p->f1.c;
  e.f2 = dotd(p->f2.beta, x, d) + p->f2.c;
  e.t = p->teacher ? dotd(p->v, x, d) + p->v0 : 0;
  if (!p->teacher)
    e.m = dotd(p->target.beta, x, d) + p->target.c;
  else
    e.m = e.t >= 0 ? dotd(p->h1.beta, x, d) + p->h1.c : dotd(p->h2.beta, x, d) + p->h2.c;
  return e;
}

static void x_of_z(const Risk2 *p, const double *z, double *x)
{
  for (int i = 0; i < p->d; i++) {
    x[i] = p->mean[i];
    for (int j = 0; j < p->r; j++)
      x[i] += p->factor[i * p->r + j] * z[j];
  }
}

static double logistic(double x)
{
  return 1 / (1 + exp(-x));
}

/* ---------------------------------------------- Σ-based references */

/* aᵀ F Fᵀ b, through Σ = F Fᵀ formed explicitly. */
static double sig_form(const Risk2 *p, const double *a, const double *b)
{
  int d = p->d, r = p->r;
  double s = 0;
  for (int i = 0; i < d; i++)
    for (int k = 0; k < d; k++) {
      double sik = 0;
      for (int j = 0; j < r; j++)
        sik += p->factor[i * r + j] * p->factor[k * r + j];
      s += a[i] * sik * b[k];
    }
  return s;
}

static void vdiff(const double *a, const double *b, double *out, int d)
{
  for (int i = 0; i < d; i++)
    out[i] = a[i] - b[i];
}

/* ∫ X Y dν = φ_s(0)·E[XY | s = 0] for affine X = wx·x + cx, Y = wy·x + cy:
 * the textbook Gaussian conditioning with Σ. */
static double nu_xy(const Risk2 *p, const double *wx, double cx, const double *wy,
                    double cy)
{
  int d = p->d;
  double vs = sig_form(p, p->u, p->u), ms = dotd(p->u, p->mean, d) + p->u0;
  double cxs = sig_form(p, wx, p->u), cys = sig_form(p, wy, p->u);
  double ex = dotd(wx, p->mean, d) + cx - cxs / vs * ms;
  double ey = dotd(wy, p->mean, d) + cy - cys / vs * ms;
  double cov = sig_form(p, wx, wy) - cxs * cys / vs;
  return exp(-0.5 * ms * ms / vs) / sqrt(2 * PI * vs) * (ex * ey + cov);
}

/* ∫ D² dν and, for a teacher, ∫ D J dν with J = h1 − h2. */
static double nu_dd(const Risk2 *p)
{
  double w[MAXD];
  vdiff(p->f1.beta, p->f2.beta, w, p->d);
  return nu_xy(p, w, p->f1.c - p->f2.c, w, p->f1.c - p->f2.c);
}

static double nu_dj(const Risk2 *p)
{
  double w[MAXD], wj[MAXD];
  vdiff(p->f1.beta, p->f2.beta, w, p->d);
  vdiff(p->h1.beta, p->h2.beta, wj, p->d);
  return nu_xy(p, w, p->f1.c - p->f2.c, wj, p->h1.c - p->h2.c);
}

/* E[(U − g D)²] for an affine target and a constant gate g:
 * (E[U − gD])² + Var(U − gD), Var through Σ. */
static double const_gate_risk(const Risk2 *p, double g)
{
  int d = p->d;
  double w[MAXD];
  for (int i = 0; i < d; i++)
    w[i] = p->target.beta[i] - p->f2.beta[i] - g * (p->f1.beta[i] - p->f2.beta[i]);
  double c = p->target.c - p->f2.c - g * (p->f1.c - p->f2.c);
  double mean = dotd(w, p->mean, d) + c;
  return mean * mean + sig_form(p, w, w) + p->noise * p->noise;
}

/* ------------------------------------------------------- Monte Carlo */

#define NT 4

typedef struct Mc {
  double R0, se0, R[NT], se[NT], G[NT], seG[NT];
} Mc;

static void mc_stat(double s, double ss, long n, double *mean, double *se)
{
  *mean = s / n;
  *se = sqrt(fmax(ss / n - *mean * *mean, 0) / (n - 1));
}

/* Plain Monte Carlo of R_0, R_τ and the paired G(τ) = R_τ − R_0 (common
 * draws), n samples of Z. */
static void mc_run(const Risk2 *p, const double *tau, long n, uint64_t seed, Mc *o)
{
  Sm g = {seed, 0, 0};
  double z[MAXD], x[MAXD], s0 = 0, ss0 = 0, s[NT] = {0}, ss[NT] = {0}, sg[NT] = {0},
         ssg[NT] = {0};
  for (long i = 0; i < n; i++) {
    for (int j = 0; j < p->r; j++)
      z[j] = sm_normal(&g);
    x_of_z(p, z, x);
    Pt e = eval_at(p, x);
    double l0 = e.m - (e.s >= 0 ? e.f1 : e.f2);
    l0 *= l0;
    s0 += l0, ss0 += l0 * l0;
    for (int k = 0; k < NT; k++) {
      double gk = logistic(e.s / tau[k]), l = e.m - gk * e.f1 - (1 - gk) * e.f2;
      l *= l;
      s[k] += l, ss[k] += l * l, sg[k] += l - l0, ssg[k] += (l - l0) * (l - l0);
    }
  }
  double n2 = p->noise * p->noise;
  mc_stat(s0, ss0, n, &o->R0, &o->se0);
  o->R0 += n2;
  for (int k = 0; k < NT; k++) {
    mc_stat(s[k], ss[k], n, &o->R[k], &o->se[k]);
    o->R[k] += n2;
    mc_stat(sg[k], ssg[k], n, &o->G[k], &o->seG[k]);
  }
}

static void check_mc(const char *name, const Risk2 *p, uint64_t seed)
{
  static const double tau[NT] = {1.0, 0.1, 0.01, 1e300};
  Rt rt;
  Mc mc;
  double R, G;
  init_rt(&rt);
  mc_run(p, tau, 2000000, seed, &mc);
  RtStatus st = risk2_hard(&rt, p, &R, NULL);
  ok(st == RT_OK && fabs(R - mc.R0) <= 4 * mc.se0, "%s: R_0 = %.8f vs MC %.8f +- %.2g",
     name, R, mc.R0, mc.se0);
  for (int k = 0; k < NT; k++) {
    st = risk2_soft(&rt, p, tau[k], &R, NULL);
    ok(st == RT_OK && fabs(R - mc.R[k]) <= 4 * mc.se[k],
       "%s: R_tau(%g) = %.8f vs MC %.8f +- %.2g", name, tau[k], R, mc.R[k], mc.se[k]);
    if (tau[k] > 1)
      continue;
    st = risk2_gap(&rt, p, tau[k], &G, NULL);
    ok(st == RT_OK && fabs(G * tau[k] - mc.G[k]) <= 4 * mc.seG[k],
       "%s: G(%g) = %.8g vs paired MC %.8g +- %.2g", name, tau[k], G * tau[k], mc.G[k],
       mc.seG[k]);
  }
}

static void test_monte_carlo(void)
{
  Prob q;
  make_prob(&q, 1, 1, 0, 11);
  check_mc("affine d=1", &q.p, 101);
  make_prob(&q, 3, 2, 0, 12);
  check_mc("affine d=3 r=2", &q.p, 102);
  make_prob(&q, 3, 3, 1, 13);
  align_teacher(&q, 2.5);
  check_mc("aligned teacher d=3", &q.p, 103);
  make_prob(&q, 5, 3, 1, 14);
  check_mc("crossing teacher d=5 r=3", &q.p, 104);
}

/* ------------------------------------------- direct 2-D quadrature */

/* ∫∫ φ(z1) φ(z2) e(x(z)) dz2 dz1 for d = r = 2, with e the squared error at
 * temperature τ (mode 0; τ = 0 hard) or the gap ((m − F_τ)² − (m − F_0)²)/τ
 * (mode 1) formed pointwise as (H − g) D (2m − F_τ − F_0)/τ.  The inner
 * variable is z2 minus the root of s (the gate's layer sits at 0, where the
 * integrator resolves narrow features), with breakpoints there, at the
 * gate's scales and at the root of t; the outer variable is z1 minus the
 * crossing of the two lines, with breakpoints at the scales on which the
 * layer passes the teacher's split. */
typedef struct Q2 {
  Rt *rt;
  const Risk2 *p;
  double tau, z1, z2s, z1c, gs[2], ms, gt[2], mt;
  int mode, fail;
} Q2;

/* The integrand at z = (z1, root of s + w); s itself is gs[1]·w, exact
 * relative to the layer (through x it would carry a rounding error of
 * ~1e-16, which at τ = 1e-10 is 1e-6 of the layer). */
static double q2_point(const Q2 *c, double w)
{
  double z[2] = {c->z1, c->z2s + w}, x[2];
  x_of_z(c->p, z, x);
  Pt e = eval_at(c->p, x);
  double s = c->gs[1] * w, H = s >= 0, g = c->tau == 0 ? H : logistic(s / c->tau);
  double F0 = H ? e.f1 : e.f2, Ft = g * e.f1 + (1 - g) * e.f2;
  if (c->mode == 0)
    return (e.m - Ft) * (e.m - Ft);
  double hg = H ? 1 / (1 + exp(s / c->tau)) : -1 / (1 + exp(-s / c->tau));
  return hg * (e.f1 - e.f2) * (2 * e.m - Ft - F0) / c->tau;
}

static double q2_inner(double w, void *ctx)
{
  const Q2 *c = ctx;
  return gauss_pdf(c->z2s + w) * q2_point(c, w);
}

/* Breakpoints c ± w·8^j up to 1 (and c). */
static int add_layer(double *br, int n, double c, double w)
{
  br[n++] = c;
  for (double h = w; w > 0 && h < 1 && n < 60; h *= 8)
    br[n++] = c - h, br[n++] = c + h;
  return n;
}

static double q2_outer(double y, void *ctx)
{
  Q2 *c = ctx;
  double br[64];
  int n = 0;
  QuadOpts o = {1e-13, 1e-12, 4000};
  QuadResult res;
  c->z1 = c->z1c + y;
  c->z2s = -(c->ms + c->gs[0] * c->z1) / c->gs[1];
  n = add_layer(br, n, 0, c->tau / fabs(c->gs[1]));
  if (c->p->teacher)
    n = add_layer(br, n, -(c->mt + c->gt[0] * c->z1) / c->gt[1] - c->z2s, 0);
  if (quad_integrate(c->rt, q2_inner, c, -INFINITY, INFINITY, br, n, &o, &res)) {
    c->fail++;
    return NAN;
  }
  return gauss_pdf(c->z1) * res.value;
}

static double quad2(const Risk2 *p, double tau, int mode)
{
  Rt rt;
  Q2 c = {&rt, p, tau, 0, 0, 0, {0, 0}, 0, {0, 0}, 0, mode, 0};
  double br[64];
  int n = 0;
  QuadOpts o = {1e-13, 1e-11, 4000};
  QuadResult res;
  init_rt(&rt);
  for (int j = 0; j < 2; j++) {
    c.gs[j] = p->u[0] * p->factor[j] + p->u[1] * p->factor[2 + j];
    c.gt[j] = p->teacher ? p->v[0] * p->factor[j] + p->v[1] * p->factor[2 + j] : 0;
  }
  c.ms = dotd(p->u, p->mean, 2) + p->u0;
  c.mt = p->teacher ? dotd(p->v, p->mean, 2) + p->v0 : 0;
  double slope = p->teacher ? c.gs[0] / c.gs[1] - c.gt[0] / c.gt[1] : 0;
  if (fabs(slope) > 1e-9) {   /* the two lines cross at z1c */
    c.z1c = (c.mt / c.gt[1] - c.ms / c.gs[1]) / slope;
    n = add_layer(br, n, 0, tau / fabs(c.gs[1]) / fabs(slope));
  }
  quad_integrate(&rt, q2_outer, &c, -INFINITY, INFINITY, br, n, &o, &res);
  return c.fail ? NAN : res.value + (mode == 0 ? p->noise * p->noise : 0);
}

static void check_quad2(const char *name, const Risk2 *p)
{
  static const double taus[] = {1.0, 0.05, 1e-3, 1e-6, 1e-10};
  Rt rt;
  double R, G, R0 = quad2(p, 0, 0), R0c;
  init_rt(&rt);
  ok(risk2_hard(&rt, p, &R0c, NULL) == RT_OK, "%s: hard runs", name);
  ok_near(R0c, R0, 1e-10, "%s: R_0 vs 2-D quadrature", name);
  for (size_t k = 0; k < sizeof taus / sizeof *taus; k++) {
    double Gq = quad2(p, taus[k], 1);
    risk2_gap(&rt, p, taus[k], &G, NULL);
    ok_rel(G, Gq, 1e-9, "%s: G/tau at tau = %g vs 2-D quadrature", name, taus[k]);
    risk2_soft(&rt, p, taus[k], &R, NULL);
    ok_near(R, R0 + taus[k] * Gq, 1e-10, "%s: R_tau at tau = %g vs 2-D quadrature", name,
            taus[k]);
  }
  double Rq = quad2(p, 0.3, 0);
  risk2_soft(&rt, p, 0.3, &R, NULL);
  ok_near(R, Rq, 1e-10, "%s: R_tau(0.3) vs direct 2-D quadrature of the risk", name);
}

static void test_quad2(void)
{
  Prob q;
  make_prob(&q, 2, 2, 1, 21);
  check_quad2("crossing teacher d=2", &q.p);
  make_prob(&q, 2, 2, 1, 22);
  align_teacher(&q, 1.0);
  check_quad2("aligned teacher d=2", &q.p);
  make_prob(&q, 2, 2, 0, 23);
  check_quad2("affine d=2", &q.p);
  make_prob(&q, 2, 2, 1, 24);             /* split turned by 1e-4 rad: a layer */
  align_teacher(&q, 1.0);                 /* of width ~1e-4 in s, crossed by */
  q.v[0] += 1e-4 * q.u[1], q.v[1] -= 1e-4 * q.u[0];   /* the gate's for small tau */
  q.p.v0 += dotd(q.u, q.mean, 2) - dotd(q.v, q.mean, 2) + 3e-5;
  check_quad2("nearly aligned d=2", &q.p);
}

/* --------------------------------------------------- κ and the limit */

/* G/τ → κ: the error shrinks at least linearly (G = κτ + κ₂τ² + ...;
 * κ₂ = 0 when the teacher equals the model, where the gap's integrand is
 * even in s), is 1e-8 at τ = 1e-10, and τ = 1e-300 gives κ itself; the
 * linear model fitted at τ = 1e-6 predicts τ = 1e-8 to ~κ₃·1e-14. */
static void check_limit(const char *name, const Risk2 *p, double kappa_ref)
{
  Rt rt;
  double k, g4, g6, g8, g10, g300;
  init_rt(&rt);
  ok(risk2_kappa(&rt, p, &k) == RT_OK, "%s: kappa runs", name);
  ok_rel(k, kappa_ref, 1e-12, "%s: kappa = %.12g vs boundary integral", name, k);
  risk2_gap(&rt, p, 1e-4, &g4, NULL);
  risk2_gap(&rt, p, 1e-6, &g6, NULL);
  risk2_gap(&rt, p, 1e-8, &g8, NULL);
  risk2_gap(&rt, p, 1e-10, &g10, NULL);
  risk2_gap(&rt, p, 1e-300, &g300, NULL);
  double ratio = (g6 - k) / (g4 - k);
  ok(ratio > 0 && ratio < 0.012, "%s: |G/tau - kappa| shrinks (at least) linearly: "
     "ratio %.4g from 1e-4 to 1e-6", name, ratio);
  ok_rel(g8, k + (g6 - k) * 1e-2, 1e-12, "%s: G/tau(1e-8) on the linear model", name);
  ok_rel(g10, k, 1e-8, "%s: G/tau(1e-10) = kappa to 1e-8", name);
  ok_rel(g300, k, 1e-14, "%s: G/tau(1e-300) = kappa", name);
}

static void test_kappa(void)
{
  Prob q;
  Rt rt;
  double k, R0;
  init_rt(&rt);

  make_prob(&q, 3, 3, 0, 31);
  check_limit("affine", &q.p, -nu_dd(&q.p));
  risk2_kappa(&rt, &q.p, &k);
  ok(k < 0, "affine target: kappa < 0 (%g)", k);

  make_prob(&q, 3, 3, 1, 32);
  align_teacher(&q, 1.0);
  copy_experts(&q);
  check_limit("aligned h=f", &q.p, (2 * LN2 - 1) * nu_dd(&q.p));
  risk2_kappa(&rt, &q.p, &k);
  ok(k > 0, "aligned teacher: kappa > 0 (%g)", k);
  risk2_hard(&rt, &q.p, &R0, NULL);
  ok_near(R0, q.p.noise * q.p.noise, 1e-14, "aligned teacher with h = f: R_0 = noise^2");

  make_prob(&q, 4, 4, 1, 33);
  align_teacher(&q, 2.5);   /* rounded: aligned only to rounding */
  check_limit("aligned t=2.5s, h!=f", &q.p, 2 * LN2 * nu_dj(&q.p) - nu_dd(&q.p));

  make_prob(&q, 3, 3, 1, 34);
  align_teacher(&q, -1.5);  /* h1 where s < 0: J = h1 - h2 flips sign */
  check_limit("anti-aligned t=-1.5s", &q.p, -2 * LN2 * nu_dj(&q.p) - nu_dd(&q.p));

  make_prob(&q, 5, 3, 1, 35);
  check_limit("crossing", &q.p, -nu_dd(&q.p));

  make_prob(&q, 3, 3, 1, 36);
  align_teacher(&q, 1.0);
  q.p.v0 += 0.4;            /* parallel, offset: J = 0 on the router's split */
  check_limit("parallel offset", &q.p, -nu_dd(&q.p));
}

/* ------------------------------------------------------- extremes */

static void test_extremes(void)
{
  Prob q;
  Rt rt;
  double R, R0, G, k, e;
  init_rt(&rt);
  make_prob(&q, 3, 2, 0, 41);
  risk2_hard(&rt, &q.p, &R0, NULL);
  ok(risk2_soft(&rt, &q.p, 1e300, &R, &e) == RT_OK && isfinite(e), "tau = 1e300 runs");
  ok_near(R, const_gate_risk(&q.p, 0.5), 1e-13, "tau = 1e300: the gate is 1/2 everywhere");
  ok(risk2_soft(&rt, &q.p, INFINITY, &R, NULL) == RT_OK, "tau = inf runs");
  ok_near(R, const_gate_risk(&q.p, 0.5), 1e-13, "tau = inf: the gate is 1/2");
  ok(risk2_gap(&rt, &q.p, 1e300, &G, NULL) == RT_OK && isfinite(G), "G/tau at 1e300 finite");
  ok_rel(G, (const_gate_risk(&q.p, 0.5) - R0) / 1e300, 1e-10, "G/tau at 1e300 = (R_1/2 - R_0)/tau");
  risk2_soft(&rt, &q.p, 1e-300, &R, NULL);
  ok_near(R, R0, 1e-15, "tau = 1e-300: R_tau = R_0");
  risk2_gap(&rt, &q.p, 0, &G, NULL);
  risk2_kappa(&rt, &q.p, &k);
  ok(G == k, "G/tau at tau = 0 is kappa");
  risk2_soft(&rt, &q.p, 0, &R, NULL);
  ok(R == R0, "R_tau at tau = 0 is R_0");

  make_prob(&q, 3, 3, 1, 42);
  align_teacher(&q, 1.0);
  ok(risk2_gap(&rt, &q.p, 5e-324, &G, NULL) == RT_OK && isfinite(G),
     "aligned teacher, tau = 5e-324 (subnormal): finite");
  risk2_kappa(&rt, &q.p, &k);
  ok_rel(G, k, 1e-14, "  and equal to kappa");
}

/* ------------------------------------------------- degenerate inputs */

static void test_equal_experts(void)
{
  Prob q;
  Rt rt;
  double R, R0, G, k;
  init_rt(&rt);
  make_prob(&q, 3, 3, 1, 51);
  memcpy(q.b2, q.b1, sizeof q.b1);
  q.p.f2.c = q.p.f1.c;
  risk2_hard(&rt, &q.p, &R0, NULL);
  int zero = 1, same = 1;
  for (double tau = 1; tau > 1e-12; tau *= 1e-3) {
    zero &= risk2_gap(&rt, &q.p, tau, &G, NULL) == RT_OK && G == 0;
    same &= risk2_soft(&rt, &q.p, tau, &R, NULL) == RT_OK && fabs(R - R0) <= 1e-15 * R0;
  }
  ok(zero, "D = 0: G = 0 for every tau");
  ok(same, "D = 0: R_tau = R_0 for every tau");
  ok(risk2_kappa(&rt, &q.p, &k) == RT_OK && k == 0, "D = 0: kappa = 0");
}

/* u ⟂ range F: s is the constant u·μ + u0. */
static void make_const_router(Prob *q, double s0)
{
  make_prob(q, 2, 1, 0, 61);
  q->F[0] = 1.3, q->F[1] = 0;            /* range F = e1 */
  q->u[0] = 0, q->u[1] = 1.0;
  q->p.u0 = s0 - q->mean[1];
}

static void test_const_router(void)
{
  Prob q;
  Rt rt;
  double R, G, k;
  init_rt(&rt);
  make_const_router(&q, 1.0);
  ok(risk2_hard(&rt, &q.p, &R, NULL) == RT_OK, "s = 1: hard runs");
  ok_near(R, const_gate_risk(&q.p, 1.0), 1e-14, "s = 1: R_0 = E[(m - f1)^2]");
  double taus[] = {1.0, 0.1, 1e-300, 1e300};
  for (int k2 = 0; k2 < 4; k2++) {
    ok(risk2_soft(&rt, &q.p, taus[k2], &R, NULL) == RT_OK && isfinite(R), "s = 1: soft runs");
    ok_near(R, const_gate_risk(&q.p, logistic(1.0 / taus[k2])), 1e-14,
            "s = 1: R_tau(%g) has the constant gate", taus[k2]);
  }
  ok(risk2_gap(&rt, &q.p, 1.0, &G, NULL) == RT_OK, "s = 1: gap runs");
  ok_rel(G, const_gate_risk(&q.p, logistic(1.0)) - const_gate_risk(&q.p, 1.0), 1e-12,
         "s = 1: G(1) in closed form");
  ok(risk2_gap(&rt, &q.p, 1e-300, &G, NULL) == RT_OK && G == 0, "s = 1: G/tau(1e-300) = 0");
  ok(risk2_kappa(&rt, &q.p, &k) == RT_OK && k == 0, "s = 1: kappa = 0");

  make_const_router(&q, 0.0);
  ok(risk2_hard(&rt, &q.p, &R, NULL) == RT_EINVAL, "s = 0: hard is an error");
  ok(strstr(rt.msg, "logits are equal everywhere") != NULL, "  message: %s", rt.msg);
  ok(risk2_kappa(&rt, &q.p, &k) == RT_EINVAL, "s = 0: kappa is an error");
  ok(risk2_soft(&rt, &q.p, 0.2, &R, NULL) == RT_OK, "s = 0: soft runs");
  ok_near(R, const_gate_risk(&q.p, 0.5), 1e-14, "s = 0: the gate is 1/2");
  memcpy(q.b2, q.b1, sizeof q.b1);
  q.p.f2.c = q.p.f1.c;
  ok(risk2_hard(&rt, &q.p, &R, NULL) == RT_OK && risk2_kappa(&rt, &q.p, &k) == RT_OK &&
         k == 0, "s = 0 with equal experts: no error, kappa = 0");

  make_prob(&q, 2, 0, 0, 62);           /* r = 0: X = mean */
  double x = q.mean[0] * q.u[0] + q.mean[1] * q.u[1] + q.p.u0;
  Pt e = eval_at(&q.p, q.mean);
  double err = e.m - (x >= 0 ? e.f1 : e.f2);
  ok(risk2_hard(&rt, &q.p, &R, NULL) == RT_OK, "r = 0 runs");
  ok_near(R, err * err + 0.09, 1e-14, "r = 0: the squared error at the mean");
}

/* A teacher with t constant on the support is its h1 or h2 as a target. */
static void check_const_teacher(double t0)
{
  Prob q, a;
  Rt rt;
  double x[4], y[4];
  init_rt(&rt);
  make_prob(&q, 2, 1, 1, 71);
  q.F[0] = 1.1, q.F[1] = -0.4;
  q.v[0] = 0.4, q.v[1] = 1.1;            /* v ⟂ (1.1, -0.4) */
  q.p.v0 = t0 - dotd(q.v, q.mean, 2);
  a = q;
  bind(&a);
  a.p.teacher = 0;
  memcpy(a.bt, t0 >= 0 ? q.g1 : q.g2, sizeof a.bt);   /* a tie is h1 */
  a.p.target.c = t0 >= 0 ? q.p.h1.c : q.p.h2.c;
  risk2_hard(&rt, &q.p, &x[0], NULL), risk2_hard(&rt, &a.p, &y[0], NULL);
  risk2_soft(&rt, &q.p, 0.1, &x[1], NULL), risk2_soft(&rt, &a.p, 0.1, &y[1], NULL);
  risk2_gap(&rt, &q.p, 1e-5, &x[2], NULL), risk2_gap(&rt, &a.p, 1e-5, &y[2], NULL);
  risk2_kappa(&rt, &q.p, &x[3]), risk2_kappa(&rt, &a.p, &y[3]);
  for (int k = 0; k < 4; k++)
    ok_rel(x[k], y[k], 1e-13, "teacher t = %g constant: quantity %d as the affine target", t0, k);
}

static void test_errors(void)
{
  Prob q;
  Rt rt;
  double R;
  init_rt(&rt);
  make_prob(&q, 2, 2, 1, 81);
  ok(risk2_hard(&rt, NULL, &R, NULL) == RT_EINVAL, "NULL problem: %s", rt.msg);
  q.p.d = 0;
  ok(risk2_hard(&rt, &q.p, &R, NULL) == RT_EINVAL, "d = 0: %s", rt.msg);
  bind(&q);
  q.p.v = NULL;
  ok(risk2_kappa(&rt, &q.p, &R) == RT_EINVAL, "teacher without v: %s", rt.msg);
  bind(&q);
  q.p.noise = -1;
  ok(risk2_hard(&rt, &q.p, &R, NULL) == RT_EINVAL, "negative noise: %s", rt.msg);
  q.p.noise = 0.3;
  ok(risk2_soft(&rt, &q.p, -1, &R, NULL) == RT_EINVAL, "tau < 0: %s", rt.msg);
  ok(risk2_gap(&rt, &q.p, NAN, &R, NULL) == RT_EINVAL, "tau NaN: %s", rt.msg);
  q.mean[0] = NAN;
  ok(risk2_hard(&rt, &q.p, &R, NULL) == RT_EINVAL, "NaN input: %s", rt.msg);
  q.mean[0] = 0.1;
  fail_after = 0;
  ok(risk2_gap(&rt, &q.p, 0.1, &R, NULL) == RT_ENOMEM, "out of memory for the moments");
  fail_after = 1;
  ok(risk2_gap(&rt, &q.p, 0.1, &R, NULL) == RT_ENOMEM, "out of memory in the quadrature");
  fail_after = -1;
  ok(live_blocks == 0, "no block leaks (%ld live)", live_blocks);
}

/* --------------------------------------------------------- large d */

/* d = r = 1000, affine target: R_0 against the unconditional truncated
 * moments E[X Y 1{s ≥ 0}] (loadings formed here), κ against −∫D²dν from
 * the same loadings; prints the time per call. */
typedef struct Big {
  int d, r;
  double *mean, *F, *u, *b1, *b2, *bt;
} Big;

static double *loading(const Big *b, const double *w, const double *w2)
{
  double *g = calloc((size_t)b->r, sizeof *g);
  for (int i = 0; i < b->d; i++) {
    double wi = w[i] - (w2 ? w2[i] : 0);
    for (int j = 0; j < b->r; j++)
      g[j] += wi * b->F[(size_t)i * b->r + j];
  }
  return g;
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void big_fill(Big *b, Risk2 *p)
{
  Sm g = {91, 0, 0};
  size_t n = (size_t)b->d;
  b->mean = malloc(n * sizeof(double)), b->u = malloc(n * sizeof(double));
  b->b1 = malloc(n * sizeof(double)), b->b2 = malloc(n * sizeof(double));
  b->bt = malloc(n * sizeof(double)), b->F = malloc(n * b->r * sizeof(double));
  for (size_t i = 0; i < n; i++) {
    b->mean[i] = 0.3 * sm_normal(&g) / sqrt(n), b->u[i] = sm_normal(&g) / sqrt(n);
    b->b1[i] = sm_normal(&g) / sqrt(n), b->b2[i] = sm_normal(&g) / sqrt(n);
    b->bt[i] = sm_normal(&g) / sqrt(n);
    for (int j = 0; j < b->r; j++)
      b->F[i * b->r + j] = sm_normal(&g);
  }
  memset(p, 0, sizeof *p);
  p->d = b->d, p->r = b->r, p->mean = b->mean, p->factor = b->F, p->u = b->u;
  p->u0 = 0.2, p->f1 = (Affine2){b->b1, 0.1}, p->f2 = (Affine2){b->b2, -0.2};
  p->target = (Affine2){b->bt, 0.3}, p->noise = 0.5;
}

static void test_big(void)
{
  Big b = {1000, 1000, NULL, NULL, NULL, NULL, NULL, NULL};
  Risk2 p;
  Rt rt;
  double R0, G, k, t[4], e;
  init_rt(&rt);
  big_fill(&b, &p);
  double *gs = loading(&b, b.u, NULL), *gd = loading(&b, b.b1, b.b2);
  double *gu = loading(&b, b.bt, b.b2);
  int r = b.r;
  double vs = dotd(gs, gs, r), sd = sqrt(vs), ms = dotd(b.u, b.mean, b.d) + p.u0;
  double mD = dotd(b.b1, b.mean, b.d) - dotd(b.b2, b.mean, b.d) + 0.3;
  double mU = dotd(b.bt, b.mean, b.d) - dotd(b.b2, b.mean, b.d) + 0.5;
  double bD = dotd(gd, gs, r) / sd, bU = dotd(gu, gs, r) / sd, al = ms / sd;
  double P = gauss_cdf(al), ph = gauss_pdf(al);
  double EUD1 = (mU * mD + dotd(gu, gd, r)) * P + (mU * bD + mD * bU) * ph - bU * bD * al * ph;
  double EDD1 = (mD * mD + dotd(gd, gd, r)) * P + 2 * mD * bD * ph - bD * bD * al * ph;
  double EUU = mU * mU + dotd(gu, gu, r);
  double mD0 = mD - bD * al;    /* E[D | s = 0] */
  double vD0 = dotd(gd, gd, r) - bD * bD;

  t[0] = now();
  risk2_hard(&rt, &p, &R0, &e);
  t[1] = now();
  risk2_gap(&rt, &p, 1e-6, &G, NULL);
  t[2] = now();
  risk2_kappa(&rt, &p, &k);
  t[3] = now();
  ok_near(R0, EUU - 2 * EUD1 + EDD1 + 0.25, 1e-10 * EUU, "d = 1000: R_0 vs truncated moments");
  ok_rel(k, -gauss_pdf(al) / sd * (mD0 * mD0 + vD0), 1e-10, "d = 1000: kappa = -int D^2 dnu");
  ok_rel(G, k, 1e-4, "d = 1000: G/tau(1e-6) near kappa");
  printf("# d = r = 1000: hard %.1f ms, gap %.1f ms, kappa %.1f ms\n", 1e3 * (t[1] - t[0]),
         1e3 * (t[2] - t[1]), 1e3 * (t[3] - t[2]));
  free(gs), free(gd), free(gu);
  free(b.mean), free(b.u), free(b.b1), free(b.b2), free(b.bt), free(b.F);
}

int main(void)
{
  test_monte_carlo();
  test_quad2();
  test_kappa();
  test_extremes();
  test_equal_experts();
  test_const_router();
  check_const_teacher(0.7);
  check_const_teacher(-0.7);
  check_const_teacher(0.0);
  test_errors();
  test_big();
  ok(live_blocks == 0, "no block leaks at the end (%ld live)", live_blocks);
  return tap_done();
}
