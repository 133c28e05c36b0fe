/*
 * rng_bench.c — how fast the random streams are, for the docs.
 *
 * Prints nanoseconds per normal, per uniform and per rng_below_n integer,
 * single-threaded, best of several runs (the minimum is the least disturbed
 * by other load on the machine).  Fills a block-sized buffer over and over,
 * the way the engine uses the streams.
 *
 *   gcc -std=c11 -O3 -fno-math-errno -ffp-contract=off -Iruntime \
 *       bench/rng_bench.c runtime/rng.c -lm -o /tmp/rng_bench
 */
#define _POSIX_C_SOURCE 199309L

#include "rng.h"

#include <stdio.h>
#include <time.h>

enum { BUF = 2048, FILLS = 4000, RUNS = 7 };

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double buf[BUF];
static uint64_t ibuf[BUF];
static volatile double sink;

/* Best time per value over RUNS runs of FILLS fills of BUF values. */
static double time_fill(void (*fill)(RngStream *, double *, size_t))
{
  double best = 1e30;
  for (int r = 0; r < RUNS; r++) {
    RngStream s;
    rng_init(&s, 12345, (uint64_t)r, 0);
    double t0 = now();
    for (int k = 0; k < FILLS; k++)
      fill(&s, buf, BUF);
    double t = now() - t0;
    sink += buf[BUF - 1];
    if (t < best)
      best = t;
  }
  return best * 1e9 / ((double)FILLS * BUF);
}

static double time_below(uint64_t n)
{
  double best = 1e30;
  for (int r = 0; r < RUNS; r++) {
    RngStream s;
    rng_init(&s, 12345, (uint64_t)r, 1);
    double t0 = now();
    for (int k = 0; k < FILLS; k++)
      rng_below_n(&s, n, ibuf, BUF);
    double t = now() - t0;
    sink += (double)ibuf[BUF - 1];
    if (t < best)
      best = t;
  }
  return best * 1e9 / ((double)FILLS * BUF);
}

int main(void)
{
  printf("rng_normal   %6.3f ns/value\n", time_fill(rng_normal));
  printf("rng_uniform  %6.3f ns/value\n", time_fill(rng_uniform));
  printf("rng_below_n  %6.3f ns/value (n = 7)\n", time_below(7));
  return 0;
}
