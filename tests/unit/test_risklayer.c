/*
 * test_risklayer.c — the boundary-layer estimator of the gap (runtime/
 * risklayer.c) against answers it does not compute itself:
 *
 *   - K = 2, forced onto cases the quadrature path (riskquad.c, exact to
 *     ~1e-10) solves: gap, hard risk and κ within 4 standard errors for τ
 *     from 1 to 1e-6, for an affine target and for a teacher with its own
 *     router, d = 1, 4, 12;
 *   - K = 3, 5, 6 (d = 2 .. 7) with all but two experts pushed far below
 *     the others, so that the answer is a K = 2 problem's quadrature: the
 *     same checks, through the GHK constraints (rank-deficient ones too);
 *   - K = 3, 4, 8 (affine target; teacher with its own router): against
 *     plain Rao–Blackwell and plain Monte Carlo (query_risk, method "mc") at
 *     every τ within 4 combined standard errors, and a gap standard error
 *     at τ = 0.01 far below Rao–Blackwell's at the same sample count;
 *   - κ against MATH.md's special cases with ∫D² dν computed here in x
 *     space in closed form (K = 3: a truncated bivariate normal moment):
 *     κ = −∫D² dν for a continuous target, (2 ln 2 − 1)∫D² dν for the
 *     aligned teacher, and G(τ)/τ → κ;
 *   - τ = 1e-300 and 1e300: finite, G/τ = κ at the bottom, the uniform gate's
 *     risk (a closed form) at the top;
 *   - honest standard errors: over 200 seeds (K = 3 teacher, K = 8 affine)
 *     the spread of the gap at τ = 1, 0.01, 1e-4, of κ and of the hard risk
 *     matches the root mean square reported standard error within 20%;
 *   - bit-identical results for 1, 2 and 3 threads; no leaks, and every
 *     failing allocation reported as RT_ENOMEM with nothing leaked.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gauss.h"
#include "law.h"
#include "model.h"
#include "result.h"
#include "risk.h"
#include "risklayer.h"
#include "riskmc.h"
#include "router.h"
#include "tap.h"
#include "testalloc.h"
#include "vm.h"

#define LN2 0.69314718055994530942
#define MAXD 16
#define MAXK 8

static Rt rt;

/* ------------------------------------------------------------ problems */

static uint64_t sm_state;

static double unif(void)
{
  uint64_t z = (sm_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return ((double)(z >> 11) + 0.5) * 0x1p-53;
}

static double normal(void)
{
  return sqrt(-2 * log(unif())) * cos(6.283185307179586 * unif());
}

/* A problem in plain arrays, and the runtime objects built from it. */
typedef struct Prob {
  int d, K, Kt;          /* Kt = 0: an affine target */
  double mu[MAXD], cov[MAXD * MAXD];
  double W[MAXK * MAXD], b[MAXK], B[MAXK * MAXD], c[MAXK];
  double Wt[MAXK * MAXD], bt[MAXK], Bt[MAXK * MAXD], ct[MAXK];
  double beta[MAXD], c0, noise;
  Law *x;
  Model *m;
  Target *y;
} Prob;

static void gen(Prob *p, int d, int K, int Kt, uint64_t seed)
{
  memset(p, 0, sizeof *p);
  sm_state = seed;
  p->d = d, p->K = K, p->Kt = Kt, p->noise = 0.1;
  double A[MAXD * MAXD];
  for (int i = 0; i < d * d; i++)
    A[i] = normal();
  for (int i = 0; i < d; i++) {
    p->mu[i] = 0.3 * normal();
    for (int j = 0; j < d; j++) {
      double s = 0;
      for (int k = 0; k < d; k++)
        s += A[i * d + k] * A[j * d + k];
      p->cov[i * d + j] = 0.5 * s / d + (i == j ? 0.5 : 0);
    }
  }
  for (int k = 0; k < K; k++) {
    p->b[k] = 0.3 * normal(), p->c[k] = 0.5 * normal();
    p->bt[k] = 0.3 * normal(), p->ct[k] = 0.5 * normal();
    for (int j = 0; j < d; j++) {
      p->W[k * d + j] = normal() / sqrt(d);
      p->B[k * d + j] = 0.7 * normal();
      p->Wt[k * d + j] = normal() / sqrt(d);
      p->Bt[k * d + j] = 0.7 * normal();
    }
  }
  for (int j = 0; j < d; j++)
    p->beta[j] = 0.7 * normal();
  p->c0 = 0.5 * normal();
}

/* The teacher's router and experts become the model's (J = D). */
static void align(Prob *p)
{
  memcpy(p->Wt, p->W, sizeof p->W);
  memcpy(p->bt, p->b, sizeof p->b);
  memcpy(p->Bt, p->B, sizeof p->B);
  memcpy(p->ct, p->c, sizeof p->c);
}

/* An affine target beta·x + c0 as an expression (a VM program), the way a
 * script's `target y(x) = ...` arrives. */
static RtStatus affine_target(const Prob *p, Target **out)
{
  VmProg *g = vm_new(&rt, "target y", p->d);
  if (!g)
    return RT_ENOMEM;
  VmArg src[MAXD];
  for (int j = 0; j < p->d; j++)
    src[j] = (VmArg){VM_INPUT, (uint32_t)j, 0};
  VmIns ins;
  memset(&ins, 0, sizeof ins);
  ins.op = VM_LINCOMB;
  ins.dst = vm_temp(g);
  ins.k = p->c0;
  ins.mat = vm_matrix(&rt, g, p->beta, 1, (size_t)p->d);
  ins.srcs = vm_sources(&rt, g, src, (size_t)p->d);
  ins.nsrc = (uint32_t)p->d;
  VmArg o = {VM_TEMP, ins.dst, 0};
  if (!ins.mat || !ins.srcs || vm_emit(&rt, g, &ins) || vm_set_outputs(&rt, g, &o, 1)) {
    vm_free(&rt, g);
    return RT_ENOMEM;
  }
  BlockFn *f = vm_blockfn(&rt, g);
  if (!f) {
    vm_free(&rt, g);
    return RT_ENOMEM;
  }
  RtStatus st = target_fn(&rt, f, p->noise, out);
  blockfn_unref(&rt, f);
  return st;
}

static RtStatus experts(const Prob *p, const double *B, const double *c, int n, Expert **e)
{
  RtStatus st = RT_OK;
  for (int k = 0; k < n && !st; k++)
    st = expert_affine(&rt, p->d, B + k * p->d, c[k], &e[k]);
  return st;
}

static void unref_all(Expert **e, int n)
{
  for (int k = 0; k < n; k++)
    expert_unref(&rt, e[k]);
}

static RtStatus build(Prob *p)
{
  Router *r = NULL, *rt_ = NULL;
  Gate *g = NULL;
  Expert *e[MAXK] = {0}, *h[MAXK] = {0};
  RtStatus st = law_normal(&rt, p->d, p->mu, p->cov, "law X", &p->x);
  if (!st)
    st = router_linear(&rt, p->K, p->d, p->W, p->b, &r);
  if (!st)
    st = experts(p, p->B, p->c, p->K, e);
  if (!st)
    st = gate_new(&rt, GATE_SOFTMAX, 0, &g);
  if (!st)
    st = model_new(&rt, r, p->K, e, g, &p->m);
  if (!st && p->Kt) {
    st = router_linear(&rt, p->Kt, p->d, p->Wt, p->bt, &rt_);
    if (!st)
      st = experts(p, p->Bt, p->ct, p->Kt, h);
    if (!st)
      st = target_teacher(&rt, rt_, p->Kt, h, p->noise, &p->y);
  } else if (!st) {
    st = affine_target(p, &p->y);
  }
  router_unref(&rt, r);
  router_unref(&rt, rt_);
  gate_unref(&rt, g);
  unref_all(e, p->K);
  unref_all(h, p->Kt);
  return st;
}

static void unbuild(Prob *p)
{
  law_unref(&rt, p->x);
  model_unref(&rt, p->m);
  target_unref(&rt, p->y);
  p->x = NULL, p->m = NULL, p->y = NULL;
}

/* ------------------------------------------------------------ running */

#define NT_MAX 12

typedef struct Out {
  RiskOut r;
  double soft[NT_MAX], soft_se[NT_MAX], gap[NT_MAX], gap_se[NT_MAX];
  LayerInfo info;
} Out;

static void out_init(Out *o)
{
  memset(o, 0, sizeof *o);
  o->r.soft = o->soft, o->r.soft_se = o->soft_se, o->r.gap = o->gap, o->r.gap_se = o->gap_se;
}

/* The layer estimator, forced (it does not care whether quadrature would
 * apply). */
static RtStatus run_layer(const Prob *p, const double *tau, size_t nt, uint64_t n, uint64_t seed,
                          Out *o)
{
  out_init(o);
  LossFns L;
  int ok = 0;
  QueryOpts q = {n, seed, METHOD_AUTO};
  RtStatus st = riskrb_init(&rt, p->m, p->y, p->x, &L, &ok);
  if (!st && ok)
    st = risklayer_run(&rt, &L, p->m, tau, nt, p->y->noise, &q, &o->r, &o->info);
  if (ok)
    riskrb_free(&rt, &L);
  return st;
}

/* Plain Rao–Blackwell (the estimator the layer replaces). */
static RtStatus run_rb(const Prob *p, const double *tau, size_t nt, uint64_t n, uint64_t seed,
                       Out *o)
{
  out_init(o);
  LossFns L;
  int ok = 0;
  QueryOpts q = {n, seed, METHOD_AUTO};
  RtStatus st = riskrb_init(&rt, p->m, p->y, p->x, &L, &ok);
  if (!st && ok)
    st = risk_accumulate(&rt, &L, tau, nt, 0.05, p->y->noise, &q, &o->r);
  if (ok)
    riskrb_free(&rt, &L);
  return ok || st ? st : RT_EUNSUP;
}

static RtStatus run_quad(const Prob *p, const double *tau, size_t nt, Out *o)
{
  out_init(o);
  int ok = 0;
  RtStatus st = riskquad_run(&rt, p->m, p->y, p->x, tau, nt, &o->r, &ok);
  return ok || st ? st : RT_EUNSUP;
}

/* Plain Monte Carlo through the query (method "mc"). */
static RtStatus run_mc(const Prob *p, const double *tau, size_t nt, uint64_t n, uint64_t seed,
                       Out *o)
{
  out_init(o);
  QueryOpts q = {n, seed, METHOD_MC};
  Result *res;
  RtStatus st = query_risk(&rt, p->m, p->y, p->x, tau, nt, &q, &res);
  if (st)
    return st;
  const Column *g = result_column(res, "gap"), *gs = result_column(res, "gap_stderr");
  for (size_t t = 0; t < nt; t++) {
    o->gap[t] = g->data[t];
    o->gap_se[t] = gs->data[t];
  }
  o->r.hard = result_field(res, "hard")->num;
  o->r.hard_se = result_field(res, "hard_stderr")->num;
  result_unref(res);
  return RT_OK;
}

static int within(double a, double sa, double b, double sb, double z)
{
  return isfinite(a) && isfinite(b) && fabs(a - b) <= z * sqrt(sa * sa + sb * sb);
}

/* ------------------------------------------------------------ K = 2 */

static void k2_against_quadrature(int d, int teacher, uint64_t seed)
{
  static const double tau[] = {1, 0.3, 0.1, 0.01, 1e-3, 1e-4, 1e-6};
  size_t nt = sizeof tau / sizeof *tau;
  Prob p;
  gen(&p, d, 2, teacher ? 2 : 0, seed);
  Out a, q;
  RtStatus st = build(&p);
  if (!st)
    st = run_quad(&p, tau, nt, &q);
  if (!st)
    st = run_layer(&p, tau, nt, 200000, 7, &a);
  ok(!st && a.info.applies, "K = 2, d = %d %s: both paths run (%s)", d,
     teacher ? "teacher" : "affine", st ? rt.msg : "");
  int good = 1;
  for (size_t t = 0; t < nt && !st; t++) {
    int g = within(a.gap[t], a.gap_se[t], q.gap[t], 0, 4) && a.gap_se[t] > 0;
    if (!g)
      printf("#   tau %g: layer %.10g ± %.3g, quadrature %.10g\n", tau[t], a.gap[t], a.gap_se[t],
             q.gap[t]);
    good &= g;
    good &= within(a.soft[t], a.soft_se[t], q.soft[t], 0, 4);
  }
  ok(good, "K = 2, d = %d %s: gap and soft risk within 4 se of quadrature for tau 1 .. 1e-6", d,
     teacher ? "teacher" : "affine");
  ok(!st && within(a.r.hard, a.r.hard_se, q.r.hard, 0, 4),
     "K = 2, d = %d %s: hard risk %.6g ± %.2g vs %.6g", d, teacher ? "teacher" : "affine",
     a.r.hard, a.r.hard_se, q.r.hard);
  /* (d = 1: the interface is one point and κ comes out exact, se = 0.) */
  ok(!st && within(a.r.kappa, a.r.kappa_se + 1e-12 * fabs(q.r.kappa), q.r.kappa, 0, 4) &&
         a.r.kappa_se < 0.01 * fabs(q.r.kappa),
     "K = 2, d = %d %s: kappa %.6g ± %.2g vs %.6g", d, teacher ? "teacher" : "affine", a.r.kappa,
     a.r.kappa_se, q.r.kappa);
  /* The estimator's precision does not degrade as tau falls. */
  ok(!st && a.gap_se[nt - 1] / fabs(a.gap[nt - 1]) < 3 * a.gap_se[3] / fabs(a.gap[3]),
     "K = 2, d = %d %s: relative error at tau = 1e-6 (%.2g) no worse than at 0.01 (%.2g)", d,
     teacher ? "teacher" : "affine", a.gap_se[nt - 1] / fabs(a.gap[nt - 1]),
     a.gap_se[3] / fabs(a.gap[3]));
  unbuild(&p);
}

/* K experts of which K - 2 never matter: their router rows are 0 and their
 * constant logits lie 60 below 9 standard deviations below each of the
 * first two logits' means (they lead with probability below Φ(−9) ≈
 * 1e-19, and otherwise their soft gates are below e^{−60/τ}, τ ≤ 1), so the
 * gap, hard risk and κ are the K = 2 problem's, which quadrature solves.
 * The extra experts' constraints are all the same row (rank-deficient
 * GHK), and for d < K − 1 the logits themselves are degenerate. */
static void embedded_against_quadrature(int d, int K, int teacher, uint64_t seed)
{
  static const double tau[] = {1, 0.1, 0.01, 1e-3, 1e-5};
  size_t nt = sizeof tau / sizeof *tau;
  Prob p, p2;
  gen(&p, d, K, teacher ? 2 : 0, seed);
  double low = INFINITY;
  for (int i = 0; i < 2; i++) {
    double m = p.b[i], v = 0;
    for (int t = 0; t < d; t++) {
      m += p.W[i * d + t] * p.mu[t];
      for (int r = 0; r < d; r++)
        v += p.W[i * d + t] * p.cov[t * d + r] * p.W[i * d + r];
    }
    low = fmin(low, m - 9 * sqrt(v) - 60);
  }
  for (int k = 2; k < K; k++) {
    p.b[k] = low - (k - 2);       /* distinct: equal ones would tie each other everywhere */
    for (int t = 0; t < d; t++)
      p.W[k * d + t] = 0;
  }
  p2 = p;
  p2.K = 2;
  Out a, q;
  RtStatus st = build(&p);
  if (!st)
    st = build(&p2);
  if (!st)
    st = run_quad(&p2, tau, nt, &q);
  if (!st)
    st = run_layer(&p, tau, nt, 100000, 13, &a);
  const char *what = teacher ? "teacher" : "affine";
  ok(!st && a.info.applies, "K = %d embedding K = 2, d = %d %s: layer and quadrature run (%s)", K,
     d, what, st ? rt.msg : "");
  int good = !st;
  for (size_t t = 0; t < nt && !st; t++) {
    int g = within(a.gap[t], a.gap_se[t], q.gap[t], 0, 4) && a.gap_se[t] > 0;
    if (!g)
      printf("#   tau %g: layer %.10g ± %.3g, quadrature %.10g\n", tau[t], a.gap[t], a.gap_se[t],
             q.gap[t]);
    good &= g;
  }
  ok(good && within(a.r.hard, a.r.hard_se, q.r.hard, 0, 4) &&
         within(a.r.kappa, a.r.kappa_se, q.r.kappa, 0, 4),
     "K = %d embedding K = 2, d = %d %s: gap (tau 1 .. 1e-5), hard risk and kappa within 4 se "
     "of quadrature (kappa %.6g ± %.2g vs %.6g)",
     K, d, what, a.r.kappa, a.r.kappa_se, q.r.kappa);
  unbuild(&p);
  unbuild(&p2);
}

/* ------------------------------------------------------------ K >= 3 */

static void against_rb_and_mc(int K, int teacher, double min_ratio, uint64_t seed)
{
  static const double tau[] = {1, 0.1, 0.01, 1e-3};
  size_t nt = sizeof tau / sizeof *tau;
  const char *what = teacher ? "teacher" : "affine";
  Prob p;
  gen(&p, K + 2, K, teacher ? K : 0, seed);
  uint64_t n = 200000;
  Out a, b, m;
  RtStatus st = build(&p);
  if (!st)
    st = run_layer(&p, tau, nt, n, 3, &a);
  if (!st)
    st = run_rb(&p, tau, nt, n, 4, &b);
  if (!st)
    st = run_mc(&p, tau, nt, 4 * n, 5, &m);
  ok(!st && a.info.applies && a.info.active > 0, "K = %d %s: layer, RB and MC run (%s)", K, what,
     st ? rt.msg : "");
  int good = 1;
  for (size_t t = 0; t < nt && !st; t++) {
    int g = within(a.gap[t], a.gap_se[t], b.gap[t], b.gap_se[t], 4) &&
            within(a.gap[t], a.gap_se[t], m.gap[t], m.gap_se[t], 4);
    if (!g)
      printf("#   tau %g: layer %.8g ± %.2g, RB %.8g ± %.2g, MC %.8g ± %.2g\n", tau[t], a.gap[t],
             a.gap_se[t], b.gap[t], b.gap_se[t], m.gap[t], m.gap_se[t]);
    good &= g;
  }
  ok(good, "K = %d %s: gap within 4 combined se of RB and of plain MC at every tau", K, what);
  ok(!st && within(a.r.hard, a.r.hard_se, b.r.hard, b.r.hard_se, 4) &&
         within(a.r.kappa, a.r.kappa_se, b.r.kappa, b.r.kappa_se, 4),
     "K = %d %s: hard risk and kappa agree with RB (kappa %.5g ± %.2g vs %.5g ± %.2g)", K, what,
     a.r.kappa, a.r.kappa_se, b.r.kappa, b.r.kappa_se);
  double ratio = st ? 0 : b.gap_se[2] / a.gap_se[2];
  ok(ratio > min_ratio, "K = %d %s: gap se at tau = 0.01 is %.1fx smaller than RB's (> %.0fx)", K,
     what, ratio, min_ratio);
  unbuild(&p);
}

/* ------------------------------------------------------------ kappa */

/* ∫D² dν for K = 3 in x space: for each pair (i, j) and the third logit k,
 * φ_s(0)·E[D² 1{a_i ≥ a_k} | s = 0] with s = a_i − a_j, D = f_i − f_j; given
 * s = 0, (D, a_i − a_k) is bivariate normal, and the truncated second
 * moment is a closed form. */
static double d2_interface_k3(const Prob *p)
{
  int d = p->d;
  double total = 0;
  for (int i = 0; i < 3; i++)
    for (int j = i + 1; j < 3; j++) {
      int k = 3 - i - j;
      double u[MAXD], D[MAXD], L[MAXD], Su[MAXD];
      double u0 = p->b[i] - p->b[j], D0 = p->c[i] - p->c[j], L0 = p->b[i] - p->b[k];
      for (int t = 0; t < d; t++) {
        u[t] = p->W[i * d + t] - p->W[j * d + t];
        D[t] = p->B[i * d + t] - p->B[j * d + t];
        L[t] = p->W[i * d + t] - p->W[k * d + t];
      }
      double ms = u0, mD = D0, mL = L0;
      for (int t = 0; t < d; t++) {
        ms += u[t] * p->mu[t], mD += D[t] * p->mu[t], mL += L[t] * p->mu[t];
        Su[t] = 0;
        for (int r = 0; r < d; r++)
          Su[t] += p->cov[t * d + r] * u[r];
      }
      double vs = 0, cDs = 0, cLs = 0, vD = 0, vL = 0, cDL = 0;
      for (int t = 0; t < d; t++) {
        vs += u[t] * Su[t], cDs += D[t] * Su[t], cLs += L[t] * Su[t];
        for (int r = 0; r < d; r++) {
          vD += D[t] * p->cov[t * d + r] * D[r];
          vL += L[t] * p->cov[t * d + r] * L[r];
          cDL += D[t] * p->cov[t * d + r] * L[r];
        }
      }
      /* condition on s = 0 */
      double h = -ms / vs;
      mD += cDs * h, mL += cLs * h;
      vD -= cDs * cDs / vs, vL -= cLs * cLs / vs, cDL -= cDs * cLs / vs;
      double sL = sqrt(vL), beta = cDL / sL, a = -mL / sL, vrest = vD - beta * beta;
      double m2 = (mD * mD + vrest) * gauss_cdf(-a) + 2 * mD * beta * gauss_pdf(a) +
                  beta * beta * (gauss_cdf(-a) + a * gauss_pdf(a));
      total += gauss_pdf(ms / sqrt(vs)) / sqrt(vs) * m2;
    }
  return total;
}

static void kappa_special_cases(void)
{
  static const double tau[] = {1e-2, 1e-6, 1e-300, 1e300};
  Prob p;
  Out a;
  for (int teacher = 0; teacher < 2; teacher++) {
    gen(&p, 4, 3, teacher ? 3 : 0, 99);
    if (teacher)
      align(&p);
    double nu = d2_interface_k3(&p), want = teacher ? (2 * LN2 - 1) * nu : -nu;
    RtStatus st = build(&p);
    if (!st)
      st = run_layer(&p, tau, 4, 200000, 11, &a);
    const char *what = teacher ? "aligned teacher: (2 ln 2 - 1) int D^2" : "affine target: -int D^2";
    ok(!st && within(a.r.kappa, a.r.kappa_se, want, 0, 4) && a.r.kappa_se < 0.005 * fabs(want),
       "kappa, %s: %.7g ± %.2g vs %.7g", what, a.r.kappa, a.r.kappa_se, want);
    ok(!st && within(a.gap[1] / 1e-6, a.gap_se[1] / 1e-6, want, 0, 4),
       "G(1e-6)/1e-6, %s: %.7g ± %.2g", what, a.gap[1] / 1e-6, a.gap_se[1] / 1e-6);
    ok(!st && within(a.gap[2] / 1e-300, a.gap_se[2] / 1e-300, want, 0, 4) &&
           a.gap_se[2] > 0 && isfinite(a.soft[2]) && a.soft[2] == a.r.hard,
       "tau = 1e-300, %s: G/tau = %.7g ± %.2g, soft = hard", what, a.gap[2] / 1e-300,
       a.gap_se[2] / 1e-300);
    if (!teacher) {
      /* The uniform gate: F = mean of the experts, so the risk is
       * E[(m - F)²] + σ² with m - F affine: (γ·μ + c)² + γᵀΣγ + σ². */
      int d = p.d;
      double g[MAXD], c = p.c0, r = 0;
      for (int t = 0; t < d; t++)
        g[t] = p.beta[t] - (p.B[t] + p.B[d + t] + p.B[2 * d + t]) / 3;
      c -= (p.c[0] + p.c[1] + p.c[2]) / 3;
      double mean = c;
      for (int t = 0; t < d; t++) {
        mean += g[t] * p.mu[t];
        for (int s = 0; s < d; s++)
          r += g[t] * p.cov[t * d + s] * g[s];
      }
      double R = mean * mean + r + p.noise * p.noise;
      ok(!st && within(a.soft[3], a.soft_se[3], R, 0, 4),
         "tau = 1e300: soft risk %.6g ± %.2g = the uniform gate's %.6g", a.soft[3], a.soft_se[3], R);
    }
    int finite = !st;
    for (int t = 0; t < 4; t++)
      finite &= isfinite(a.gap[t]) && isfinite(a.gap_se[t]) && isfinite(a.soft[t]) &&
                isfinite(a.soft_se[t]);
    ok(finite && isfinite(a.r.hard) && isfinite(a.r.kappa), "%s: every number finite", what);
    unbuild(&p);
  }
}

/* ------------------------------------------------------------ honest errors */

/* The reported standard errors against the spread they claim: over 200
 * seeds, the standard deviation of the estimates and the root mean square
 * of the reported standard errors agree within 20% (for normal estimates
 * the sample deviation of 200 has a relative error of 5%), for the gap at
 * every τ, for κ and for the hard risk.  The mean over the seeds must also
 * sit within 4 standard errors of the mean of the independent plain
 * Rao–Blackwell estimate. */
#define NSEEDS 200

static double ratio_of(const double *v, const double *se, int n)
{
  double m = 0, s2 = 0, e2 = 0;
  for (int k = 0; k < n; k++)
    m += v[k] / n;
  for (int k = 0; k < n; k++) {
    s2 += (v[k] - m) * (v[k] - m) / (n - 1);
    e2 += se[k] * se[k] / n;
  }
  return sqrt(s2 / e2);
}

static void honest_errors(int K, int teacher, uint64_t seed)
{
  static const double tau[] = {1, 0.01, 1e-4};
  enum { NT = 3 };
  static double g[NT][NSEEDS], gs[NT][NSEEDS], kv[NSEEDS], ks[NSEEDS], hv[NSEEDS], hs[NSEEDS];
  const char *what = teacher ? "teacher" : "affine";
  Prob p;
  gen(&p, K + 2, K, teacher ? K : 0, seed);
  RtStatus st = build(&p);
  for (int k = 0; k < NSEEDS && !st; k++) {
    Out o;
    st = run_layer(&p, tau, NT, 10000, 1000 + (uint64_t)k, &o);
    for (int t = 0; t < NT; t++)
      g[t][k] = o.gap[t], gs[t][k] = o.gap_se[t];
    kv[k] = o.r.kappa, ks[k] = o.r.kappa_se, hv[k] = o.r.hard, hs[k] = o.r.hard_se;
  }
  Out b;
  if (!st)
    st = run_rb(&p, tau, NT, 1000000, 77, &b);
  int good = !st;
  for (int t = 0; t < NT && !st; t++) {
    double r = ratio_of(g[t], gs[t], NSEEDS), m = 0, e2 = 0;
    for (int k = 0; k < NSEEDS; k++)
      m += g[t][k] / NSEEDS, e2 += gs[t][k] * gs[t][k] / ((double)NSEEDS * NSEEDS);
    int gt = r > 0.8 && r < 1.2 && within(m, sqrt(e2), b.gap[t], b.gap_se[t], 4);
    printf("#   tau %g: spread / reported se %.3f; mean %.8g ± %.2g, RB %.8g ± %.2g\n", tau[t], r,
           m, sqrt(e2), b.gap[t], b.gap_se[t]);
    good &= gt;
  }
  ok(good, "K = %d %s: over %d seeds the gap's spread matches its reported se within 20%% at "
     "tau = 1, 0.01, 1e-4, and the mean agrees with RB", K, what, NSEEDS);
  double rk = st ? 0 : ratio_of(kv, ks, NSEEDS), rh = st ? 0 : ratio_of(hv, hs, NSEEDS);
  ok(rk > 0.8 && rk < 1.2 && rh > 0.8 && rh < 1.2,
     "K = %d %s: kappa's spread / reported se %.3f, the hard risk's %.3f (both within 20%%)", K,
     what, rk, rh);
  unbuild(&p);
}

/* ------------------------------------------------------------ determinism */

static void thread_invariance(void)
{
  static const double tau[] = {1, 0.01, 1e-5};
  Prob p;
  gen(&p, 6, 4, 4, 5);
  RtStatus st = build(&p);
  Out o[3];
  size_t blk = rt.block;
  rt.block = 256;                 /* many blocks for 10^4 samples */
  for (int th = 1; th <= 3 && !st; th++) {
    rt.threads = th;
    st = run_layer(&p, tau, 3, 10007, 9, &o[th - 1]);
  }
  rt.threads = 1;
  rt.block = blk;
  int same = !st;
  for (int k = 1; k < 3 && same; k++) {
    same &= memcmp(o[0].gap, o[k].gap, sizeof o[0].gap) == 0 &&
            memcmp(o[0].gap_se, o[k].gap_se, sizeof o[0].gap_se) == 0 &&
            memcmp(o[0].soft, o[k].soft, sizeof o[0].soft) == 0 &&
            memcmp(&o[0].r.hard, &o[k].r.hard, sizeof(double)) == 0 &&
            memcmp(&o[0].r.kappa, &o[k].r.kappa, sizeof(double)) == 0 &&
            memcmp(&o[0].r.kappa_se, &o[k].r.kappa_se, sizeof(double)) == 0;
  }
  ok(same, "1, 2 and 3 threads give bit-identical results");
  unbuild(&p);
}

/* ------------------------------------------------------------ memory */

static void allocation_failures(void)
{
  static const double tau[] = {0.1, 0.01};
  Prob p;
  gen(&p, 5, 3, 3, 21);
  RtStatus st = build(&p);
  long before = live_blocks;
  int all = !st, n;
  for (n = 0; n < 400 && all; n++) {
    Out o;
    fail_after = n;
    st = run_layer(&p, tau, 2, 3000, 1, &o);
    fail_after = -1;
    all &= (st == RT_OK || st == RT_ENOMEM) && live_blocks == before;
    if (st == RT_OK)
      break;
  }
  ok(all && st == RT_OK && n > 3, "every failing allocation (%d of them) is RT_ENOMEM, no leaks", n);
  unbuild(&p);
}

/* A top-k gate that drops experts is left to plain Rao-Blackwell. */
static void not_applicable(void)
{
  static const double tau[] = {0.1};
  Prob p;
  gen(&p, 4, 3, 0, 3);
  RtStatus st = build(&p);
  Gate *g = NULL;
  Model *m2 = NULL;
  if (!st)
    st = gate_new(&rt, GATE_TOPK, 2, &g);
  if (!st)
    st = model_new(&rt, p.m->router, 3, p.m->experts, g, &m2);
  if (!st) {
    Model *keep = p.m;
    p.m = m2;
    Out o;
    st = run_layer(&p, tau, 1, 1000, 1, &o);
    ok(!st && !o.info.applies, "top-2 of 3 experts: the layer estimator declines");
    p.m = keep;
  }
  gate_unref(&rt, g);
  model_unref(&rt, m2);
  unbuild(&p);
}

int main(void)
{
  counting_rt(&rt);
  rt.block = 1024;
  long start = live_blocks;
  k2_against_quadrature(4, 0, 101);
  k2_against_quadrature(4, 1, 102);
  k2_against_quadrature(1, 0, 103);
  k2_against_quadrature(12, 1, 104);
  embedded_against_quadrature(2, 5, 0, 111);
  embedded_against_quadrature(7, 3, 1, 112);
  embedded_against_quadrature(5, 6, 1, 113);
  against_rb_and_mc(3, 0, 4, 31);
  against_rb_and_mc(3, 1, 4, 32);
  against_rb_and_mc(4, 0, 4, 41);
  against_rb_and_mc(4, 1, 4, 42);
  against_rb_and_mc(8, 0, 4, 81);
  against_rb_and_mc(8, 1, 4, 82);
  kappa_special_cases();
  honest_errors(3, 1, 301);
  honest_errors(8, 0, 302);
  thread_invariance();
  allocation_failures();
  not_applicable();
  ok(live_blocks == start, "nothing leaked (%ld blocks)", live_blocks - start);
  return tap_done();
}
