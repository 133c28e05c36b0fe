/*
 * hessian.c — analytic second derivatives of R_τ averaged over blocks, the
 * gauge-reduced spectrum and the hessian query (see hessian.h).
 *
 * Per sample, with e = F − m, r_k = f_k − F and u_k = g_k r_k/τ (= ∂F/∂a_k),
 * the squared error's second derivatives in the logits a and the expert
 * values f are
 *   ∂²/∂a_k∂a_j = 2 u_k u_j + 2e (g_k/τ²) [δ_kj r_k − g_j r_k − g_j r_j],
 *   ∂²/∂a_k∂f_j = 2 u_k g_j + 2e (g_k/τ) (δ_kj − g_j),
 *   ∂²/∂f_k∂f_j = 2 g_k g_j,
 * and each parameter row enters through x̃, so the block of H for rows p, q
 * is Σ c_pq x̃ x̃ᵀ: one GEMM per pair of rows.
 */
#include "hessian.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "est.h"
#include "linalg.h"

typedef struct HessCtx {
  const GradProblem *p;
  const double *theta;
  double tau;
  size_t npairs, bsz;    /* pairs of rows p <= q; doubles per pair ((d+1)²) */
  double *sum, *sq, *lin, nsq, N;   /* Σ n_b h_b, Σ n_b² h_b², Σ n_b² h_b, Σ n_b², Σ n_b */
} HessCtx;

/* Row c of θ: a logit (router rows first) or an affine expert; k is the
 * logit's or the expert's index. */
static int row_is_logit(const ParamSet *ps, int c, int *k)
{
  if (ps->router && c < ps->K) {
    *k = c;
    return 1;
  }
  *k = ps->expert_of[c - (ps->router ? ps->K : 0)];
  return 0;
}

/* c[i] = the second derivative of sample i's squared error in the
 * channels of rows pr and qr (see the top of the file). */
static void pair_weights(const GradProblem *p, const Fwd *fw, double tau, int pr, int qr,
                         double *c)
{
  size_t n = fw->n;
  int k, j;
  int lk = row_is_logit(&p->ps, pr, &k), lj = row_is_logit(&p->ps, qr, &j);
  if (!lk && lj) {                   /* keep the logit first */
    int t = k;
    k = j;
    j = t;
    lk = 1;
    lj = 0;
  }
  const double *gk = fw->g + (size_t)k * n, *gj = fw->g + (size_t)j * n;
  const double *fk = fw->f + (size_t)k * n, *fj = fw->f + (size_t)j * n;
  const double *F = fw->F, *e = fw->e;
  double it = 1 / tau, it2 = it * it, dkj = k == j;
  if (lk && lj) {
    for (size_t i = 0; i < n; i++) {
      double rk = fk[i] - F[i], rj = fj[i] - F[i];
      double uk = gk[i] * rk * it, uj = gj[i] * rj * it;
      c[i] = 2 * uk * uj + 2 * e[i] * gk[i] * it2 * (dkj * rk - gj[i] * rk - gj[i] * rj);
    }
  } else if (lk) {
    for (size_t i = 0; i < n; i++) {
      double uk = gk[i] * (fk[i] - F[i]) * it;
      c[i] = 2 * uk * gj[i] + 2 * e[i] * gk[i] * it * (dkj - gj[i]);
    }
  } else {
    for (size_t i = 0; i < n; i++)
      c[i] = 2 * gk[i] * gj[i];
  }
}

static size_t hess_scratch(const GradProblem *p, size_t n)
{
  return grad_scratch(p, n) + (size_t)(p->ps.d + 2) * n;
}

static RtStatus hess_block(void *ctx, EstThread *th, const SampleBlock *sb, double *acc)
{
  HessCtx *h = ctx;
  const GradProblem *p = h->p;
  Fwd fw;
  RtStatus st = grad_forward(p, h->theta, h->tau, sb, th->scratch, &th->err, &fw);
  if (st)
    return st;
  size_t n = fw.n;
  int row = p->ps.d + 1, nc = p->ps.nchan;
  double *c = (double *)th->scratch + grad_scratch(p, n), *Y = c + n;
  size_t q = 0;
  for (int pr = 0; pr < nc; pr++)
    for (int qr = pr; qr < nc; qr++, q++) {
      pair_weights(p, &fw, h->tau, pr, qr, c);
      for (int r = 0; r < row; r++)
        for (size_t i = 0; i < n; i++)
          Y[(size_t)r * n + i] = fw.x[(size_t)r * n + i] * c[i];
      la_gemm_nt(row, row, (int)n, Y, (int)n, fw.x, (int)n, acc + q * h->bsz, row);
    }
  acc[h->npairs * h->bsz] = (double)n;
  return RT_OK;
}

static void hess_reduce(void *ctx, const SampleBlock *sb, const double *acc)
{
  HessCtx *h = ctx;
  (void)sb;
  size_t tot = h->npairs * h->bsz;
  double nb = acc[tot];
  for (size_t i = 0; i < tot; i++) {
    h->sum[i] += acc[i];
    h->sq[i] += acc[i] * acc[i];        /* n_b² h_b² */
    h->lin[i] += nb * acc[i];           /* n_b² h_b */
  }
  h->nsq += nb * nb;
  h->N += nb;
}

/* Spreads the pair blocks into the full symmetric matrix. */
static void assemble(const HessCtx *h, const double *pairs, double *H)
{
  const ParamSet *ps = &h->p->ps;
  int row = ps->d + 1, nc = ps->nchan;
  size_t np = ps->np, q = 0;
  for (int pr = 0; pr < nc; pr++)
    for (int qr = pr; qr < nc; qr++, q++)
      for (int i = 0; i < row; i++)
        for (int j = 0; j < row; j++) {
          double v = pairs[q * h->bsz + (size_t)i * row + j];
          H[(size_t)(pr * row + i) * np + (size_t)(qr * row + j)] = v;
          H[(size_t)(qr * row + j) * np + (size_t)(pr * row + i)] = v;
        }
}

RtStatus hessian_eval(Rt *rt, const GradProblem *p, const double *theta, double tau,
                      uint64_t samples, uint64_t seed, double *H, double *se)
{
  if (!(tau > 0) || !isfinite(tau))
    return rt_error(rt, RT_EINVAL, "tau = %g; temperatures must be finite and > 0", tau);
  HessCtx h;
  memset(&h, 0, sizeof h);
  h.p = p;
  h.theta = theta;
  h.tau = tau;
  h.npairs = (size_t)p->ps.nchan * (size_t)(p->ps.nchan + 1) / 2;
  h.bsz = (size_t)(p->ps.d + 1) * (size_t)(p->ps.d + 1);
  size_t tot = h.npairs * h.bsz;
  h.sum = rt_calloc(rt, tot, sizeof *h.sum);
  h.sq = rt_calloc(rt, tot, sizeof *h.sq);
  h.lin = rt_calloc(rt, tot, sizeof *h.lin);
  RtStatus st = h.sum && h.sq && h.lin ? RT_OK : RT_ENOMEM;
  EstKernel k = {&h, hess_scratch(p, rt->block) * sizeof(double), tot + 1, hess_block,
                 hess_reduce};
  if (!st)
    st = est_run(rt, &k, samples, seed, NULL);
  if (!st) {
    /* the mean, and the cluster (per-block) estimate of its variance:
     * Σ n_b² (h_b − H)² / N² */
    for (size_t i = 0; i < tot; i++) {
      double mean = h.sum[i] / h.N;
      double v = h.sq[i] - 2 * mean * h.lin[i] + mean * mean * h.nsq;
      h.lin[i] = sqrt(v > 0 ? v : 0) / h.N;
      h.sum[i] = mean;
    }
    assemble(&h, h.sum, H);
    if (se)
      assemble(&h, h.lin, se);
  }
  rt_free(rt, h.sum);
  rt_free(rt, h.sq);
  rt_free(rt, h.lin);
  return st;
}

/* ------------------------------------------------------------ v·H v per sample */

/* The Rayleigh quotient vᵀ H v is the mean over samples of
 * q = Σ_pq c_pq (v_p·x̃)(v_q·x̃), where v_p is v's part in parameter row p;
 * its standard error is that of a mean of independent samples.  At the
 * eigenvector of an eigenvalue this is the eigenvalue's standard error to
 * first order (the eigenvector's own error enters at second order). */
typedef struct RayCtx {
  const GradProblem *p;
  const double *theta, *v;
  double tau;
  Moments q;
} RayCtx;

static RtStatus ray_block(void *ctx, EstThread *th, const SampleBlock *sb, double *acc)
{
  RayCtx *r = ctx;
  const GradProblem *p = r->p;
  Fwd fw;
  RtStatus st = grad_forward(p, r->theta, r->tau, sb, th->scratch, &th->err, &fw);
  if (st)
    return st;
  size_t n = fw.n;
  int row = p->ps.d + 1, nc = p->ps.nchan;
  double *c = (double *)th->scratch + grad_scratch(p, n), *q = c + n, *z = q + n;
  la_gemm(nc, (int)n, row, r->v, row, fw.x, (int)n, z, (int)n);
  for (size_t i = 0; i < n; i++)
    q[i] = 0;
  for (int pr = 0; pr < nc; pr++)
    for (int qr = pr; qr < nc; qr++) {
      pair_weights(p, &fw, r->tau, pr, qr, c);
      double mult = pr == qr ? 1 : 2;
      const double *zp = z + (size_t)pr * n, *zq = z + (size_t)qr * n;
      for (size_t i = 0; i < n; i++)
        q[i] += mult * c[i] * zp[i] * zq[i];
    }
  Moments m = moments_of(q, n);
  acc[0] = m.n;
  acc[1] = m.mean;
  acc[2] = m.m2;
  return RT_OK;
}

static void ray_reduce(void *ctx, const SampleBlock *sb, const double *acc)
{
  RayCtx *r = ctx;
  (void)sb;
  Moments m = {acc[0], acc[1], acc[2]};
  moments_merge(&r->q, m);
}

/* vᵀ H v and its standard error on the samples of (samples, seed). */
static RtStatus rayleigh(Rt *rt, const GradProblem *p, const double *theta, const double *v,
                         double tau, uint64_t samples, uint64_t seed, double *val, double *se)
{
  RayCtx r;
  memset(&r, 0, sizeof r);
  r.p = p;
  r.theta = theta;
  r.v = v;
  r.tau = tau;
  size_t B = rt->block;
  EstKernel k = {&r, (grad_scratch(p, B) + (size_t)(p->ps.nchan + 2) * B) * sizeof(double), 3,
                 ray_block, ray_reduce};
  RtStatus st = est_run(rt, &k, samples, seed, NULL);
  *val = r.q.mean;
  *se = moments_stderr(&r.q);
  return st;
}

/* ------------------------------------------------------------ the gauge */

/* Z (np × nr, orthonormal columns): a basis of the directions that change
 * the model.  For a linear router, each input coordinate j (and the bias)
 * keeps the K − 1 Helmert contrasts of the rows' entries (k, j), dropping
 * their common shift; the experts' parameters are kept whole. */
static int gauge_basis(const ParamSet *ps, double *Z)
{
  size_t np = ps->np;
  int row = ps->d + 1, K = ps->K;
  int nr = (int)np - (ps->router ? row : 0), col = 0;
  memset(Z, 0, np * (size_t)nr * sizeof *Z);
  if (ps->router)
    for (int j = 0; j < row; j++)
      for (int m = 1; m < K; m++, col++) {
        double s = 1 / sqrt((double)m * (m + 1));
        for (int k = 0; k < m; k++)
          Z[(size_t)(k * row + j) * nr + col] = s;
        Z[(size_t)(m * row + j) * nr + col] = -m * s;
      }
  for (size_t i = ps->router ? (size_t)K * row : 0; i < np; i++, col++)
    Z[i * nr + col] = 1;
  return nr;
}

/* ------------------------------------------------------------ the query */

typedef struct Spectrum {
  int nr;
  double *vals, *vec;    /* ascending eigenvalues (nr); unstable direction (np) */
  double eig_se, tol;
  double min_se;         /* the smallest eigenvalue's standard error */
} Spectrum;

/* Eigen-decomposition of Zᵀ H Z, the unstable direction Z v_min with its
 * largest entry made positive, and the eigenvalues' error scale: by Weyl's
 * inequality no eigenvalue moves more than the spectral norm of the
 * perturbation, estimated from the entries' standard errors. */
static RtStatus spectrum(Rt *rt, const ParamSet *ps, const double *H, const double *se,
                         Spectrum *s)
{
  size_t np = ps->np;
  double *Z = rt_array(rt, np * np, sizeof *Z), *T = rt_array(rt, np * np, sizeof *T);
  double *Hr = rt_array(rt, np * np, sizeof *Hr), *V = rt_array(rt, np * np, sizeof *V);
  s->vals = rt_array(rt, np, sizeof *s->vals);
  s->vec = rt_calloc(rt, np, sizeof *s->vec);
  RtStatus st = Z && T && Hr && V && s->vals && s->vec ? RT_OK : RT_ENOMEM;
  if (!st) {
    int nr = s->nr = gauge_basis(ps, Z);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)np, nr, (int)np, 1.0, H,
                (int)np, Z, nr, 0.0, T, nr);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nr, nr, (int)np, 1.0, Z, nr, T, nr,
                0.0, Hr, nr);
    for (int i = 0; i < nr; i++)
      for (int j = 0; j < i; j++)
        Hr[i * nr + j] = Hr[j * nr + i] = 0.5 * (Hr[i * nr + j] + Hr[j * nr + i]);
    st = la_symeig(rt, nr, Hr, s->vals, V);
    for (size_t i = 0; !st && i < np; i++)
      for (int j = 0; j < nr; j++)
        s->vec[i] += Z[i * nr + j] * V[(size_t)j * nr];
  }
  if (!st) {
    size_t big = 0;
    for (size_t i = 1; i < np; i++)
      if (fabs(s->vec[i]) > fabs(s->vec[big]) * (1 + 1e-12))
        big = i;
    double sign = s->vec[big] < 0 ? -1 : 1, top = 0;
    for (size_t i = 0; i < np; i++)
      s->vec[i] *= sign;
    for (int i = 0; i < s->nr; i++)
      top = fmax(top, fabs(s->vals[i]));
    /* ‖δH‖₂ <= ‖|δH|‖₂, and |δH| is about SE entrywise: the largest
     * eigenvalue of the (symmetric, non-negative) matrix of standard
     * errors bounds how far any eigenvalue moves, at one standard error. */
    st = la_symeig(rt, (int)np, se, Hr, NULL);
    if (!st) {
      s->eig_se = Hr[np - 1];
      s->tol = 1e-9 * top;
    }
  }
  rt_free(rt, Z);
  rt_free(rt, T);
  rt_free(rt, Hr);
  rt_free(rt, V);
  return st;
}

static const char *classify(const Spectrum *s)
{
  if (s->vals[0] < -s->tol)
    return "strict saddle";
  if (s->vals[0] > s->tol)
    return "minimum";
  return "degenerate";
}

/* Names and norms of the unstable direction's parts: router.W, router.b,
 * then experts[k].beta and experts[k].c. */
static RtStatus block_fields(Rt *rt, Result *res, const ParamSet *ps, const double *v)
{
  int nb = 2 * ps->nchan, row = ps->d + 1, b = 0;
  char (*names)[32] = rt_array(rt, (size_t)nb, sizeof *names);
  const char **ptr = rt_array(rt, (size_t)nb, sizeof *ptr);
  double *norms = rt_array(rt, (size_t)nb, sizeof *norms);
  RtStatus st = names && ptr && norms ? RT_OK : RT_ENOMEM;
  if (!st && ps->router) {
    double w = 0, bb = 0;
    for (int k = 0; k < ps->K; k++) {
      for (int j = 0; j < ps->d; j++)
        w += v[k * row + j] * v[k * row + j];
      bb += v[k * row + ps->d] * v[k * row + ps->d];
    }
    snprintf(names[b], sizeof names[b], "router.W");
    norms[b++] = sqrt(w);
    snprintf(names[b], sizeof names[b], "router.b");
    norms[b++] = sqrt(bb);
  }
  for (int a = 0; !st && a < ps->naff; a++) {
    const double *r = v + (size_t)(ps->nchan - ps->naff + a) * row;
    double w = 0;
    for (int j = 0; j < ps->d; j++)
      w += r[j] * r[j];
    snprintf(names[b], sizeof names[b], "experts[%d].beta", ps->expert_of[a]);
    norms[b++] = sqrt(w);
    snprintf(names[b], sizeof names[b], "experts[%d].c", ps->expert_of[a]);
    norms[b++] = fabs(r[ps->d]);
  }
  for (int i = 0; !st && i < b; i++)
    ptr[i] = names[i];
  if (!st) {
    result_strs(res, "blocks", ptr, (size_t)b);
    result_vec(res, "block_norms", norms, (size_t)b);
  }
  rt_free(rt, names);
  rt_free(rt, ptr);
  rt_free(rt, norms);
  return st;
}

/* The direction in which the separator a_1 − a_2 moves: the difference of
 * the router rows' x parts, normalised (K = 2, linear router). */
static void separator_field(Result *res, const ParamSet *ps, const double *v, double *tmp)
{
  if (!ps->router || ps->K != 2)
    return;
  int row = ps->d + 1;
  double nrm = 0;
  for (int j = 0; j < ps->d; j++) {
    tmp[j] = v[j] - v[row + j];
    nrm += tmp[j] * tmp[j];
  }
  nrm = sqrt(nrm);
  for (int j = 0; j < ps->d && nrm > 0; j++)
    tmp[j] /= nrm;
  result_vec(res, "unstable_separator", tmp, (size_t)ps->d);
}

static RtStatus param_names(Rt *rt, Result *res, const ParamSet *ps)
{
  char **names = rt_calloc(rt, ps->np, sizeof *names);
  RtStatus st = names ? RT_OK : RT_ENOMEM;
  for (size_t i = 0; !st && i < ps->np; i++) {
    StrBuf sb;
    sb_init(&sb, rt);
    grad_param_name(ps, i, &sb);
    names[i] = sb_take(&sb);
    if (!names[i])
      st = RT_ENOMEM;
  }
  if (!st)
    result_strs(res, "params", (const char *const *)names, ps->np);
  for (size_t i = 0; names && i < ps->np; i++)
    rt_free(rt, names[i]);
  rt_free(rt, names);
  return st;
}

static RtStatus spectrum_fields(Rt *rt, Result *res, const ParamSet *ps, const Spectrum *s,
                                double *tmp)
{
  result_vec(res, "eigenvalues", s->vals, (size_t)s->nr);
  result_vec(res, "unstable", s->vec, ps->np);
  result_num(res, "min_eigenvalue", s->vals[0]);
  result_str(res, "classification", classify(s));
  result_num(res, "min_eigenvalue_stderr", s->min_se);
  result_num(res, "tolerance", s->tol);
  result_num(res, "eigen_stderr", s->eig_se);
  separator_field(res, ps, s->vec, tmp);
  if (ps->router) {
    char note[200];
    snprintf(note, sizeof note, "the %d directions that add one vector to every router row "
             "(they leave softmax unchanged) are excluded from the spectrum", ps->d + 1);
    result_str(res, "gauge", note);
  }
  return block_fields(rt, res, ps, s->vec);
}

/* The risk and gradient at the point (on the same samples): whether it is
 * critical at all. */
static RtStatus point_fields(Rt *rt, Result *res, const GradProblem *p, const double *theta,
                             double tau, const QueryOpts *o, double *grad)
{
  GradOut go;
  RtStatus st = grad_eval(rt, p, theta, tau, o->samples, o->seed, 0, 1, &go, grad);
  if (st)
    return st;
  double g = 0;
  for (size_t i = 0; i < p->ps.np; i++)
    g += grad[i] * grad[i];
  result_num(res, "tau", tau);
  result_num(res, "risk", go.loss + p->y->noise * p->y->noise);
  result_num(res, "grad_norm", sqrt(g));
  return RT_OK;
}

static RtStatus run_hessian(Rt *rt, const GradProblem *p, double tau, const QueryOpts *o,
                            Result *res)
{
  const ParamSet *ps = &p->ps;
  size_t np = ps->np;
  if (np > HESSIAN_MAX_PARAMS)
    return rt_error(rt, RT_EINVAL, "the model has %zu parameters; hessian handles at most %d",
                    np, HESSIAN_MAX_PARAMS);
  if (o->method == METHOD_EXACT || o->method == METHOD_QUADRATURE)
    return rt_error(rt, RT_EUNSUP, "no %s path for hessian; the Monte Carlo path exists: "
                    "method = \"mc\"", method_name(o->method));
  double *theta = rt_array(rt, np, sizeof *theta), *H = rt_array(rt, np * np, sizeof *H);
  double *se = rt_array(rt, np * np, sizeof *se), *tmp = rt_array(rt, np, sizeof *tmp);
  Spectrum s = {0};
  RtStatus st = theta && H && se && tmp ? RT_OK : RT_ENOMEM;
  if (!st) {
    grad_theta_get(p, theta);
    st = hessian_eval(rt, p, theta, tau, o->samples, o->seed, H, se);
  }
  if (!st)
    st = spectrum(rt, ps, H, se, &s);
  if (!st) {
    /* the classification's tolerance: 3 standard errors of the smallest
     * eigenvalue (or a relative 1e-9 of the spectrum, if larger) */
    double lam;
    st = rayleigh(rt, p, theta, s.vec, tau, o->samples, o->seed, &lam, &s.min_se);
    s.tol = fmax(s.tol, 3 * s.min_se);
  }
  if (!st)
    st = param_names(rt, res, ps);
  if (!st)
    st = spectrum_fields(rt, res, ps, &s, tmp);
  if (!st)
    st = point_fields(rt, res, p, theta, tau, o, tmp);
  rt_free(rt, theta);
  rt_free(rt, H);
  rt_free(rt, se);
  rt_free(rt, tmp);
  rt_free(rt, s.vals);
  rt_free(rt, s.vec);
  return st;
}

RtStatus query_hessian(Rt *rt, Model *m, Target *y, const Law *x, double tau,
                       const QueryOpts *o, Result **out)
{
  *out = NULL;
  double t0 = clock_seconds();
  if (!(tau > 0) || !isfinite(tau))
    return rt_error(rt, RT_EINVAL, "tau = %g; the temperature must be finite and > 0", tau);
  GradProblem p;
  RtStatus st = grad_problem_init(rt, &p, m, y, x);
  if (st)
    return st;
  Result *res = result_new(rt, "hessian");
  st = res ? RT_OK : RT_ENOMEM;
  if (!st) {
    char path[200];
    snprintf(path, sizeof path, "analytic second derivatives averaged over the samples; "
             "eigenvalues by LAPACK dsyevd");
    result_method(res, "mc", path);
    res->samples = o->samples;
    res->seed = o->seed;
    st = run_hessian(rt, &p, tau, o, res);
  }
  grad_problem_free(rt, &p);
  if (!st && result_check(rt, res))
    st = RT_ENOMEM;
  if (st) {
    result_unref(res);
    return st;
  }
  res->seconds = clock_seconds() - t0;
  *out = res;
  return RT_OK;
}
