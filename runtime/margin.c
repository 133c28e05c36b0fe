/*
 * margin.c — gaps between ordered logits (see margin.h).
 */
#include "margin.h"

#include "simd.h"

#include <math.h>
#include <stdint.h>

static inline double dmax(double a, double b) { return a > b ? a : b; }
static inline double dmin(double a, double b) { return a < b ? a : b; }

/* The running top two of each sample: m1 the largest so far, m2 the
 * second.  Min/max only and no branches, so the loops over samples
 * vectorise; chunks of 256 keep m1 and m2 in L1.  The result is exact
 * (max and min do not round), so every vector width gives the same bits. */
KERNEL void margin_top2(int K, size_t n, const double *a, size_t lda, double *delta)
{
  double m1[256], m2[256];
  for (size_t i0 = 0; i0 < n; i0 += 256) {
    size_t m = n - i0 < 256 ? n - i0 : 256;
    const double *a0 = a + i0, *a1 = a + lda + i0;
    for (size_t i = 0; i < m; i++) {
      m1[i] = dmax(a0[i], a1[i]);
      m2[i] = dmin(a0[i], a1[i]);
    }
    for (int k = 2; k < K; k++) {
      const double *ak = a + (size_t)k * lda + i0;
      for (size_t i = 0; i < m; i++) {
        double x = ak[i];
        m2[i] = dmax(m2[i], dmin(m1[i], x));
        m1[i] = dmax(m1[i], x);
      }
    }
    for (size_t i = 0; i < m; i++)
      delta[i0 + i] = m1[i] - m2[i];
  }
}

/* Keeps the `lo` largest values of each sample in descending order in
 * top[r*n + i] by insertion: lo is small (a rank), K can be large. */
void margin_gap(int K, int hi, int lo, size_t n, const double *a, size_t lda,
                double *delta, double *top)
{
  for (int r = 0; r < lo; r++)
    for (size_t i = 0; i < n; i++)
      top[(size_t)r * n + i] = -INFINITY;
  for (int k = 0; k < K; k++) {
    const double *ak = a + (size_t)k * lda;
    for (size_t i = 0; i < n; i++) {
      double x = ak[i];
      for (int r = 0; r < lo; r++) {
        double *t = &top[(size_t)r * n + i];
        if (x > *t) {
          double y = *t;
          *t = x;
          x = y;
        }
      }
    }
  }
  for (size_t i = 0; i < n; i++)
    delta[i] = top[(size_t)(hi - 1) * n + i] - top[(size_t)(lo - 1) * n + i];
}

void margin_top_two_index(int K, const double *a, size_t stride, int *top, int *second)
{
  int t = a[0] >= a[stride] ? 0 : 1, s = 1 - t;
  for (int k = 2; k < K; k++) {
    double x = a[(size_t)k * stride];
    if (x > a[(size_t)t * stride]) {
      s = t;
      t = k;
    } else if (x > a[(size_t)s * stride]) {
      s = k;
    }
  }
  *top = t;
  *second = s;
}

int margin_rank_index(int K, const double *a, size_t stride, int r)
{
  /* Rank of k = number of logits ahead of it (larger, or equal with a lower
   * index); O(K²) but only used at a handful of points. */
  for (int k = 0; k < K; k++) {
    int ahead = 0;
    double x = a[(size_t)k * stride];
    for (int j = 0; j < K; j++) {
      double y = a[(size_t)j * stride];
      ahead += y > x || (y == x && j < k);
    }
    if (ahead == r - 1)
      return k;
  }
  return 0;
}

KERNEL void margin_count_below(const double *delta, size_t n, const double *w, int nw,
                               double *counts)
{
  for (int j = 0; j < nw; j++) {
    double wj = w[j];
    int64_t k = 0;
    for (size_t i = 0; i < n; i++)
      k += delta[i] <= wj;
    counts[j] = (double)k;
  }
}

KERNEL void margin_pick_top(int K, size_t n, const double *a, size_t lda, const double *v,
                            size_t ldv, double *out)
{
  double best[256];
  for (size_t i0 = 0; i0 < n; i0 += 256) {
    size_t m = n - i0 < 256 ? n - i0 : 256;
    for (size_t i = 0; i < m; i++) {
      best[i] = a[i0 + i];
      out[i0 + i] = v[i0 + i];
    }
    for (int k = 1; k < K; k++) {
      const double *ak = a + (size_t)k * lda + i0, *vk = v + (size_t)k * ldv + i0;
      for (size_t i = 0; i < m; i++) {
        int gt = ak[i] > best[i];          /* strict: ties keep the lower index */
        best[i] = gt ? ak[i] : best[i];
        out[i0 + i] = gt ? vk[i] : out[i0 + i];
      }
    }
  }
}
