/*
 * risklayer.c — the boundary-layer estimator of the soft-to-hard gap (see
 * risklayer.h).
 *
 * Why.  In the Rao–Blackwell space of riskrb.c a sample is y ~ N(0, I_q);
 * logits, experts and target are affine in y, and the squared error's
 * conditional expectation ℓ_τ(y) is a closed form.  The gap's integrand
 * g_τ(y) = ℓ_τ(y) − ℓ_0(y) is negligible except within O(τ) of the routing
 * interfaces, so plain sampling of y puts a fraction O(τ) of its samples
 * where the gap lives, and the relative variance of Ĝ(τ) grows like 1/τ
 * (K = 8, τ = 0.0066: about 200 per sample).  Here half of the samples are
 * put in the layer instead.
 *
 * The layer sampler.  For a pair p = (i, j), i < j, the logit difference is
 * D = a_i − a_j = μ_D + v·y, σ = |v|.  With y = y_⊥ + z v̂ (z = v̂·y ~ N(0, 1)
 * independent of y_⊥), y given D = δ is y_0 + (δ/σ) v̂, where y_0 = y_⊥ −
 * (μ_D/σ) v̂ is a point of the interface D = 0 (conditioning by projection:
 * exact).  A layer sample draws
 *   - the pair, with probability π_p: a pilot run's estimate of the pair's
 *     share of the boundary integral (90%) and of its boundary density
 *     (10%, so that no pair that can tie is left out);
 *   - y_0 on the part of the interface where i and j lead the others.  The
 *     K − 2 constraints c_k = a_i − a_k ≥ 0 are affine in y_⊥: c = m + L w
 *     with L lower triangular (an LQ factorisation of the constraints' rows,
 *     most binding first) and w ~ N(0, I_r) the coordinates of y_⊥ in their
 *     span Q.  GHK's sequential sampler draws each w_k from N(0, 1)
 *     truncated to c_k ≥ 0 given w_<k, so y_0 has density φ·1{cone}/W(y_0)
 *     relative to the interface's normal law, W = Π_k P(c_k ≥ 0 | w_<k); the
 *     other directions are free normals.  (Plain interface points would
 *     land where a third expert leads 85% of the time for K = 8: the
 *     indicator alone cost a factor 40 in variance.)  Constraints that are
 *     combinations of earlier ones (d < K − 1) are left to the integrand's
 *     indicator;
 *   - |u| ~ Exp(1) and, for each τ of the schedule, the two points
 *     δ = ±s|u|, s = min(τ, σ): a Laplace law of scale τ on both sides of
 *     the interface (antithetic).  The gate's departure from the hard gate,
 *     1 − σ(|δ|/τ), has the same e^{−|δ|/τ} tail, so the importance ratio
 *     of the layer's integrand stays within a factor 2 of the ideal one,
 *     and pairing δ with −δ cancels the two sides' large and opposite
 *     first-order terms 2(1 − σ)·E[D(m − f)], which would otherwise
 *     dominate the variance.
 * Relative to the natural law, the layer proposal's density at a point y
 * whose top two are p is
 *   ρ_p(y) = π_p · k_s(D)/φ_D(D) · 1{y_0(y) in the cone}/W(y_0(y)),
 * k_s(δ) = e^{−|δ|/s}/(2s), y_0(y) the projection of y on p's interface.
 *
 * The estimator.  In every block the first half of the samples (fraction
 * f_0) are ordinary Rao–Blackwell samples, the rest (f_L) layer samples.
 * With r = f_L ρ_p(y), p the top two of y, each point contributes, for
 * each τ,
 *   ordinary:  g_τ(y) · f_0 / (f_0² + r²),
 *   layer:     g_τ(y) · r / (f_0² + r²),
 * except that a layer point whose top two are not the pair it was drawn
 * for contributes 0.  This is the power heuristic (exponent 2) of multiple
 * importance sampling — weights f_0²/(f_0² + r²) and r²/(f_0² + r²) —
 * with the partition of unity restricted, at each y, to the ordinary
 * technique and the layer technique of y's own top-two pair, so the sum
 * over both strata divided by the block size is an unbiased estimate of
 * G(τ) = E g_τ(y) for every τ, whatever π, s and the pilot are.  The
 * contributions are at most g/f_0 (ordinary) and g/(2 f_0) (layer), so no
 * τ is much worse than plain Rao–Blackwell.  Against the balance
 * heuristic, g/(f_0 + r) for both kinds, the power heuristic leaves less
 * of the layer's mass to the few ordinary points that land in it: on the
 * accuracy benchmark (K = 8, d = 256, 200 seeds) the mean standard error
 * fell by 7% at its τ = 0.0066, by 10–12% for τ in 0.015 .. 0.08 and by
 * 0–4% for τ ≤ 0.003 (where the layer samples dominate either way); it
 * rose by 7% at τ = 1, where the layer is no layer.  Standard errors
 * treat the two strata as strata:
 * se² = Σ_s (N_s/N)² Var_s/N_s.
 *
 * R_0 is the mean of ℓ_0 over the ordinary samples; R_τ's per-sample
 * values are those plus the gap's, so its standard error is the paired
 * one.  κ needs no temperature: with the layer samples' interface points,
 *   κ = Σ_p φ_D(0) E[1{i, j lead at y_0} (2 ln 2·E[DJ | y_0] − E[D² | y_0]) | D = 0]
 * (MATH.md's ∫(2 ln 2·DJ − D²) dν with D = f_i − f_j and J the target's
 * jump across the interface) is the mean of φ_D(0) W(y_0) k*(y_0)/π_p —
 * no extrapolation, no bias, and it does not depend on the schedule.
 *
 * Floating point.  A layer point is never formed as y_0 + (δ/σ) v̂ (at
 * τ = 1e-300 that rounds to y_0): its logits and values are the interface
 * point's plus δ times their rates along v̂, the pair's own difference is
 * δ exactly, and the gate is computed from the differences, so τ = 1e-300
 * still sees gates σ(δ/τ) of order one.  An aligned teacher (whose
 * interface contains the model's) ties with the model's pair only up to
 * rounding; at the interface point its logit differences below 1e-12 of the
 * magnitudes that formed them count as exact ties, decided by the side δ
 * is on (the one-sided limits m⁺, m⁻ of κ).  The bias this allows is the
 * chance of a teacher interface within that distance: ~1e-12 relative.
 * Gaps are accumulated as G/τ for τ < 1, so their squares do not
 * underflow at τ = 1e-300.
 *
 * Determinism: block b draws from Philox(seed, b, substream 0) in a fixed
 * order, the pilot's pair p from (seed, p, LAYER_PILOT_SUB); est.c reduces
 * in block order, so every thread count gives the same bits.
 */
#include "risklayer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "est.h"
#include "gauss.h"
#include "linalg.h"
#include "rng.h"
#include "vmath.h"

#define LN2 0.69314718055994530942
#define LOG_SQRT_2PI 0.91893853320467274178
#define LAYER_PILOT_SUB 0x4c415952u    /* "LAYR" */
#define SNAP_REL 1e-12                 /* teacher ties on the interface */
#define RANK_REL 1e-9                  /* a constraint row in the span of earlier ones */
#define TIE_REL 1e-10                  /* a logit tied with the pair along the interface */
#define PILOT_SHARE 0.9                /* of π from the pilot's magnitudes */
#define MAX_POOL_DOUBLES (8u << 20)    /* 64 MB of per-pair tables */

/* ------------------------------------------------------------ set-up */

typedef struct Pair {
  int i, j;
  double mu, sd;         /* D = a_i − a_j ~ N(mu, sd²) */
  double z0;             /* v̂·y on the interface: −mu/sd */
  double phi0;           /* the density of D at 0 */
  double pi, logpc;      /* selection probability; log(π·sd·√(2π)) */
  int nc, r;             /* constraints; independent ones (GHK's dimension) */
  double *vh;            /* q: v̂ */
  double *rate;          /* nZ: dZ/dD along v̂ (rate[i] − rate[j] = 1) */
  double *m;             /* nc: constraint values at z0·v̂ */
  double *L;             /* nc × ncmax: row k's coefficients on w_0 .. */
  int *col, *nl;         /* nc: k's own column of Q (−1: dependent); columns before k */
  double *Q;             /* r columns of q (column-major), ⊥ v̂ */
} Pair;

typedef struct LCtx {
  int K, Kt, q, nR, nV, nZ, ncmax;
  const double *mu, *F, *CV;
  double *S;             /* K × K: Cov(f | y) */
  double *SC;            /* (K + nT) × K: S, then Cov(targets, f | y) */
  double *rownorm;       /* nZ: |F_r| */
  int npairs;
  Pair *pairs;
  int *pair_of;          /* K × K → pair index (i < j) */
  double *cum;           /* npairs: cumulative π */
  double *pool;          /* the pairs' tables */
  int *ipool;
  const double *tau;
  size_t ntau;
  double *s, *inv_s, *log2s;    /* npairs × ntau: the Laplace scales */
  double *unit;          /* ntau: min(τ, 1), the gaps' unit */
  size_t pilot_n;
  double *pilot;         /* npairs × 2 */
} LCtx;

static void ctx_free(Rt *rt, LCtx *c)
{
  rt_free(rt, c->S);
  rt_free(rt, c->SC);
  rt_free(rt, c->rownorm);
  rt_free(rt, c->pairs);
  rt_free(rt, c->pair_of);
  rt_free(rt, c->cum);
  rt_free(rt, c->pool);
  rt_free(rt, c->ipool);
  rt_free(rt, c->s);
  rt_free(rt, c->pilot);
}

static double dot(const double *a, const double *b, int n)
{
  double s = 0;
  for (int l = 0; l < n; l++)
    s += a[l] * b[l];
  return s;
}

static double norm(const double *a, int n) { return sqrt(dot(a, a, n)); }

/* Orthogonalises row g (q) against the first r columns of Q (twice, for
 * orthogonality to rounding), accumulating the coefficients in L. */
static void orthogonalise(double *g, const double *Q, int r, int q, double *L)
{
  for (int pass = 0; pass < 2; pass++)
    for (int l = 0; l < r; l++) {
      double h = dot(Q + (size_t)l * q, g, q);
      L[l] += h;
      for (int t = 0; t < q; t++)
        g[t] -= h * Q[(size_t)l * q + t];
    }
}

/* The GHK tables of pair p: constraint rows G_k = P⊥(F_i − F_k) and values
 * m_k at the interface's foot z0·v̂, ordered most binding first (smallest
 * prior probability), then the LQ factorisation by Gram–Schmidt.  Returns
 * 1 when a third logit ties with the pair along the whole interface
 * (degenerate: the layer is then not a two-expert layer), else 0; a
 * constraint that can never hold leaves the pair with sd = 0 (unused). */
static int pair_tables(const LCtx *c, Pair *p, double *work, int *ord)
{
  int q = c->q, nc = 0;
  const double *Fi = c->F + (size_t)p->i * q;
  double *G = work, *key = work + (size_t)c->ncmax * q, *mk = key + c->ncmax;
  for (int k = 0; k < c->K; k++) {
    if (k == p->i || k == p->j)
      continue;
    const double *Fk = c->F + (size_t)k * q;
    double *g = G + (size_t)nc * q, full = 0;
    for (int t = 0; t < q; t++) {
      g[t] = Fi[t] - Fk[t];
      full += fabs(Fi[t]) + fabs(Fk[t]);
    }
    double along = dot(g, p->vh, q), gn;
    for (int t = 0; t < q; t++)
      g[t] -= along * p->vh[t];
    gn = norm(g, q);
    double val = c->mu[p->i] - c->mu[k] + p->z0 * along;
    double scale = fabs(c->mu[p->i]) + fabs(c->mu[k]) + fabs(p->z0 * along);
    if (gn <= TIE_REL * full) {            /* constant along the interface */
      if (fabs(val) <= TIE_REL * scale)
        return 1;
      if (val < 0)
        p->sd = 0;                         /* k leads wherever i and j tie */
      continue;                            /* else always satisfied */
    }
    key[nc] = val / gn;
    mk[nc++] = val;
  }
  /* insertion sort by key (most binding first) */
  for (int a = 0; a < nc; a++)
    ord[a] = a;
  for (int a = 1; a < nc; a++)
    for (int b = a; b > 0 && key[ord[b]] < key[ord[b - 1]]; b--) {
      int t = ord[b];
      ord[b] = ord[b - 1];
      ord[b - 1] = t;
    }
  p->nc = nc;
  p->r = 0;
  double *g = key + 2 * c->ncmax + 1;      /* q doubles past mk */
  for (int a = 0; a < nc; a++) {
    const double *row = G + (size_t)ord[a] * q;
    double *L = p->L + (size_t)a * c->ncmax;
    memcpy(g, row, (size_t)q * sizeof *g);
    for (int t = 0; t < c->ncmax; t++)
      L[t] = 0;
    p->m[a] = mk[ord[a]];
    orthogonalise(g, p->Q, p->r, q, L);
    double res = norm(g, q);
    p->nl[a] = p->r;
    if (res > RANK_REL * norm(row, q) && p->r < q - 1) {
      for (int t = 0; t < q; t++)
        p->Q[(size_t)p->r * q + t] = g[t] / res;
      L[p->r] = res;
      p->col[a] = p->r++;
    } else {
      p->col[a] = -1;
    }
  }
  return 0;
}

/* Pool sizes per pair: vh q, rate nZ, m nc, L nc², Q q·nc; ints 2 nc. */
static size_t pair_doubles(const LCtx *c)
{
  size_t nc = (size_t)c->ncmax, q = (size_t)c->q;
  return q + (size_t)c->nZ + nc + nc * nc + q * nc;
}

static void pair_carve(LCtx *c, Pair *p, size_t idx)
{
  size_t nc = (size_t)c->ncmax, q = (size_t)c->q;
  double *d = c->pool + idx * pair_doubles(c);
  int *n = c->ipool + idx * 2 * (nc ? nc : 1);
  p->vh = d;
  p->rate = d + q;
  p->m = p->rate + c->nZ;
  p->L = p->m + nc;
  p->Q = p->L + nc * nc;
  p->col = n;
  p->nl = n + nc;
}

/* The pair's interface: v = F_i − F_j, its rate vector and GHK tables.
 * Returns 1 for a degenerate tie (see pair_tables). */
static int pair_init(LCtx *c, Pair *p, double *work, int *ord)
{
  int q = c->q;
  const double *Fi = c->F + (size_t)p->i * q, *Fj = c->F + (size_t)p->j * q;
  double full = 0;
  for (int t = 0; t < q; t++) {
    p->vh[t] = Fi[t] - Fj[t];
    full += fabs(Fi[t]) + fabs(Fj[t]);
  }
  p->sd = norm(p->vh, q);
  p->mu = c->mu[p->i] - c->mu[p->j];
  if (!(p->sd > TIE_REL * full)) {       /* D is constant: no interface to sample */
    p->sd = 0;
    return 0;
  }
  for (int t = 0; t < q; t++)
    p->vh[t] /= p->sd;
  p->z0 = -p->mu / p->sd;
  p->phi0 = exp(-0.5 * p->z0 * p->z0 - LOG_SQRT_2PI) / p->sd;
  for (int r = 0; r < c->nZ; r++)
    p->rate[r] = dot(c->F + (size_t)r * q, p->vh, q) / p->sd;
  return pair_tables(c, p, work, ord);
}

/* ------------------------------------------------------------ per point */

/* GHK: the interface point of pair p from q normals xi (stride ld) and the
 * constraints' uniforms u (stride ldu); y gets it (q), w is scratch (nc).
 * Returns log W (−inf when a constraint's probability underflows). */
static double ghk_draw(const LCtx *c, const Pair *p, const double *xi, size_t ld,
                       const double *u, size_t ldu, double *y, double *w)
{
  int q = c->q;
  for (int t = 0; t < q; t++)
    y[t] = xi[(size_t)t * ld];
  double a = dot(y, p->vh, q);
  for (int t = 0; t < q; t++)
    y[t] -= a * p->vh[t];
  for (int l = 0; l < p->r; l++) {
    const double *Ql = p->Q + (size_t)l * q;
    double h = dot(Ql, y, q);
    for (int t = 0; t < q; t++)
      y[t] -= h * Ql[t];
  }
  double lw = 0;
  for (int k = 0; k < p->nc; k++) {
    if (p->col[k] < 0)
      continue;
    const double *L = p->L + (size_t)k * c->ncmax;
    double s = p->m[k] + dot(L, w, p->nl[k]);
    double lo = -s / L[p->col[k]];       /* w_col >= lo */
    double P = gauss_cdf(-lo);
    double wk = lo;
    if (P > 1e-300) {
      lw += log(P);
      wk = -gauss_quantile_fast(u[(size_t)k * ldu] * P);
      wk = wk > lo ? wk : lo;
    } else {
      lw += gauss_log_cdf(-lo);
    }
    w[p->col[k]] = wk;
  }
  for (int l = 0; l < p->r; l++)
    for (int t = 0; t < q; t++)
      y[t] += w[l] * p->Q[(size_t)l * q + t];
  for (int t = 0; t < q; t++)
    y[t] += p->z0 * p->vh[t];
  return lw;
}

/* log W at the projection of y (q, stride ld) on p's interface, or −inf
 * when the projection is outside the cone GHK samples. */
static double ghk_logw(const LCtx *c, const Pair *p, const double *y, size_t ld, double *yp,
                       double *w)
{
  int q = c->q;
  for (int t = 0; t < q; t++)
    yp[t] = y[(size_t)t * ld];
  double a = dot(yp, p->vh, q);
  for (int t = 0; t < q; t++)
    yp[t] -= a * p->vh[t];
  for (int l = 0; l < p->r; l++)
    w[l] = dot(p->Q + (size_t)l * q, yp, q);
  double lw = 0;
  for (int k = 0; k < p->nc; k++) {
    if (p->col[k] < 0)
      continue;
    const double *L = p->L + (size_t)k * c->ncmax;
    double s = p->m[k] + dot(L, w, p->nl[k]);
    double lo = -s / L[p->col[k]];
    if (w[p->col[k]] < lo)
      return -INFINITY;
    double P = gauss_cdf(-lo);
    lw += P > 1e-300 ? log(P) : gauss_log_cdf(-lo);
  }
  return lw;
}

/* ------------------------------------------------------------ thread scratch */

/* Column arrays have leading dimension ld = n + 8, so that the rows of a
 * block (8 KB apart for n = 1024) do not all fall into the same cache set. */
typedef struct Scr {
  size_t ld;
  double *xi, *y0, *Z;                  /* q, q, nZ rows */
  double *up, *ul, *ug;                 /* layer uniforms (ug: ncmax rows of n) */
  double *pair, *lw, *yn, *au, *D, *lq, *H, *kap, *gv, *Y, *Ys, *lr, *tmp, *tmp2;
  double *fm, *win, *mv, *delta, *lead;
  double *e, *fb, *g, *P;               /* K rows (P: K + nT, SΔ then Cov(m, f)Δ) */
  double *base, *slope, *fb0, *frate;   /* K rows: a layer point's logits and experts */
  double *Tp, *tr, *V0, *vr;            /* per sample: teacher logits, targets (rows) */
  double *yv, *wv;
} Scr;

static int n_targets(const LCtx *c) { return c->nV - c->K; }

static size_t scr_doubles(const LCtx *c, size_t n)
{
  size_t K = (size_t)c->K, q = (size_t)c->q, ld = n + 8, nT = (size_t)n_targets(c);
  size_t Kt = (size_t)(c->Kt ? c->Kt : 1);
  return 2 * q * ld + (size_t)c->nZ * ld + 2 * n + (size_t)c->ncmax * n + 21 * ld +
         (8 * K + nT) * ld + 2 * (Kt + nT) * n + 2 * q + (size_t)c->ncmax + 8;
}

static Scr carve(const LCtx *c, double *base, size_t n)
{
  size_t K = (size_t)c->K, q = (size_t)c->q, ld = n + 8, nT = (size_t)n_targets(c);
  size_t Kt = (size_t)(c->Kt ? c->Kt : 1);
  Scr s;
  double *p = base;
  s.ld = ld;
#define TAKE(f, cnt) (s.f = p, p += (cnt))
  TAKE(xi, q * ld);
  TAKE(y0, q * ld);
  TAKE(Z, (size_t)c->nZ * ld);
  TAKE(up, n);
  TAKE(ul, n);
  TAKE(ug, (size_t)c->ncmax * n);
  TAKE(pair, ld);
  TAKE(lw, ld);
  TAKE(yn, ld);
  TAKE(au, ld);
  TAKE(D, ld);
  TAKE(lq, ld);
  TAKE(H, ld);
  TAKE(kap, ld);
  TAKE(gv, ld);
  TAKE(Y, ld);
  TAKE(Ys, ld);
  TAKE(lr, ld);
  TAKE(tmp, 2 * ld);
  TAKE(tmp2, ld);
  TAKE(fm, ld);
  TAKE(win, ld);
  TAKE(mv, ld);
  TAKE(delta, ld);
  TAKE(lead, ld);
  TAKE(e, K * ld);
  TAKE(fb, K * ld);
  TAKE(g, K * ld);
  TAKE(P, (K + nT) * ld);
  TAKE(base, K * ld);
  TAKE(slope, K * ld);
  TAKE(fb0, K * ld);
  TAKE(frate, K * ld);
  TAKE(Tp, Kt * n);
  TAKE(tr, Kt * n);
  TAKE(V0, nT * n);
  TAKE(vr, nT * n);
  TAKE(yv, q + 1);
  TAKE(wv, (size_t)c->ncmax + q + 1);
#undef TAKE
  return s;
}

/* ------------------------------------------------------------ interface points */

/* The teacher's expert at a layer point: argmax of Tp + δ·tr (ties to the
 * lower index), or for lim = ±1 the one-sided limit δ → ±0.  Tp holds the
 * teacher's logits at the interface point with those within SNAP_REL of
 * the largest set equal to it (interface_prep). */
static int teacher_pick(int Kt, const double *Tp, const double *tr, double delta, int lim)
{
  int best = 0;
  for (int a = 1; a < Kt; a++) {
    double d = lim ? Tp[a] - Tp[best] : (Tp[a] - Tp[best]) + delta * (tr[a] - tr[best]);
    if (d > 0 || (lim && d == 0 && lim * (tr[a] - tr[best]) > 0))
      best = a;
  }
  return best;
}

/* For the layer samples at columns [c0, c0 + cnt) with pairs and interface
 * points Z (rows at stride ld): the logits relative to a_i and their rates
 * (base, slope: a layer point's logits are base + δ·slope, with a_i's
 * exactly 0 and a_j's exactly −δ), the experts (fb0 + δ·frate), the
 * teacher's logits and the targets per sample (Tp + δ·tr, V0 + δ·vr). */
static void interface_prep(const LCtx *c, Scr *s, size_t c0, size_t cnt)
{
  int K = c->K, nT = n_targets(c), Kt = c->Kt;
  size_t ld = s->ld;
  for (size_t i = c0; i < c0 + cnt; i++) {
    const Pair *p = &c->pairs[(int)s->pair[i]];
    const double *Z0 = s->Z + i, *rate = p->rate;
    double ai = Z0[(size_t)p->i * ld];
    for (int k = 0; k < K; k++) {
      int own = k == p->i || k == p->j;
      s->base[(size_t)k * ld + i] = own ? 0 : Z0[(size_t)k * ld] - ai;
      s->slope[(size_t)k * ld + i] = k == p->j ? -1 : own ? 0 : rate[k] - rate[p->i];
      s->fb0[(size_t)k * ld + i] = Z0[(size_t)(c->nR + k) * ld];
      s->frate[(size_t)k * ld + i] = rate[c->nR + k];
    }
    double *Tp = s->Tp + (i - c0) * (size_t)(Kt ? Kt : 1), *tr = s->tr + (i - c0) * (size_t)(Kt ? Kt : 1);
    int top = 0;
    for (int a = 0; a < Kt; a++) {
      Tp[a] = Z0[(size_t)(K + a) * ld];
      tr[a] = rate[K + a];
      top = Tp[a] > Tp[top] ? a : top;
    }
    for (int a = 0; a < Kt; a++) {
      int ra = K + a, rb = K + top;
      double tol = SNAP_REL * (fabs(c->mu[ra]) + fabs(c->mu[rb]) +
                               (c->rownorm[ra] + c->rownorm[rb]) * s->yn[i]);
      if (Tp[top] - Tp[a] <= tol)
        Tp[a] = Tp[top];
    }
    for (int a = 0; a < nT; a++) {
      s->V0[(i - c0) * nT + a] = Z0[(size_t)(c->nR + K + a) * ld];
      s->vr[(i - c0) * nT + a] = rate[c->nR + K + a];
    }
  }
}

/* The interface integrand 2 ln 2·E[DJ | y_0] − E[D² | y_0] at prepared
 * layer sample i (column col, row r of the per-sample arrays), if i and j
 * lead there (else 0); *mag gets E[D²] + 2 ln 2·|E[DJ]| (0 likewise), the
 * pilot's measure of the layer's size. */
static double kappa_at(const LCtx *c, const Scr *s, size_t col, size_t r, double *mag)
{
  const Pair *p = &c->pairs[(int)s->pair[col]];
  int K = c->K, nV = c->nV, nT = n_targets(c), Kt = c->Kt, i = p->i, j = p->j;
  size_t ld = s->ld;
  const double *S = c->S, *CV = c->CV;
  *mag = 0;
  for (int k = 0; k < K; k++)
    if (s->base[(size_t)k * ld + col] > 0)
      return 0;
  double Db = s->fb0[(size_t)i * ld + col] - s->fb0[(size_t)j * ld + col];
  double ED2 = Db * Db + S[i * K + i] + S[j * K + j] - 2 * S[i * K + j];
  double EDJ = 0;
  if (Kt) {
    const double *Tp = s->Tp + r * Kt, *tr = s->tr + r * Kt, *V0 = s->V0 + r * nT;
    int up = teacher_pick(Kt, Tp, tr, 0, 1), dn = teacher_pick(Kt, Tp, tr, 0, -1);
    if (up != dn)
      EDJ = Db * (V0[up] - V0[dn]) + CV[i * nV + K + up] - CV[j * nV + K + up] -
            CV[i * nV + K + dn] + CV[j * nV + K + dn];
  }
  *mag = ED2 + 2 * LN2 * fabs(EDJ);
  return 2 * LN2 * EDJ - ED2;
}

/* ------------------------------------------------------------ the gap's integrand */

/* sum[i] += gk[i] where k is not the winner win[i]. */
static __attribute__((noinline)) void sum_others(size_t nn, int k, const double *restrict gk,
                                                 const double *restrict win,
                                                 double *restrict sum)
{
  double kd = k;
  for (size_t i = 0; i < nn; i++)
    sum[i] += win[i] == kd ? 0.0 : gk[i];
}

/* out[i] = g_τ = E[(F_τ − F_0)(F_τ + F_0 − 2m) | y] for nn points given by
 * logits e (any shift), expert means fb, fm = f̄_w − m̄, the hard winner w
 * and the target row mv (0 for an affine target).  With Δ = g^τ − 1_w (Δ_w
 * summed from the others, so small gaps keep their digits), A = Δ·f̄,
 *   g_τ = A(A + 2 fm) + ΔᵀSΔ + 2 (SΔ)_w − 2 Cov(m, f)·Δ.
 * Column arrays at stride ld; work 2·nn. */
static void gap_values(const LCtx *c, const Scr *s, size_t c0, size_t nn, double tau, double *out)
{
  int K = c->K, nT = n_targets(c);
  size_t ld = s->ld;
  double *g = s->g + c0, *P = s->P + c0, *CT = P + (size_t)K * ld, *A = s->tmp;
  const double *e = s->e + c0, *fb = s->fb + c0, *fm = s->fm + c0;
  const double *win = s->win + c0, *mv = s->mv + c0;
  vm_softmax_cols(K, nn, e, ld, 1 / tau, g, ld, s->tmp);
  for (size_t i = 0; i < nn; i++)
    A[i] = 0;
  for (int k = 0; k < K; k++)
    sum_others(nn, k, g + (size_t)k * ld, win, A);
  for (size_t i = 0; i < nn; i++)
    g[(size_t)win[i] * ld + i] = -A[i];
  la_gemm(K + nT, (int)nn, K, c->SC, K, g, (int)ld, P, (int)ld);   /* P, then CT */
  for (size_t i = 0; i < nn; i++)
    out[i] = A[i] = 0;
  for (int k = 0; k < K; k++) {
    const double *gk = g + (size_t)k * ld, *fk = fb + (size_t)k * ld, *pk = P + (size_t)k * ld;
    for (size_t i = 0; i < nn; i++) {
      A[i] += gk[i] * fk[i];
      out[i] += gk[i] * pk[i];
    }
  }
  for (size_t i = 0; i < nn; i++)
    out[i] += A[i] * (A[i] + 2 * fm[i]) +
              2 * (P[(size_t)win[i] * ld + i] - CT[(size_t)mv[i] * ld + i]);
}

/* The hard model's expected squared error for winner w and target row a. */
static double hard_loss(const LCtx *c, int w, int a, double fm)
{
  int K = c->K, nV = c->nV;
  return fm * fm + c->CV[(K + a) * nV + K + a] - 2 * c->CV[w * nV + K + a] + c->S[w * K + w];
}

/* The power heuristic's contributions (exponent 2) for n points with lr =
 * log(f_L ρ) (±inf allowed): out = g·f_0/(f_0² + e^{2 lr}) for ordinary
 * points (layer = 0), g·e^{lr}/(f_0² + e^{2 lr}) for layer points, each
 * times e^{lsc}; computed in logs, with f_0² dropped against e^{2 lr} once
 * lr ≥ 18 (a relative 1e-16), so lr = +inf gives 0 and not inf − inf. */
static void mis_apply(size_t n, const double *lr, double f0, double lsc, int layer,
                      const double *g, double *out, double *tmp)
{
  for (size_t i = 0; i < n; i++)
    tmp[i] = lr[i] < 18 ? 2 * lr[i] : 36;
  vm_exp_n(tmp, tmp, n);
  for (size_t i = 0; i < n; i++)
    tmp[i] += f0 * f0;
  vm_log_n(tmp, tmp, n);
  double lf0 = log(f0);
  for (size_t i = 0; i < n; i++) {
    int big = lr[i] >= 18;
    if (layer)
      tmp[i] = lsc + (big ? -lr[i] : lr[i] - tmp[i]);
    else
      tmp[i] = lsc + lf0 - (big ? 2 * lr[i] : tmp[i]);
  }
  vm_exp_n(tmp, tmp, n);
  for (size_t i = 0; i < n; i++)
    out[i] = g[i] == 0 ? 0 : g[i] * tmp[i];
}

/* ------------------------------------------------------------ blocks */

/* Z (nZ rows at stride ld) = mu + F·y for cols columns. */
static void affine_cols(const LCtx *c, const double *y, size_t cols, size_t ld, double *Z)
{
  if (cols == 0)
    return;
  la_gemm(c->nZ, (int)cols, c->q, c->F, c->q, y, (int)ld, Z, (int)ld);
  for (int r = 0; r < c->nZ; r++)
    for (size_t i = 0; i < cols; i++)
      Z[(size_t)r * ld + i] += c->mu[r];
}

static int pick_pair(const LCtx *c, double u)
{
  int lo = 0, hi = c->npairs - 1;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (u < c->cum[mid])
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* The two strata's moments of x (ordinary: [0, n0), layer: [n0, n)). */
static void put2(double *acc, const double *x, size_t n0, size_t n)
{
  Moments a = moments_of(x, n0), b = moments_of(x + n0, n - n0);
  acc[0] = a.n, acc[1] = a.mean, acc[2] = a.m2;
  acc[3] = b.n, acc[4] = b.mean, acc[5] = b.m2;
}

/* The ordinary samples [0, n0): their points (fixed for every τ), hard
 * losses, top-two pairs and the τ-free part of log ρ. */
static void ordinary_points(const LCtx *c, Scr *s, size_t n0)
{
  int K = c->K;
  size_t ld = s->ld;
  affine_cols(c, s->xi, n0, ld, s->Z);
  for (size_t i = 0; i < n0; i++) {
    const double *Zi = s->Z + i;
    int w = 0, v = -1;
    for (int k = 1; k < K; k++)
      if (Zi[(size_t)k * ld] > Zi[(size_t)w * ld]) {
        v = w;
        w = k;
      } else if (v < 0 || Zi[(size_t)k * ld] > Zi[(size_t)v * ld]) {
        v = k;
      }
    int a = 0;
    for (int t = 1; t < c->Kt; t++)
      if (Zi[(size_t)(K + t) * ld] > Zi[(size_t)(K + a) * ld])
        a = t;
    double zw = Zi[(size_t)w * ld];
    for (int k = 0; k < K; k++) {
      s->e[(size_t)k * ld + i] = Zi[(size_t)k * ld] - zw;
      s->fb[(size_t)k * ld + i] = Zi[(size_t)(c->nR + k) * ld];
    }
    s->win[i] = w;
    s->mv[i] = a;
    s->fm[i] = Zi[(size_t)(c->nR + w) * ld] - Zi[(size_t)(c->nR + K + a) * ld];
    s->H[i] = hard_loss(c, w, a, s->fm[i]);
    int pi = w < v ? w : v, pj = w < v ? v : w, pidx = c->pair_of[pi * K + pj];
    const Pair *p = &c->pairs[pidx];
    s->pair[i] = pidx;
    s->D[i] = Zi[(size_t)pi * ld] - Zi[(size_t)pj * ld];
    double lw = p->pi > 0 ? ghk_logw(c, p, s->xi + i, ld, s->yv, s->wv) : -INFINITY;
    double z = lw > -INFINITY ? (s->D[i] - p->mu) / p->sd : 0;
    s->lq[i] = lw > -INFINITY ? p->logpc + 0.5 * z * z - lw : -INFINITY;
  }
}

/* GHK interface points for columns [c0, c0 + cnt) with pairs set: y0, log
 * W, |y0|, then Z = mu + F y0 and interface_prep. */
static void interface_points(const LCtx *c, Scr *s, size_t c0, size_t cnt, const double *ug,
                             size_t ldu)
{
  size_t ld = s->ld;
  for (size_t i = 0; i < cnt; i++) {
    const Pair *p = &c->pairs[(int)s->pair[c0 + i]];
    s->lw[c0 + i] = ghk_draw(c, p, s->xi + c0 + i, ld, ug + i, ldu, s->yv, s->wv);
    for (int t = 0; t < c->q; t++)
      s->y0[(size_t)t * ld + c0 + i] = s->yv[t];
    s->yn[c0 + i] = norm(s->yv, c->q);
  }
  affine_cols(c, s->y0 + c0, cnt, ld, s->Z + c0);
  interface_prep(c, s, c0, cnt);
}

/* The layer samples [n0, n): pairs, interface points, |u|, κ's values and
 * the τ-free part of log ρ. */
static void layer_points(const LCtx *c, Scr *s, size_t n0, size_t n)
{
  size_t nL = n - n0;
  for (size_t i = 0; i < nL; i++)
    s->pair[n0 + i] = pick_pair(c, s->up[i]);
  interface_points(c, s, n0, nL, s->ug, nL);
  vm_log_n(s->ul, s->au + n0, nL);
  for (size_t i = n0; i < n; i++) {
    const Pair *p = &c->pairs[(int)s->pair[i]];
    double mag, k = kappa_at(c, s, i, i - n0, &mag);
    s->au[i] = -s->au[i];
    s->kap[i] = s->lw[i] > -INFINITY ? p->phi0 * exp(s->lw[i]) * k / p->pi * ((double)n / (double)nL)
                                     : 0;
    s->lq[i] = s->lw[i] > -INFINITY ? p->logpc - s->lw[i] : -INFINITY;
  }
}

/* One logit row and one expert row of the layer points, and the count of
 * logits at or above the pair's lower one (2: the pair leads).  Kept out
 * of line so that the restrict qualifiers reach the vectoriser. */
static __attribute__((noinline)) void
layer_row(size_t n0, size_t n, double *restrict e, double *restrict fb, const double *restrict b,
          const double *restrict sl, const double *restrict f0, const double *restrict fr,
          const double *restrict dl, const double *restrict lead, double *restrict cnt)
{
  for (size_t i = n0; i < n; i++) {
    double ev = b[i] + dl[i] * sl[i];
    e[i] = ev;
    fb[i] = f0[i] + dl[i] * fr[i];
    cnt[i] += ev >= lead[i] ? 1.0 : 0.0;
  }
}

/* The layer points at δ = sign·s·|u| for temperature t: the integrand's
 * inputs for [n0, n), Ys = 1 where the pair leads there (else 0), and lr
 * = log(f_L ρ). */
static void layer_at(const LCtx *c, Scr *s, size_t n0, size_t n, size_t t, int sign, double lfl)
{
  int K = c->K, Kt = c->Kt, nT = n_targets(c);
  size_t ld = s->ld;
  for (size_t i = n0; i < n; i++) {
    size_t pt = (size_t)s->pair[i] * c->ntau + t;
    s->delta[i] = sign * c->s[pt] * s->au[i];
    s->lead[i] = s->delta[i] > 0 ? -s->delta[i] : 0;
    s->Ys[i] = 0;
  }
  for (int k = 0; k < K; k++) {
    size_t o = (size_t)k * ld;
    layer_row(n0, n, s->e + o, s->fb + o, s->base + o, s->slope + o, s->fb0 + o, s->frate + o,
              s->delta, s->lead, s->Ys);
  }
  for (size_t i = n0; i < n; i++) {
    const Pair *p = &c->pairs[(int)s->pair[i]];
    size_t r = i - n0, pt = (size_t)s->pair[i] * c->ntau + t;
    double delta = s->delta[i];
    int w = delta >= 0 ? p->i : p->j;
    int a = Kt ? teacher_pick(Kt, s->Tp + r * Kt, s->tr + r * Kt, delta, 0) : 0;
    s->win[i] = w;
    s->mv[i] = a;
    s->fm[i] = s->fb[(size_t)w * ld + i] - (s->V0[r * nT + a] + delta * s->vr[r * nT + a]);
    int ok = s->Ys[i] == 2 && s->lq[i] > -INFINITY;
    double z = (delta - p->mu) / p->sd;
    s->Ys[i] = ok;
    s->lr[i] = ok ? lfl + s->lq[i] + 0.5 * z * z - fabs(delta) * c->inv_s[pt] - c->log2s[pt]
                  : -INFINITY;
  }
}

typedef struct Run {
  LCtx *c;
  Moments *m;            /* per quantity (hard, κ, then soft and gap per τ): 2 strata */
} Run;

static size_t nquant(const LCtx *c) { return 2 + 2 * c->ntau; }

static RtStatus layer_block(void *ctx, EstThread *th, const SampleBlock *sb, double *acc)
{
  const Run *run = ctx;
  const LCtx *c = run->c;
  size_t n = sb->n, n0 = (n + 1) / 2, nL = n - n0;
  Scr s = carve(c, th->scratch, n);
  RngStream rs;
  rng_init(&rs, sb->seed, sb->block, 0);
  rng_uniform(&rs, s.up, nL);
  for (int t = 0; t < c->q; t++)
    rng_normal(&rs, s.xi + (size_t)t * s.ld, n);
  rng_uniform(&rs, s.ug, (size_t)c->ncmax * nL);
  rng_uniform(&rs, s.ul, nL);
  double f0 = (double)n0 / (double)n, lfl = nL ? log((double)nL / (double)n) : -INFINITY;
  ordinary_points(c, &s, n0);
  layer_points(c, &s, n0, n);
  for (size_t i = 0; i < n; i++) {
    s.H[i] = i < n0 ? s.H[i] * ((double)n / (double)n0) : 0;
    s.kap[i] = i < n0 ? 0 : s.kap[i];
  }
  put2(acc, s.H, n0, n);
  put2(acc + 6, s.kap, n0, n);
  for (size_t t = 0; t < c->ntau; t++) {
    double tau = c->tau[t], unit = c->unit[t], lsc = -log(unit);
    gap_values(c, &s, 0, n0, tau, s.gv);
    for (size_t i = 0; i < n0; i++) {
      size_t pt = (size_t)s.pair[i] * c->ntau + t;
      s.lr[i] = s.lq[i] == -INFINITY ? -INFINITY
                                     : lfl + s.lq[i] - fabs(s.D[i]) * c->inv_s[pt] - c->log2s[pt];
    }
    mis_apply(n0, s.lr, f0, lsc, 0, s.gv, s.Y, s.tmp);
    for (size_t i = n0; i < n; i++)
      s.Y[i] = 0;
    for (int sign = 1; sign >= -1 && nL; sign -= 2) {
      layer_at(c, &s, n0, n, t, sign, lfl);
      gap_values(c, &s, n0, nL, tau, s.gv + n0);
      for (size_t i = n0; i < n; i++)
        s.gv[i] *= s.Ys[i];
      mis_apply(nL, s.lr + n0, f0, lsc, 1, s.gv + n0, s.tmp2, s.tmp);
      for (size_t i = 0; i < nL; i++)
        s.Y[n0 + i] += 0.5 * s.tmp2[i];
    }
    for (size_t i = 0; i < n; i++)
      s.Ys[i] = s.H[i] + s.Y[i] * unit;
    put2(acc + 12 + 12 * t, s.Ys, n0, n);
    put2(acc + 18 + 12 * t, s.Y, n0, n);
  }
  return RT_OK;
}

static void layer_reduce(void *ctx, const SampleBlock *sb, const double *acc)
{
  Run *run = ctx;
  (void)sb;
  for (size_t qi = 0; qi < 2 * nquant(run->c); qi++) {
    Moments b = {acc[3 * qi], acc[3 * qi + 1], acc[3 * qi + 2]};
    moments_merge(&run->m[qi], b);
  }
}

/* (estimate, standard error) of a quantity from its two strata. */
static void strata(const Moments *m, double *val, double *se)
{
  double N = m[0].n + m[1].n, v = 0, e = 0;
  for (int k = 0; k < 2; k++) {
    if (m[k].n == 0)
      continue;
    v += m[k].n * m[k].mean;
    double f = m[k].n / N;
    e += m[k].n < 2 ? INFINITY : f * f * m[k].m2 / ((m[k].n - 1) * m[k].n);
  }
  *val = N > 0 ? v / N : 0;
  *se = sqrt(e);
}

/* ------------------------------------------------------------ pilot */

/* Block p of the pilot: pilot_n interface points of pair p; acc gets the
 * means of W²·mag² and of W. */
static RtStatus pilot_block(void *ctx, EstThread *th, const SampleBlock *sb, double *acc)
{
  const LCtx *c = ctx;
  const Pair *p = &c->pairs[sb->block];
  acc[0] = acc[1] = 0;
  if (!(p->sd > 0))
    return RT_OK;
  size_t n = c->pilot_n;
  Scr s = carve(c, th->scratch, n);
  RngStream rs;
  rng_init(&rs, sb->seed, sb->block, LAYER_PILOT_SUB);
  for (int t = 0; t < c->q; t++)
    rng_normal(&rs, s.xi + (size_t)t * s.ld, n);
  rng_uniform(&rs, s.ug, (size_t)c->ncmax * n);
  for (size_t i = 0; i < n; i++)
    s.pair[i] = (double)sb->block;
  interface_points(c, &s, 0, n, s.ug, n);
  double m2 = 0, m1 = 0;
  for (size_t i = 0; i < n; i++) {
    double mag, W = exp(s.lw[i]);
    kappa_at(c, &s, i, i, &mag);
    m2 += W * W * mag * mag;
    m1 += W;
  }
  acc[0] = m2 / (double)n;
  acc[1] = m1 / (double)n;
  return RT_OK;
}

static void pilot_reduce(void *ctx, const SampleBlock *sb, const double *acc)
{
  LCtx *c = ctx;
  c->pilot[2 * sb->block] = acc[0];
  c->pilot[2 * sb->block + 1] = acc[1];
}

/* π from the pilot: PILOT_SHARE ∝ φ_D(0)·√E[W²·mag²], the rest ∝
 * φ_D(0)·E[W] (the pair's boundary density); returns the number of pairs
 * with π > 0. */
static int shares(LCtx *c)
{
  double ta = 0, tb = 0;
  for (int k = 0; k < c->npairs; k++) {
    Pair *p = &c->pairs[k];
    double a = p->sd > 0 ? p->phi0 * sqrt(c->pilot[2 * k]) : 0;
    double b = p->sd > 0 ? p->phi0 * c->pilot[2 * k + 1] : 0;
    c->pilot[2 * k] = isfinite(a) ? a : 0;
    c->pilot[2 * k + 1] = isfinite(b) ? b : 0;
    ta += c->pilot[2 * k];
    tb += c->pilot[2 * k + 1];
  }
  double wa = ta > 0 ? PILOT_SHARE : 0, wb = 1 - wa, cum = 0;
  int active = 0;
  for (int k = 0; k < c->npairs; k++) {
    Pair *p = &c->pairs[k];
    p->pi = (ta > 0 ? wa * c->pilot[2 * k] / ta : 0) + (tb > 0 ? wb * c->pilot[2 * k + 1] / tb : 0);
    active += p->pi > 0;
    p->logpc = p->pi > 0 ? log(p->pi * p->sd) + LOG_SQRT_2PI : -INFINITY;
    cum += p->pi;
    c->cum[k] = cum;
  }
  for (int k = c->npairs - 1; k >= 0 && active; k--) {   /* the last used pair ends at 1 */
    c->cum[k] = 2;
    if (c->pairs[k].pi > 0)
      break;
  }
  return tb > 0 ? active : 0;
}

/* ------------------------------------------------------------ entry */

static RtStatus ctx_init(Rt *rt, LCtx *c, const RbSpace *sp, const double *tau, size_t ntau,
                         int *degenerate)
{
  memset(c, 0, sizeof *c);
  *degenerate = 0;
  c->K = sp->K, c->Kt = sp->Kt, c->q = sp->q, c->nR = sp->nR, c->nV = sp->nV;
  c->nZ = sp->nR + sp->nV;
  c->ncmax = c->K - 2;
  c->mu = sp->mean, c->F = sp->factor, c->CV = sp->CV;
  c->tau = tau, c->ntau = ntau;
  c->npairs = c->K * (c->K - 1) / 2;
  size_t pd = pair_doubles(c), nc = (size_t)(c->ncmax ? c->ncmax : 1);
  if ((double)pd * c->npairs > MAX_POOL_DOUBLES) {
    *degenerate = 1;
    return RT_OK;
  }
  c->S = rt_array(rt, (size_t)c->K * c->K, sizeof *c->S);
  c->SC = rt_array(rt, (size_t)c->nV * c->K, sizeof *c->SC);
  c->rownorm = rt_array(rt, (size_t)c->nZ, sizeof *c->rownorm);
  c->pairs = rt_calloc(rt, (size_t)c->npairs, sizeof *c->pairs);
  c->pair_of = rt_calloc(rt, (size_t)c->K * c->K, sizeof *c->pair_of);
  c->cum = rt_array(rt, (size_t)c->npairs, sizeof *c->cum);
  c->pool = rt_calloc(rt, pd * c->npairs, sizeof *c->pool);
  c->ipool = rt_calloc(rt, 2 * nc * c->npairs, sizeof *c->ipool);
  c->s = rt_array(rt, 3 * (size_t)c->npairs * ntau + ntau + 1, sizeof *c->s);
  c->pilot = rt_calloc(rt, 2 * (size_t)c->npairs, sizeof *c->pilot);
  double *work = rt_array(rt, (size_t)(c->ncmax + 1) * (c->q + 3) + (size_t)c->q + 8, sizeof *work);
  int *ord = rt_array(rt, nc, sizeof *ord);
  RtStatus st = c->S && c->SC && c->rownorm && c->pairs && c->pair_of && c->cum && c->pool && c->ipool &&
                        c->s && c->pilot && work && ord
                    ? RT_OK
                    : RT_ENOMEM;
  if (!st) {
    c->inv_s = c->s + (size_t)c->npairs * ntau;
    c->log2s = c->inv_s + (size_t)c->npairs * ntau;
    c->unit = c->log2s + (size_t)c->npairs * ntau;
    for (int i = 0; i < c->K; i++)
      memcpy(c->S + (size_t)i * c->K, c->CV + (size_t)i * c->nV, (size_t)c->K * sizeof *c->S);
    for (int a = 0; a < c->nV; a++)
      memcpy(c->SC + (size_t)a * c->K, c->CV + (size_t)a * c->nV, (size_t)c->K * sizeof *c->SC);
    for (int r = 0; r < c->nZ; r++)
      c->rownorm[r] = norm(c->F + (size_t)r * c->q, c->q);
    for (size_t t = 0; t < ntau; t++)
      c->unit[t] = tau[t] < 1 ? tau[t] : 1;
  }
  int k = 0;
  for (int i = 0; !st && i < c->K; i++)
    for (int j = i + 1; j < c->K; j++, k++) {
      Pair *p = &c->pairs[k];
      p->i = i, p->j = j;
      c->pair_of[i * c->K + j] = k;
      pair_carve(c, p, (size_t)k);
      if (pair_init(c, p, work, ord))
        *degenerate = 1;
      for (size_t t = 0; t < ntau; t++) {
        double sc = p->sd > 0 && p->sd < tau[t] ? p->sd : tau[t];
        c->s[(size_t)k * ntau + t] = sc;
        c->inv_s[(size_t)k * ntau + t] = 1 / sc;
        c->log2s[(size_t)k * ntau + t] = log(2 * sc);
      }
    }
  rt_free(rt, work);
  rt_free(rt, ord);
  return st;
}

static void describe(const LCtx *c, int active, LayerInfo *info)
{
  info->pairs = c->npairs;
  info->active = active;
  snprintf(info->path, sizeof info->path,
           "boundary-layer importance sampling in the Rao-Blackwell space: half the samples "
           "ordinary (they give R_0), half on the routing interfaces (%d of %d pairs, shares "
           "from a pilot of %zu per pair; GHK points where the pair leads; distance Laplace(tau) "
           "on both sides), power-heuristic weights (common random numbers)",
           active, c->npairs, c->pilot_n);
  snprintf(info->kappa_note, sizeof info->kappa_note,
           "directly, as the interface integral of 2 ln2 DJ - D^2 over the layer samples' "
           "interface points (no extrapolation in tau, no bias; aligned-teacher ties resolved "
           "at 1e-12 relative)");
}

static RtStatus run(Rt *rt, LCtx *c, const QueryOpts *o, double noise, RiskOut *out)
{
  size_t B = rt->block ? rt->block : 2048;
  Run r = {c, rt_calloc(rt, 2 * nquant(c), sizeof(Moments))};
  if (!r.m)
    return RT_ENOMEM;
  EstKernel k = {&r, scr_doubles(c, B) * sizeof(double), 6 * nquant(c), layer_block,
                 layer_reduce};
  RtStatus st = est_run(rt, &k, o->samples, o->seed, &out->done);
  double v, e;
  strata(r.m, &v, &e);
  out->hard = v + noise * noise;
  out->hard_se = e;
  strata(r.m + 2, &out->kappa, &out->kappa_se);
  for (size_t t = 0; t < c->ntau; t++) {
    strata(r.m + 4 + 4 * t, &v, &e);
    out->soft[t] = v + noise * noise;
    out->soft_se[t] = e;
    strata(r.m + 6 + 4 * t, &v, &e);
    out->gap[t] = v * c->unit[t];
    out->gap_se[t] = e * c->unit[t];
  }
  out->kappa_h = 0;
  for (int j = 0; j < 3; j++)
    out->kappa_tau[j] = 0;
  rt_free(rt, r.m);
  return st;
}

RtStatus risklayer_run(Rt *rt, const LossFns *rb, const Model *m, const double *tau,
                       size_t ntau, double noise, const QueryOpts *o, RiskOut *out,
                       LayerInfo *info)
{
  memset(info, 0, sizeof *info);
  if (m->gate && m->gate->kind == GATE_TOPK && m->gate->k < m->nexp)
    return RT_OK;
  RbSpace sp;
  riskrb_space(rb, &sp);
  if (sp.q < 1 || sp.K < 2)
    return RT_OK;
  LCtx c;
  int degenerate;
  RtStatus st = ctx_init(rt, &c, &sp, tau, ntau, &degenerate);
  if (!st && !degenerate) {
    size_t B = rt->block ? rt->block : 2048;
    uint64_t per = o->samples / (16 * (uint64_t)c.npairs);
    c.pilot_n = per < 64 ? 64 : per > B ? B : (size_t)per;
    EstKernel k = {&c, scr_doubles(&c, B) * sizeof(double), 2, pilot_block, pilot_reduce};
    st = est_run(rt, &k, (uint64_t)c.npairs * B, o->seed, NULL);
    info->pilot = (uint64_t)c.npairs * c.pilot_n;
  }
  int active = !st && !degenerate ? shares(&c) : 0;
  if (!st && active) {
    describe(&c, active, info);
    info->applies = 1;
    st = run(rt, &c, o, noise, out);
  }
  ctx_free(rt, &c);
  return st;
}
