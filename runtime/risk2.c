/*
 * risk2.c — exact risks of a two-expert model over a normal law (risk2.h).
 *
 * Method.  Every quantity is an affine function of Z ~ N(0, I_r): a
 * functional w·x + w0 is m + g·Z with mean m = w·μ + w0 and loading
 * g = Fᵀw.  The ones that matter are the router s, D = f1 − f2, and
 * U = m − f2, written U = A + 1{T ≥ 0}·J with A = h2 − f2, J = h1 − h2 and
 * T the teacher's logit t (an affine target is A = target − f2, J ≡ 0).
 * With H = 1{s ≥ 0} and g = σ(s/τ), m − F_τ = U − g·D, so
 *
 *   R_τ = E[U²] − 2 E[g U D] + E[g² D²] + σ_ε²,
 *   G(τ) = E[−2 (g − H) U D + (g² − H) D²].
 *
 * Conditioning on s.  Given s, (D, A, J, T) is normal with means a + b·s
 * and a constant covariance: project the loadings on e = g_s/|g_s| (twice,
 * so that a loading parallel to e leaves only rounding), b = (g·e)/sd(s),
 * a = m − b·E[s], and Cov(X, Y | s) = g⊥_X·g⊥_Y.  The closed forms
 * q_XY(s) = E[XY | s] then need only E[X Y 1{T ≥ 0} | s]: with
 * W = (T − μ_T)/σ_T, X = μ_X + b_X W + X⊥ (b_X = Cov(X,T)/σ_T, X⊥ ⟂ W),
 * α = μ_T/σ_T and the half-line moments E[1{W>−α}] = Φ(α),
 * E[W 1{W>−α}] = φ(α), E[W² 1{W>−α}] = Φ(α) − αφ(α):
 *
 *   E[XY 1{T≥0} | s] = (μ_Xμ_Y + C_XY) Φ(α) + (μ_X b_Y + μ_Y b_X) φ(α)
 *                      − b_X b_Y α φ(α).
 *
 * When σ_{T|s} = 0 (a teacher aligned with the router, t = c·s + c0), T is
 * a + b·s exactly, b_X = 0, and Φ(α) becomes the step 1{a + b·s ≥ 0}; at the
 * split itself the side of s decides (the one-sided limits κ needs).  All of
 * this is computed once per call; each quadrature node costs O(1).
 *
 * The integrals.  R_0 = ∫ φ(z) E[(U − H D)² | s] dz over z = (s − E s)/sd(s),
 * with breakpoints at the router's split and at the teacher's layer (width
 * σ_{T|s}/|b_T| in s, resolved by breakpoints spaced by factors of 8).  The
 * gap is integrated directly, never as R_τ − R_0 (which loses everything at
 * small τ): with s = τt,
 *
 *   G(τ)/τ = ∫ φ_s(τt) [−2 (σ(t) − H(t)) q_UD(τt) + (σ(t)² − H(t)) q_DD(τt)] dt,
 *
 * an integrand that is O(1), lives at t = O(1) and vanishes beyond |t| ≈ 745,
 * so G/τ keeps its relative accuracy for every τ down to the smallest
 * double.  When τ > sd(s) the gate is smooth on the Gaussian's scale and the
 * same integrand is integrated over z instead (then G is O(1) and G/τ is
 * formed by dividing).  R_τ = R_0 + G.  The gate factors are formed without
 * cancellation: on the winning side σ(t) − 1 = −σ(−t), σ² − 1 = −σ(−t)(1 + σ(t)).
 *
 * κ.  As τ → 0, φ_s(τt) q(τt) → φ_s(0) q(0±) on t ≷ 0, and
 * ∫_0^∞ (1 − σ) = ln 2, ∫_0^∞ (σ² − 1) = −ln 2 − ½, ∫_{−∞}^0 σ² = ln 2 − ½,
 * so G/τ → κ = φ_s(0) [2 ln 2 (q_UD(0+) − q_UD(0−)) − q_DD(0)].  This is
 * MATH.md's κ = ∫ (2 ln 2 D J − D²) dν: ν = p/|∇s| dH^{d−1} on {s = 0}
 * integrates f to φ_s(0) E[f | s = 0] (coarea), J = m⁺ − m⁻ = U⁺ − U⁻ since
 * f2 is continuous, and E[D U^± | s = 0] = q_UD(0±) because the conditional
 * law given s is continuous in s.  A teacher crossing at an angle has
 * σ_{T|s} > 0, so q_UD is continuous and J = 0 a.e.; an aligned one
 * (J = D where h = f) gives (2 ln 2 − 1) φ_s(0) q_DD(0).
 *
 * Degenerate inputs.  Var(s) = 0 (u ⟂ range F, or r = 0): s is the constant
 * E s, the gate is the constant σ(E s/τ), everything is unconditional and
 * κ = 0 — unless s ≡ 0 with D ≢ 0, where the hard gate is a tie everywhere
 * and G/τ has no limit (an error).  Residuals at rounding level are snapped
 * to zero (RISK2_SNAP of their rounding scale): a router whose Var(s) is
 * rounding noise is constant, and a teacher whose split direction and
 * offset match the router's to within rounding is exactly aligned —
 * otherwise t = 3·s (with 3·u rounded) would count as "crossing" with a
 * layer 1e-16 wide, and κ would jump to the crossing value.
 *
 * Accuracy.  The integrands are evaluated without cancellation except in
 * E[(U − D)² | s] (absolute error ~ε·E[U²]) and in the gap's odd part
 * −2(σ − H) q_UD, whose O(1) halves cancel to O(τ): the sum carries an
 * absolute error ~ε·|q_UD| φ_s, a relative one ~ε·|q_UD|/q_DD when q_UD
 * dwarfs q_DD (nearly equal experts against a distant target).  The
 * absolute tolerances sit just above that rounding floor (gscale), so the
 * quadrature stops there instead of refining noise.
 */
#include "risk2.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "gauss.h"
#include "quad.h"

#define RISK2_LN2 0.69314718055994530942
#define RISK2_SNAP 1e-12     /* a residual this small relative to its rounding scale is 0 */
#define RISK2_MAXBR 80       /* breakpoints per integral */
#define RISK2_LIMIT 1000     /* quadrature subintervals */
#define RISK2_ZREACH 40.0    /* |z| beyond which φ(z) underflows */
#define RISK2_TREACH 800.0   /* |t| beyond which the gate factors underflow */

/* The functionals: router, expert difference, U's parts, teacher logit. */
enum { VS, VD, VA, VJ, VT, NV };

/* w = p − q (q NULL: w = p), w0 = c. */
typedef struct Risk2Lin {
  const double *p, *q;
  double c;
} Risk2Lin;

typedef struct Risk2Mom {
  int point;               /* Var(s) = 0: s ≡ ms */
  double ms, ss;           /* mean and standard deviation of s */
  double a[NV], b[NV];     /* E[X | s] = a + b·s for X = D, A, J, T */
  double c[NV][NV];        /* Cov(X, Y | s) for X, Y in D, A, J */
  double ct[NV];           /* Cov(X, T | s)/st */
  double st;               /* sd(T | s); 0 for a split fixed by s */
  int layer;               /* the teacher's split moves with s: */
  double sc, sw;           /*   its centre and width in s */
  double scale, gscale;    /* sizes of the risks and of the gap (risk2_scale) */
  double noise2;
} Risk2Mom;

typedef struct Risk2Q {
  double uu, ud, dd;       /* E[U² | s], E[U D | s], E[D² | s] */
} Risk2Q;

typedef struct Risk2Ctx {
  const Risk2Mom *M;
  double tau;
} Risk2Ctx;

typedef struct Risk2Br {
  int n;
  double x[RISK2_MAXBR];
} Risk2Br;

/* ------------------------------------------------------------ vectors */

static double risk2_dot(const double *x, const double *y, size_t n)
{
  double s = 0;
  for (size_t j = 0; j < n; j++)
    s += x[j] * y[j];
  return s;
}

/* |x|, scaled so that neither huge nor tiny entries over- or underflow. */
static double risk2_norm(const double *x, size_t n)
{
  double mx = 0, s = 0;
  for (size_t j = 0; j < n; j++)
    mx = fmax(mx, fabs(x[j]));
  if (mx == 0 || isinf(mx))
    return mx;
  for (size_t j = 0; j < n; j++)
    s += (x[j] / mx) * (x[j] / mx);
  return mx * sqrt(s);
}

/* Removes from g its component along the unit vector e, twice (classical
 * Gram–Schmidt with one reorthogonalisation), so that a g parallel to e
 * leaves a residual at rounding level; returns the component. */
static double risk2_project(double *g, const double *e, size_t r)
{
  double k = 0;
  for (int pass = 0; pass < 2; pass++) {
    double c = risk2_dot(g, e, r);
    for (size_t j = 0; j < r; j++)
      g[j] -= c * e[j];
    k += c;
  }
  return k;
}

/* ------------------------------------------------------------ moments */

static RtStatus risk2_check(Rt *rt, const Risk2 *p)
{
  if (!p)
    return rt_error(rt, RT_EINVAL, "risk2: no problem given");
  if (p->d < 1 || p->r < 0)
    return rt_error(rt, RT_EINVAL, "risk2: need d >= 1 and r >= 0 (got d = %d, r = %d)",
                    p->d, p->r);
  if (!p->mean || !p->u || !p->f1.beta || !p->f2.beta || (p->r > 0 && !p->factor))
    return rt_error(rt, RT_EINVAL, "risk2: missing mean, factor, router or expert array");
  if (p->teacher ? !p->v || !p->h1.beta || !p->h2.beta : !p->target.beta)
    return rt_error(rt, RT_EINVAL, "risk2: missing target or teacher array");
  if (!(p->noise >= 0) || isinf(p->noise))
    return rt_error(rt, RT_EINVAL, "risk2: noise must be finite and >= 0");
  return RT_OK;
}

static void risk2_lins(const Risk2 *p, Risk2Lin *l)
{
  l[VS] = (Risk2Lin){p->u, NULL, p->u0};
  l[VD] = (Risk2Lin){p->f1.beta, p->f2.beta, p->f1.c - p->f2.c};
  if (!p->teacher) {
    l[VA] = (Risk2Lin){p->target.beta, p->f2.beta, p->target.c - p->f2.c};
    return;
  }
  l[VA] = (Risk2Lin){p->h2.beta, p->f2.beta, p->h2.c - p->f2.c};
  l[VJ] = (Risk2Lin){p->h1.beta, p->h2.beta, p->h1.c - p->h2.c};
  l[VT] = (Risk2Lin){p->v, NULL, p->v0};
}

/* g += w·row; ga += |w·row| when ga is given (the scale of g's rounding). */
static void risk2_row(double *g, double *ga, double w, const double *row, size_t r)
{
  for (size_t j = 0; j < r; j++)
    g[j] += w * row[j];
  if (ga)
    for (size_t j = 0; j < r; j++)
      ga[j] += fabs(w * row[j]);
}

/* One pass over the factor's rows for all functionals at once: loadings
 * g[k·r ..] = Fᵀw_k, rounding scales ga (s in [0, r), T in [r, 2r)), and
 * means m[k] = w_k·μ + c_k with mabs[k] the sum of their absolute terms. */
static void risk2_pass(const Risk2 *p, const Risk2Lin *l, int nv, double *g,
                       double *ga, double *m, double *mabs)
{
  size_t r = (size_t)p->r;
  memset(g, 0, (size_t)(nv + 2) * r * sizeof *g);
  for (int k = 0; k < nv; k++)
    m[k] = l[k].c, mabs[k] = fabs(l[k].c);
  for (size_t i = 0; i < (size_t)p->d; i++)
    for (int k = 0; k < nv; k++) {
      double w = l[k].q ? l[k].p[i] - l[k].q[i] : l[k].p[i];
      m[k] += w * p->mean[i];
      mabs[k] += fabs(w * p->mean[i]);
      if (w != 0 && r > 0)
        risk2_row(g + (size_t)k * r, k == VS ? ga : k == VT ? ga + r : NULL, w,
                  p->factor + i * r, r);
    }
}

/* Conditions D, A, J, T on s: means a + b·s and residual loadings (left in
 * g).  A router whose sd is rounding noise is a point mass. */
static void risk2_condition(Risk2Mom *M, double *g, const double *ga,
                            const double *m, const double *mabs, int nv, size_t r)
{
  double ss = risk2_norm(g, r);
  M->ms = m[VS];
  for (int k = VD; k < nv; k++)
    M->a[k] = m[k];
  if (!(ss > RISK2_SNAP * risk2_norm(ga, r))) {
    M->point = 1;
    if (fabs(M->ms) <= RISK2_SNAP * mabs[VS])
      M->ms = 0;
    return;
  }
  M->ss = ss;
  for (size_t j = 0; j < r; j++)
    g[j] /= ss;
  for (int k = VD; k < nv; k++) {
    M->b[k] = risk2_project(g + (size_t)k * r, g, r) / ss;
    M->a[k] = m[k] - M->b[k] * M->ms;
  }
}

/* The teacher's conditional split: its sd, the snap to an exactly aligned
 * (or constant) split, the scaled covariances b_X, and where it lies in s. */
static void risk2_teacher(Risk2Mom *M, const double *g, const double *gaT,
                          const double *mabs, size_t r)
{
  const double *gT = g + (size_t)VT * r;
  double st = risk2_norm(gT, r);
  if (st <= RISK2_SNAP * risk2_norm(gaT, r)) {
    st = 0;
    if (fabs(M->a[VT]) <= RISK2_SNAP * (mabs[VT] + fabs(M->b[VT]) * mabs[VS]))
      M->a[VT] = 0;
  } else {
    for (int k = VD; k < VT; k++)
      M->ct[k] = risk2_dot(g + (size_t)k * r, gT, r) / st;
  }
  M->st = st;
  if (M->b[VT] != 0) {
    M->layer = 1;
    M->sc = -M->a[VT] / M->b[VT];
    M->sw = st / fabs(M->b[VT]);
  }
}

/* Conditional covariances of D, A, J; for an affine target J ≡ 0 and the
 * "teacher" always picks h1 (a = 1, b = 0, sd 0). */
static void risk2_covariances(Risk2Mom *M, const double *g, const double *gaT,
                              const double *mabs, int nv, size_t r)
{
  int hi = nv < NV ? nv : VT;
  for (int x = VD; x < hi; x++)
    for (int y = VD; y < hi; y++)
      M->c[x][y] = risk2_dot(g + (size_t)x * r, g + (size_t)y * r, r);
  if (nv < NV)
    M->a[VT] = 1;
  else
    risk2_teacher(M, g, gaT, mabs, r);
}

/* The sizes that set the absolute tolerances: E[U²] + E[D²] for the risks
 * (E[U²] <= 2 E[A²] + 2 E[J²]), and for the gap √(E[U²] E[D²]) + E[D²],
 * which bounds its integrand (|E[UD]| <= √(E[U²] E[D²])). */
static void risk2_scale(Risk2Mom *M)
{
  double e2[NV];
  for (int k = VD; k < VT; k++) {
    double mean = M->a[k] + M->b[k] * M->ms, sdv = M->b[k] * M->ss;
    e2[k] = mean * mean + sdv * sdv + M->c[k][k];
  }
  double eu = 2 * (e2[VA] + e2[VJ]);
  M->scale = eu + e2[VD];
  M->gscale = sqrt(eu * e2[VD]) + e2[VD];
}

static int risk2_finite(const Risk2Mom *M)
{
  double s = M->ms + M->ss + M->st + M->scale + M->gscale + M->noise2;
  for (int k = VD; k < NV; k++) {
    s += M->a[k] + M->b[k] + M->ct[k];
    for (int j = VD; j < NV; j++)
      s += M->c[k][j];
  }
  return isfinite(s) && (!M->layer || (isfinite(M->sc) && isfinite(M->sw)));
}

/* Everything the integrands need, from one O(d·r) pass. */
static RtStatus risk2_moments(Rt *rt, const Risk2 *p, Risk2Mom *M)
{
  RtStatus st = risk2_check(rt, p);
  if (st)
    return st;
  int nv = p->teacher ? NV : VJ;
  size_t r = (size_t)p->r;
  double m[NV], mabs[NV];
  Risk2Lin l[NV];
  double *g = rt_array(rt, (size_t)(nv + 2) * r + 1, sizeof *g);
  if (!g)
    return RT_ENOMEM;
  double *ga = g + (size_t)nv * r;
  memset(M, 0, sizeof *M);
  risk2_lins(p, l);
  risk2_pass(p, l, nv, g, ga, m, mabs);
  risk2_condition(M, g, ga, m, mabs, nv, r);
  risk2_covariances(M, g, ga + r, mabs, nv, r);
  rt_free(rt, g);
  M->noise2 = p->noise * p->noise;
  risk2_scale(M);
  if (!risk2_finite(M))
    return rt_error(rt, RT_EINVAL, "risk2: the moments are not finite "
                    "(an input is NaN, infinite or too large)");
  return RT_OK;
}

/* ------------------------------------------------ conditional moments */

/* 1{T ≥ 0} for a split fixed by s; at the split itself the side of s
 * decides, and a teacher logit that is 0 outright is a tie (h1). */
static double risk2_step(const Risk2Mom *M, double s, int side)
{
  double x = M->a[VT] + M->b[VT] * s;
  if (x == 0)
    x = side * M->b[VT];
  return x >= 0 ? 1.0 : 0.0;
}

/* E[X Y 1{T ≥ 0} | s] from the conditional means mu and w = (Φ(α), φ(α), αφ(α)). */
static double risk2_trunc(const Risk2Mom *M, const double *mu, int x, int y,
                          const double *w)
{
  return (mu[x] * mu[y] + M->c[x][y]) * w[0]
         + (mu[x] * M->ct[y] + mu[y] * M->ct[x]) * w[1]
         - M->ct[x] * M->ct[y] * w[2];
}

/* E[U², UD, D² | s]; side (±1) is the side of the router's split that s
 * stands for, which matters only at a split fixed by s. */
static Risk2Q risk2_q(const Risk2Mom *M, double s, int side)
{
  double mu[NV], w[3] = {0, 0, 0};
  for (int k = VD; k < NV; k++)
    mu[k] = M->a[k] + M->b[k] * s;
  if (M->st > 0) {
    double al = mu[VT] / M->st;
    w[0] = gauss_cdf(al);
    if (fabs(al) < RISK2_ZREACH)
      w[1] = gauss_pdf(al), w[2] = al * w[1];
  } else {
    w[0] = risk2_step(M, s, side);
  }
  Risk2Q q;
  q.dd = mu[VD] * mu[VD] + M->c[VD][VD];
  q.ud = mu[VA] * mu[VD] + M->c[VA][VD] + risk2_trunc(M, mu, VJ, VD, w);
  q.uu = mu[VA] * mu[VA] + M->c[VA][VA] + 2 * risk2_trunc(M, mu, VA, VJ, w)
         + risk2_trunc(M, mu, VJ, VJ, w);
  return q;
}

/* ---------------------------------------------------------- integrands */

/* σ(x) − H and σ(x)² − H with H = pos (the hard gate; pos is passed, not
 * read off x, so that an underflowed −0 keeps its side).  On the winning
 * side 1 − σ(x) = 1/(1 + e^x) is formed directly, never as a difference. */
static double risk2_dh(double x, int pos)
{
  return pos ? -1 / (1 + exp(x)) : 1 / (1 + exp(-x));
}

static double risk2_dh2(double x, int pos)
{
  if (pos) {
    double e = 1 / (1 + exp(x));
    return -e * (2 - e);
  }
  double g = 1 / (1 + exp(-x));
  return g * g;
}

/* The gap's integrand without the density: −2(σ − H) q_UD + (σ² − H) q_DD.
 * Beyond |x| = 745 both gate factors are 0 and q is not needed. */
static double risk2_kern(const Risk2Mom *M, double s, double x, int pos)
{
  if (fabs(x) > 745.5)
    return 0.0;
  Risk2Q q = risk2_q(M, s, pos ? 1 : -1);
  return -2 * risk2_dh(x, pos) * q.ud + risk2_dh2(x, pos) * q.dd;
}

/* R_0's integrand over z = (s − E s)/sd(s): φ(z) E[(U − H D)² | s]. */
static double risk2_f_hard(double z, void *ctx)
{
  const Risk2Mom *M = ((const Risk2Ctx *)ctx)->M;
  double s = M->ms + M->ss * z;
  int pos = s >= 0;
  Risk2Q q = risk2_q(M, s, pos ? 1 : -1);
  return gauss_pdf(z) * (pos ? q.uu - 2 * q.ud + q.dd : q.uu);
}

/* G/τ's integrand over t = s/τ: φ_s(τt) times the kernel. */
static double risk2_f_gap_t(double t, void *ctx)
{
  const Risk2Ctx *c = ctx;
  const Risk2Mom *M = c->M;
  double s = c->tau * t, k = risk2_kern(M, s, t, t >= 0);
  return k == 0 ? 0.0 : gauss_pdf((s - M->ms) / M->ss) / M->ss * k;
}

/* G's integrand over z = (s − E s)/sd(s). */
static double risk2_f_gap_z(double z, void *ctx)
{
  const Risk2Ctx *c = ctx;
  const Risk2Mom *M = c->M;
  double s = M->ms + M->ss * z;
  return gauss_pdf(z) * risk2_kern(M, s, s / c->tau, s >= 0);
}

/* -------------------------------------------------------- breakpoints */

static void risk2_br_add(Risk2Br *b, double x)
{
  if (isfinite(x) && b->n < RISK2_MAXBR)
    b->x[b->n++] = x;
}

/* A layer of width w at c (w = 0: a jump): c itself and c ± w·8^j up to the
 * unit scale, so that the integrator starts with pieces matched to every
 * scale between the layer and the rest; only within `reach` of the origin
 * (beyond it the integrand vanishes).  Widths below what doubles can
 * resolve at c are a jump. */
static void risk2_br_layer(Risk2Br *b, double c, double w, double reach)
{
  if (!(fabs(c) < reach))
    return;
  risk2_br_add(b, c);
  for (double h = fmax(w, 1e-14 * fmax(1, fabs(c))); w > 0 && h < 1; h *= 8) {
    risk2_br_add(b, c - h);
    risk2_br_add(b, c + h);
  }
}

/* The integral over the whole line with the given breakpoints. */
static RtStatus risk2_quad(Rt *rt, QuadFn f, Risk2Ctx *c, const Risk2Br *b,
                           double atol, double rtol, double *val, double *err)
{
  QuadOpts o;
  QuadResult res;
  quad_default_opts(&o);
  o.abs_tol = atol;
  o.rel_tol = rtol;
  o.limit = RISK2_LIMIT;
  RtStatus st = quad_integrate(rt, f, c, -INFINITY, INFINITY, b->x, b->n, &o, &res);
  *val = res.value;
  *err = res.abserr;
  return st;
}

/* ---------------------------------------------------------- the risks */

/* s ≡ 0 with D ≢ 0: the hard gate is a tie everywhere. */
static RtStatus risk2_tie(Rt *rt, const Risk2Mom *M)
{
  if (!M->point || M->ms != 0 || risk2_q(M, 0, 1).dd == 0)
    return RT_OK;
  return rt_error(rt, RT_EINVAL, "risk2: the router's two logits are equal "
                  "everywhere (s = 0 on the support) while the experts differ");
}

/* R_0 without the noise. */
static RtStatus risk2_hard_mom(Rt *rt, const Risk2Mom *M, double *R0, double *err)
{
  RtStatus st = risk2_tie(rt, M);
  if (st)
    return st;
  if (M->point) {
    Risk2Q q = risk2_q(M, M->ms, 1);
    *R0 = M->ms >= 0 ? q.uu - 2 * q.ud + q.dd : q.uu;
    *err = 8 * DBL_EPSILON * (q.uu + 2 * fabs(q.ud) + q.dd);
    return RT_OK;
  }
  Risk2Ctx c = {M, 0};
  Risk2Br b = {0, {0}};
  risk2_br_add(&b, 0);
  risk2_br_layer(&b, -M->ms / M->ss, 0, RISK2_ZREACH);
  if (M->layer)
    risk2_br_layer(&b, (M->sc - M->ms) / M->ss, M->sw / M->ss, RISK2_ZREACH);
  return risk2_quad(rt, risk2_f_hard, &c, &b, 1e-15 * M->scale, 1e-13, R0, err);
}

/* G over t = s/τ (τ <= sd(s)); returns G/τ. */
static RtStatus risk2_gap_t(Rt *rt, const Risk2Mom *M, double tau, double *val,
                            double *err)
{
  static const double gate[] = {0, -1, 1, -8, 8, -64, 64, -512, 512};
  Risk2Ctx c = {M, tau};
  Risk2Br b = {0, {0}};
  for (size_t i = 0; i < sizeof gate / sizeof *gate; i++)
    risk2_br_add(&b, gate[i]);
  risk2_br_layer(&b, M->ms / tau, 0, RISK2_TREACH);
  if (M->layer)
    risk2_br_layer(&b, M->sc / tau, M->sw / tau, RISK2_TREACH);
  return risk2_quad(rt, risk2_f_gap_t, &c, &b, 1e-14 * M->gscale / M->ss, 1e-12,
                    val, err);
}

/* G over z (τ > sd(s): the gate is smooth on the Gaussian's scale); returns G. */
static RtStatus risk2_gap_z(Rt *rt, const Risk2Mom *M, double tau, double *val,
                            double *err)
{
  Risk2Ctx c = {M, tau};
  Risk2Br b = {0, {0}};
  risk2_br_add(&b, 0);
  risk2_br_layer(&b, -M->ms / M->ss, 0, RISK2_ZREACH);
  if (M->layer)
    risk2_br_layer(&b, (M->sc - M->ms) / M->ss, M->sw / M->ss, RISK2_ZREACH);
  return risk2_quad(rt, risk2_f_gap_z, &c, &b, 1e-14 * M->gscale, 1e-12, val, err);
}

/* G(τ)/τ (over = 1) or G(τ) (over = 0) for 0 < τ <= inf, each computed in
 * the variable where it is O(1), so neither over- nor underflows needlessly. */
static RtStatus risk2_gap_mom(Rt *rt, const Risk2Mom *M, double tau, int over,
                              double *val, double *err)
{
  RtStatus st = risk2_tie(rt, M);
  if (st)
    return st;
  if (M->point) {
    *val = risk2_kern(M, M->ms, M->ms / tau, M->ms >= 0);
    *err = 8 * DBL_EPSILON * fabs(*val);
    st = RT_OK;
  } else if (tau <= M->ss) {
    st = risk2_gap_t(rt, M, tau, val, err);
    if (!over)
      *val *= tau, *err *= tau;
    return st;
  } else {
    st = risk2_gap_z(rt, M, tau, val, err);
  }
  if (over)
    *val /= tau, *err /= tau;
  return st;
}

static RtStatus risk2_kappa_mom(Rt *rt, const Risk2Mom *M, double *kappa)
{
  RtStatus st = risk2_tie(rt, M);
  *kappa = 0;
  if (st || M->point)
    return st;
  Risk2Q qp = risk2_q(M, 0, 1), qm = risk2_q(M, 0, -1);
  double dens = gauss_pdf(M->ms / M->ss) / M->ss;
  *kappa = dens * (2 * RISK2_LN2 * (qp.ud - qm.ud) - qp.dd);
  if (!isfinite(*kappa))
    return rt_error(rt, RT_EINVAL, "risk2: kappa overflows (the router's "
                    "logit difference has a vanishing spread at 0)");
  return RT_OK;
}

static RtStatus risk2_check_tau(Rt *rt, double tau)
{
  if (isnan(tau) || tau < 0)
    return rt_error(rt, RT_EINVAL, "risk2: the temperature must be >= 0 (got %g)", tau);
  return RT_OK;
}

/* ---------------------------------------------------------- public API */

RtStatus risk2_hard(Rt *rt, const Risk2 *p, double *R0, double *abserr)
{
  Risk2Mom M;
  double err = 0;
  RtStatus st = risk2_moments(rt, p, &M);
  if (!st)
    st = risk2_hard_mom(rt, &M, R0, &err);
  if (!st)
    *R0 += M.noise2;
  if (abserr)
    *abserr = err;
  return st;
}

RtStatus risk2_soft(Rt *rt, const Risk2 *p, double tau, double *Rtau, double *abserr)
{
  Risk2Mom M;
  double R0 = 0, e0 = 0, G = 0, eg = 0;
  RtStatus st = risk2_check_tau(rt, tau);
  if (!st)
    st = risk2_moments(rt, p, &M);
  if (!st && M.point && tau > 0) {          /* the constant gate σ(ms/τ) */
    Risk2Q q = risk2_q(&M, M.ms, 1);
    double g = 1 / (1 + exp(-M.ms / tau));
    R0 = q.uu - 2 * g * q.ud + g * g * q.dd;
    e0 = 8 * DBL_EPSILON * (q.uu + 2 * fabs(q.ud) + q.dd);
  } else if (!st) {
    st = risk2_hard_mom(rt, &M, &R0, &e0);
    if (!st && tau > 0)
      st = risk2_gap_mom(rt, &M, tau, 0, &G, &eg);
  }
  if (!st)
    *Rtau = R0 + G + M.noise2;
  if (abserr)
    *abserr = e0 + eg;
  return st;
}

RtStatus risk2_gap(Rt *rt, const Risk2 *p, double tau, double *G_over_tau,
                   double *abserr)
{
  Risk2Mom M;
  double err = 0;
  RtStatus st = risk2_check_tau(rt, tau);
  if (!st)
    st = risk2_moments(rt, p, &M);
  if (!st)
    st = tau == 0 ? risk2_kappa_mom(rt, &M, G_over_tau)
                  : risk2_gap_mom(rt, &M, tau, 1, G_over_tau, &err);
  if (abserr)
    *abserr = err;
  return st;
}

RtStatus risk2_kappa(Rt *rt, const Risk2 *p, double *kappa)
{
  Risk2Mom M;
  RtStatus st = risk2_moments(rt, p, &M);
  return st ? st : risk2_kappa_mom(rt, &M, kappa);
}
