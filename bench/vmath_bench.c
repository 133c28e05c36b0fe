/*
 * vmath_bench.c — how fast the array kernels of runtime/vmath.c are, against
 * glibc's scalar functions on the same inputs, for the docs.
 *
 * Prints nanoseconds per element for each kernel on a block of 2048 inputs
 * spread over the range the engine sees (e.g. gate arguments for exp), the
 * best of several runs (the minimum is the least disturbed by other load),
 * then the softmax per sample at K = 4 and 16.  Single-threaded.
 *
 *   gcc -std=gnu11 -O3 -fno-math-errno -ffp-contract=off -Iruntime \
 *       bench/vmath_bench.c runtime/vmath.c -lm -o /tmp/vmath_bench
 */
#define _POSIX_C_SOURCE 199309L

#include "vmath.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

enum { BUF = 2048, CALLS = 2000, RUNS = 7, KMAX = 16 };

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double in[BUF], out[BUF];
static double logits[KMAX * BUF], gates[KMAX * BUF], scratch[2 * BUF];
static volatile double sink;

static uint64_t state = 0x9E3779B97F4A7C15u;

static double unif(double lo, double hi)
{
  uint64_t z = (state += 0x9E3779B97F4A7C15u);
  z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9u;
  z = (z ^ z >> 27) * 0x94D049BB133111EBu;
  z ^= z >> 31;
  return lo + (hi - lo) * ((double)(z >> 11) * 0x1p-53);
}

static double sigmoid(double x)
{
  return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

static double softplus(double x)
{
  return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

typedef struct {
  const char *name;
  void (*vec)(const double *, double *, size_t);
  double (*libm)(double);
  double lo, hi;   /* input range */
} Case;

static const Case CASES[] = {
    {"exp", vm_exp_n, exp, -30, 5},
    {"exp (underflow)", vm_exp_n, exp, -1e4, -746},
    {"log", vm_log_n, log, 1e-3, 1e3},
    {"log1p", vm_log1p_n, log1p, -0.9, 10},
    {"sqrt", vm_sqrt_n, sqrt, 0, 100},
    {"sin", vm_sin_n, sin, -10, 10},
    {"cos", vm_cos_n, cos, -10, 10},
    {"tan", vm_tan_n, tan, -10, 10},
    {"tanh", vm_tanh_n, tanh, -5, 5},
    {"sigmoid", vm_sigmoid_n, sigmoid, -10, 10},
    {"softplus", vm_softplus_n, softplus, -10, 10},
    {"erf", vm_erf_n, erf, -4, 4},
};

static double time_vec(const Case *c)
{
  double best = 1e30;
  for (int r = 0; r < RUNS; r++) {
    double t0 = now();
    for (int k = 0; k < CALLS; k++)
      c->vec(in, out, BUF);
    double t = (now() - t0) / ((double)CALLS * BUF);
    best = t < best ? t : best;
    sink = out[BUF / 2];
  }
  return best * 1e9;
}

static double time_libm(const Case *c)
{
  double best = 1e30;
  for (int r = 0; r < RUNS; r++) {
    double t0 = now();
    for (int k = 0; k < CALLS / 4; k++)
      for (int i = 0; i < BUF; i++)
        out[i] = c->libm(in[i]);
    double t = (now() - t0) / ((double)(CALLS / 4) * BUF);
    best = t < best ? t : best;
    sink = out[BUF / 2];
  }
  return best * 1e9;
}

static double time_softmax(int K, double tau)
{
  double best = 1e30;
  for (int r = 0; r < RUNS; r++) {
    double t0 = now();
    for (int k = 0; k < CALLS / 4; k++)
      vm_softmax_cols(K, BUF, logits, BUF, 1 / tau, gates, BUF, scratch);
    double t = (now() - t0) / ((double)(CALLS / 4) * BUF);
    best = t < best ? t : best;
    sink = gates[BUF / 2];
  }
  return best * 1e9;
}

int main(void)
{
  printf("%-18s %12s %12s %8s\n", "kernel", "vm ns/elt", "glibc ns/elt", "speedup");
  for (size_t c = 0; c < sizeof CASES / sizeof *CASES; c++) {
    for (int i = 0; i < BUF; i++)
      in[i] = unif(CASES[c].lo, CASES[c].hi);
    double tv = time_vec(&CASES[c]), tl = time_libm(&CASES[c]);
    printf("%-18s %12.2f %12.2f %8.1f\n", CASES[c].name, tv, tl, tl / tv);
  }
  for (int i = 0; i < KMAX * BUF; i++)
    logits[i] = unif(-4, 4);
  static const int Ks[] = {4, 16};
  static const double taus[] = {1.0, 1e-4};
  for (int k = 0; k < 2; k++)
    for (int t = 0; t < 2; t++) {
      double ts = time_softmax(Ks[k], taus[t]);
      printf("softmax K=%-2d tau=%-6g %6.2f ns/sample (%.2f per sample and k)\n", Ks[k],
             taus[t], ts, ts / Ks[k]);
    }
  return 0;
}
