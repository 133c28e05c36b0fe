/*
 * quad.c — adaptive Gauss–Kronrod quadrature (see quad.h).
 *
 * The range is cut at the caller's breakpoints into pieces; each piece is a
 * map from t in [0, 1] (or the finite interval itself) to x, so a
 * subinterval is just (piece, lo, hi) in t.  Every subinterval carries its
 * Kronrod-21 value and an error estimate from the embedded Gauss-10 rule;
 * a max-heap keyed on the error hands out the worst one for bisection until
 * the summed error meets the tolerance or the subinterval limit is reached.
 * Subintervals too short to bisect in floating point are retired from the
 * heap (their error stays in the total), so roundoff never loops forever.
 * The 21-point nodes and weights were computed for this file in 50-digit
 * arithmetic (Stieltjes polynomial E11 and the moment equations).
 */
#include "quad.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* Kronrod nodes on [0, 1] (descending; the odd ones are the Gauss-10 nodes),
 * Kronrod weights, and Gauss weights (0 where the node is Kronrod only). */
static const double XK[11] = {
  0.99565716302580808074, 0.97390652851717172008, 0.930157491355708226,
  0.86506336668898451073, 0.78081772658641689706, 0.67940956829902440623,
  0.56275713466860468334, 0.4333953941292471908, 0.29439286270146019813,
  0.14887433898163121088, 0.0};
static const double WK[11] = {
  0.011694638867371874278, 0.032558162307964727479, 0.054755896574351996031,
  0.075039674810919952767, 0.093125454583697605535, 0.1093871588022976419,
  0.12349197626206585108, 0.13470921731147332593, 0.1427759385770600808,
  0.14773910490133849137, 0.14944555400291690566};
static const double WG[11] = {
  0, 0.066671344308688137594, 0, 0.14945134915058059315, 0,
  0.219086362515982044, 0, 0.26926671930999635509, 0,
  0.29552422471475287017, 0};

enum { FINITE, RIGHT_INF, LEFT_INF };

/* x(t) = t (FINITE), c + s·t/(1-t) (RIGHT_INF), c - s·t/(1-t) (LEFT_INF);
 * [lo, hi] is the piece's range of t. */
typedef struct Piece {
  int kind;
  double lo, hi, c, s;
} Piece;

typedef struct Ival {
  double lo, hi, val, err;
  int piece;
} Ival;

typedef struct Quad {
  Rt *rt;
  QuadFn f;
  void *ctx;
  const Piece *pieces;
  Ival *heap;
  int n;              /* intervals in the heap */
  int retired;        /* intervals too short to bisect, out of the heap */
  int evals;
} Quad;

void quad_default_opts(QuadOpts *opts)
{
  opts->abs_tol = 1e-12;
  opts->rel_tol = 1e-12;
  opts->limit = 2000;
}

/* ------------------------------------------------------------- max-heap */

static void heap_swap(Ival *h, int i, int j)
{
  Ival t = h[i];
  h[i] = h[j];
  h[j] = t;
}

static void heap_push(Quad *q, Ival iv)
{
  int i = q->n++;
  q->heap[i] = iv;
  while (i > 0 && q->heap[(i - 1) / 2].err < q->heap[i].err) {
    heap_swap(q->heap, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

static Ival heap_pop(Quad *q)
{
  Ival top = q->heap[0];
  q->heap[0] = q->heap[--q->n];
  for (int i = 0;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < q->n && q->heap[l].err > q->heap[m].err)
      m = l;
    if (r < q->n && q->heap[r].err > q->heap[m].err)
      m = r;
    if (m == i)
      break;
    heap_swap(q->heap, i, m);
    i = m;
  }
  return top;
}

/* ------------------------------------------------------------- the rule */

/* f(x(t))·x'(t); at t = 1 (reached only by roundoff) the mapped point is at
 * infinity, where an integrable f contributes nothing. */
static double mapped(const Quad *q, const Piece *p, double t, double *x)
{
  if (p->kind == FINITE) {
    *x = t;
    return q->f(t, q->ctx);
  }
  double u = 1 - t;
  if (u <= 0) {
    *x = p->kind == RIGHT_INF ? INFINITY : -INFINITY;
    return 0.0;
  }
  double off = p->s * t / u;
  *x = p->kind == RIGHT_INF ? p->c + off : p->c - off;
  return q->f(*x, q->ctx) * (p->s / (u * u));
}

/* Error estimate from the Kronrod–Gauss difference, scaled as in QUADPACK
 * (Piessens et al. 1983): the raw difference measures the error of the
 * Gauss rule, which badly overstates that of the Kronrod value once the
 * integrand is resolved, hence the (200·d/asc)^1.5 contraction.  Two floors
 * keep it above what rounding lets us know: 50·eps·∫|f| for the sums, and
 * eps·(|x|/h)·∫|f - mean|/4 for the nodes themselves, which sit only
 * within eps·|x| of where the rule wants them.  The second dominates when a
 * feature of width h lies far from 0 (|x|/h ≫ 1): further bisection then
 * only averages the node errors down slowly, and the estimate keeps the
 * result from claiming a convergence it cannot have. */
static double gk_error(double diff, double resabs, double resasc, double pos)
{
  double err = diff;
  if (resasc != 0 && err != 0)
    err = resasc * fmin(1.0, pow(200 * err / resasc, 1.5));
  double floor = 0.25 * DBL_EPSILON * pos * resasc;
  if (resabs > DBL_MIN / (50 * DBL_EPSILON))
    floor = fmax(floor, 50 * DBL_EPSILON * resabs);
  return fmax(err, floor);
}

/* Applies the 21-point pair to iv (lo, hi, piece set); fills val and err. */
static RtStatus gk21(Quad *q, Ival *iv)
{
  const Piece *p = &q->pieces[iv->piece];
  double half = 0.5 * (iv->hi - iv->lo), mid = iv->lo + half;
  double fv[21], x, resk = 0, resg = 0, resabs = 0, resasc = 0;
  for (int j = 0; j < 21; j++) {
    double node = j < 11 ? XK[j] : -XK[j - 11];
    fv[j] = mapped(q, p, mid + half * node, &x);
    if (!isfinite(fv[j]))
      return rt_error(q->rt, RT_EINVAL, "integrand returned %s at x = %.17g",
                      isnan(fv[j]) ? "NaN" : "infinity", x);
  }
  q->evals += 21;
  for (int j = 0; j < 21; j++) {       /* j <= 10: +XK[j]; j > 10: -XK[j-11] */
    int i = j < 11 ? j : j - 11;
    resk += WK[i] * fv[j];
    resg += WG[i] * fv[j];
    resabs += WK[i] * fabs(fv[j]);
  }
  double mean = 0.5 * resk;
  for (int j = 0; j < 21; j++)
    resasc += WK[j < 11 ? j : j - 11] * fabs(fv[j] - mean);
  iv->val = resk * half;
  double pos = fmax(fabs(iv->lo), fabs(iv->hi)) / (iv->hi - iv->lo);
  iv->err = gk_error(fabs((resk - resg) * half), resabs * half, resasc * half, pos);
  return RT_OK;
}

/* --------------------------------------------------------------- pieces */

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The knots of the partition: a if finite, the distinct breakpoints inside
 * (a, b) in order, b if finite; {0} for a doubly infinite range without
 * breakpoints.  kn must hold nbreaks + 2 values.  Returns the count (>= 1). */
static int knots(double a, double b, const double *breaks, int nbreaks, double *kn)
{
  int m = 0;
  if (isfinite(a))
    kn[m++] = a;
  for (int i = 0; i < nbreaks; i++)
    if (breaks[i] > a && breaks[i] < b)
      kn[m++] = breaks[i];
  if (isfinite(b))
    kn[m++] = b;
  qsort(kn, (size_t)m, sizeof *kn, cmp_double);
  int k = 0;
  for (int i = 0; i < m; i++)
    if (k == 0 || kn[i] != kn[k - 1])
      kn[k++] = kn[i];
  if (k == 0)
    kn[k++] = 0.0;
  return k;
}

/* An infinite tail starting at c, going in direction dir (+1 or -1).  The
 * integrand may vary on every scale from the local one s (the distance to
 * the nearest other knot, where the caller marked a scale) up to
 * S = max(1, |c|), so the tail is first cut at c + dir·s·8^j (finite pieces,
 * each smooth on its own length) and only beyond S mapped by
 * x = c' + dir·S·t/(1-t).  Returns the number of pieces; pc NULL counts. */
static int tail_pieces(double c, double s, int dir, Piece *pc)
{
  double big = fmax(1.0, fabs(c)), at = c;
  int n = 0;
  for (double d = fmin(s, big); d < big; d *= 8, n++) {
    double next = c + dir * fmin(8 * d, big);
    if (pc)
      pc[n] = dir > 0 ? (Piece){FINITE, at, next, 0, 0} : (Piece){FINITE, next, at, 0, 0};
    at = next;
  }
  if (pc)
    pc[n] = (Piece){dir > 0 ? RIGHT_INF : LEFT_INF, 0, 1, at, big};
  return n + 1;
}

/* Turns the range into pieces: tails at the ends that are infinite, one
 * finite piece between consecutive knots.  Returns the count (pc NULL only
 * counts). */
static int make_pieces(double a, double b, const double *kn, int m, Piece *pc)
{
  int n = 0;
  if (isinf(a))
    n += tail_pieces(kn[0], m > 1 ? kn[1] - kn[0] : INFINITY, -1, pc);
  for (int i = 0; i + 1 < m; i++, n++)
    if (pc)
      pc[n] = (Piece){FINITE, kn[i], kn[i + 1], 0, 0};
  if (isinf(b))
    n += tail_pieces(kn[m - 1], m > 1 ? kn[m - 1] - kn[m - 2] : INFINITY, 1,
                     pc ? pc + n : NULL);
  return n;
}

/* ----------------------------------------------------------------- main */

/* Neumaier-compensated sums of the heap's values and errors. */
static void totals(const Quad *q, double *val, double *err)
{
  double s = 0, c = 0, e = 0;
  for (int i = 0; i < q->n; i++) {
    double v = q->heap[i].val, t = s + v;
    c += fabs(s) >= fabs(v) ? (s - t) + v : (v - t) + s;
    s = t;
    e += q->heap[i].err;
  }
  *val = s + c;
  *err = e;
}

static int splittable(const Ival *iv)
{
  double mid = 0.5 * (iv->lo + iv->hi);
  double scale = fmax(fabs(iv->lo), fabs(iv->hi));
  return mid > iv->lo && mid < iv->hi && iv->hi - iv->lo > 64 * DBL_EPSILON * scale;
}

static RtStatus check_args(Rt *rt, double a, double b, const double *breaks,
                           int nbreaks, const QuadOpts *o)
{
  if (isnan(a) || isnan(b))
    return rt_error(rt, RT_EINVAL, "quad: integration limit is NaN");
  if (nbreaks < 0 || (nbreaks > 0 && !breaks))
    return rt_error(rt, RT_EINVAL, "quad: invalid breakpoint list");
  for (int i = 0; i < nbreaks; i++)
    if (isnan(breaks[i]))
      return rt_error(rt, RT_EINVAL, "quad: breakpoint %d is NaN", i);
  if (!(o->abs_tol >= 0) || !(o->rel_tol >= 0) || o->limit < 1)
    return rt_error(rt, RT_EINVAL, "quad: tolerances must be >= 0 and limit >= 1");
  return RT_OK;
}

/* The refinement loop; q->heap already holds the initial pieces. */
static RtStatus refine(Quad *q, const QuadOpts *o, double *fval, double *ferr,
                       int *converged)
{
  double val, err, rval = 0, rerr = 0;   /* r*: retired (unsplittable) */
  int splits = 0;
  totals(q, &val, &err);
  for (;;) {
    if (err + rerr <= fmax(o->abs_tol, o->rel_tol * fabs(val + rval))) {
      totals(q, &val, &err);              /* confirm without drift */
      if (err + rerr <= fmax(o->abs_tol, o->rel_tol * fabs(val + rval)))
        break;
    }
    if (splits >= o->limit || q->n == 0)
      break;
    Ival iv = heap_pop(q);
    if (!splittable(&iv)) {
      rval += iv.val, rerr += iv.err, val -= iv.val, err -= iv.err;
      q->retired++;
      continue;
    }
    Ival l = iv, r = iv;
    l.hi = r.lo = 0.5 * (iv.lo + iv.hi);
    if (gk21(q, &l) || gk21(q, &r))
      return q->rt->status;
    heap_push(q, l);
    heap_push(q, r);
    splits++;
    val += l.val + r.val - iv.val;
    err += l.err + r.err - iv.err;
  }
  totals(q, &val, &err);
  *fval = val + rval;
  *ferr = err + rerr;
  *converged = *ferr <= fmax(o->abs_tol, o->rel_tol * fabs(*fval));
  return RT_OK;
}

/* Evaluates every piece once and pushes it on the heap. */
static RtStatus seed_heap(Quad *q, const Piece *pieces, int np)
{
  for (int i = 0; i < np; i++) {
    Ival iv = {pieces[i].lo, pieces[i].hi, 0, 0, i};
    if (gk21(q, &iv))
      return q->rt->status;
    heap_push(q, iv);
  }
  return RT_OK;
}

static RtStatus integrate_sorted(Quad *q, double a, double b, const double *breaks,
                                 int nbreaks, const QuadOpts *o, QuadResult *res)
{
  Rt *rt = q->rt;
  Piece *pieces = NULL;
  double *pts = rt_array(rt, (size_t)nbreaks + 2, sizeof *pts);
  if (!pts)
    return RT_ENOMEM;
  int m = knots(a, b, breaks, nbreaks, pts);
  int np = make_pieces(a, b, pts, m, NULL);
  RtStatus st = RT_ENOMEM;
  pieces = rt_array(rt, (size_t)np, sizeof *pieces);
  q->heap = rt_array(rt, (size_t)np + (size_t)o->limit + 1, sizeof *q->heap);
  if (pieces && q->heap) {
    make_pieces(a, b, pts, m, pieces);
    q->pieces = pieces;
    st = seed_heap(q, pieces, np);
    if (st == RT_OK)
      st = refine(q, o, &res->value, &res->abserr, &res->converged);
    res->intervals = q->n + q->retired;
  }
  rt_free(rt, pts);
  rt_free(rt, pieces);
  rt_free(rt, q->heap);
  return st;
}

RtStatus quad_integrate(Rt *rt, QuadFn f, void *ctx, double a, double b,
                        const double *breaks, int nbreaks, const QuadOpts *opts,
                        QuadResult *res)
{
  QuadOpts o;
  if (opts)
    o = *opts;
  else
    quad_default_opts(&o);
  *res = (QuadResult){0, 0, 0, 0, 1};
  RtStatus st = check_args(rt, a, b, breaks, nbreaks, &o);
  if (st || a == b)
    return st;
  Quad q = {rt, f, ctx, NULL, NULL, 0, 0, 0};
  double sign = 1;
  if (a > b) {
    double t = a;
    a = b, b = t, sign = -1;
  }
  st = integrate_sorted(&q, a, b, breaks, nbreaks, &o, res);
  res->value *= sign;
  res->evals = q.evals;
  return st;
}
