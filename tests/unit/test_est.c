/*
 * test_est.c — unit tests for the block-parallel estimator driver
 * (runtime/est.c).
 *
 * The reference for est_run's totals is computed here without est_run: the
 * same per-block sums, folded in block order by a plain loop.  est_run must
 * reproduce it bit for bit for every thread count, which fails if a block
 * gets the wrong seed, block index or sample count, if a block is reduced
 * twice or out of order, or if partial sums leak between blocks.
 */
#define _POSIX_C_SOURCE 200809L

#include "est.h"
#include "rng.h"
#include "../tap.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static Rt rt;

enum { NACC = 5 };   /* sum, sum of squares, n, mean, m2 */

typedef struct Totals {
  double sum, sumsq;
  Moments m;
} Totals;

typedef struct Ctx {
  Totals tot;
  /* reduce log */
  uint64_t nreduce, max_log;
  uint64_t *log_block, *log_first;
  size_t *log_n;
  int order_ok;            /* blocks reduced 0, 1, 2, ... */
  /* behaviour */
  volatile int *interrupt;
  int64_t interrupt_after;     /* set *interrupt in this block (-1: never) */
  int64_t fail_block[2];       /* blocks that fail (-1: none) */
  int64_t slow_block;          /* a block that sleeps first (-1: none) */
  atomic_int blocks_run;
} Ctx;

static void block_stats(uint64_t seed, uint64_t block, size_t n, double *z, double *acc)
{
  RngStream s;
  rng_init(&s, seed, block, 0);
  rng_normal(&s, z, n);
  double sum = 0, sq = 0;
  for (size_t i = 0; i < n; i++) {
    sum += z[i];
    sq += z[i] * z[i];
  }
  Moments m = moments_of(z, n);
  acc[0] = sum;
  acc[1] = sq;
  acc[2] = m.n;
  acc[3] = m.mean;
  acc[4] = m.m2;
}

static void fold(Totals *t, const double *acc)
{
  t->sum += acc[0];
  t->sumsq += acc[1];
  moments_merge(&t->m, (Moments){acc[2], acc[3], acc[4]});
}

static RtStatus k_block(void *vctx, EstThread *th, const SampleBlock *sb, double *acc)
{
  Ctx *c = vctx;
  atomic_fetch_add(&c->blocks_run, 1);
  if ((int64_t)sb->block == c->slow_block) {
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  for (int i = 0; i < 2; i++)
    if ((int64_t)sb->block == c->fail_block[i])
      return block_fail(&th->err, RT_EINVAL, "block %llu failed",
                        (unsigned long long)sb->block);
  for (size_t i = 0; i < NACC; i++)
    if (acc[i] != 0)
      return block_fail(&th->err, RT_EINVAL, "acc not zeroed");
  block_stats(sb->seed, sb->block, sb->n, th->scratch, acc);
  if ((int64_t)sb->block == c->interrupt_after && c->interrupt)
    *c->interrupt = 1;
  return RT_OK;
}

static void k_reduce(void *vctx, const SampleBlock *sb, const double *acc)
{
  Ctx *c = vctx;
  if (sb->block != c->nreduce)
    c->order_ok = 0;
  if (c->nreduce < c->max_log) {
    c->log_block[c->nreduce] = sb->block;
    c->log_first[c->nreduce] = sb->first;
    c->log_n[c->nreduce] = sb->n;
  }
  c->nreduce++;
  fold(&c->tot, acc);
}

static void ctx_init(Ctx *c, uint64_t max_log)
{
  memset(c, 0, sizeof *c);
  c->order_ok = 1;
  c->interrupt_after = -1;
  c->fail_block[0] = c->fail_block[1] = -1;
  c->slow_block = -1;
  c->max_log = max_log;
  c->log_block = calloc(max_log, sizeof *c->log_block);
  c->log_first = calloc(max_log, sizeof *c->log_first);
  c->log_n = calloc(max_log, sizeof *c->log_n);
  if (!c->log_block || !c->log_first || !c->log_n) {
    printf("Bail out! out of memory\n");
    exit(1);
  }
}

static void ctx_free(Ctx *c)
{
  free(c->log_block);
  free(c->log_first);
  free(c->log_n);
}

static EstKernel kernel(Ctx *c, size_t block)
{
  EstKernel k = {.ctx = c, .scratch_bytes = block * sizeof(double), .nacc = NACC,
                 .block = k_block, .reduce = k_reduce};
  return k;
}

/* The reference: blocks 0..nb-1 of `block` samples (the last partial),
 * folded in order by a plain loop. */
static Totals reference(uint64_t samples, size_t block, uint64_t seed)
{
  Totals t;
  memset(&t, 0, sizeof t);
  double *z = malloc(block * sizeof *z), acc[NACC];
  for (uint64_t b = 0; b * block < samples; b++) {
    size_t n = samples - b * block < block ? (size_t)(samples - b * block) : block;
    block_stats(seed, b, n, z, acc);
    fold(&t, acc);
  }
  free(z);
  return t;
}

static int totals_same(const Totals *a, const Totals *b)
{
  return memcmp(&a->sum, &b->sum, sizeof a->sum) == 0 &&
         memcmp(&a->sumsq, &b->sumsq, sizeof a->sumsq) == 0 && a->m.n == b->m.n &&
         memcmp(&a->m.mean, &b->m.mean, sizeof a->m.mean) == 0 &&
         memcmp(&a->m.m2, &b->m.m2, sizeof a->m.m2) == 0;
}

/* ------------------------------------------------------------ determinism */

static void test_determinism(void)
{
  const uint64_t seed = 0xC0FFEE, samples = 100000;
  const size_t block = 1024;
  Totals ref = reference(samples, block, seed);
  static const int threads[] = {1, 2, 3, 8};
  for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
    Ctx c;
    ctx_init(&c, 200);
    EstKernel k = kernel(&c, block);
    rt.threads = threads[t];
    rt.block = block;
    uint64_t done = 0;
    RtStatus st = est_run(&rt, &k, samples, seed, &done);
    ok(st == RT_OK && done == samples, "threads = %d: est_run succeeds with done = %llu",
       threads[t], (unsigned long long)samples);
    if (!ok(totals_same(&c.tot, &ref), "threads = %d: totals are bit-identical to the "
                                       "in-order reference", threads[t]))
      printf("#   sum %.17g vs %.17g, mean %.17g vs %.17g\n", c.tot.sum, ref.sum,
             c.tot.m.mean, ref.m.mean);
    ok(c.order_ok && c.nreduce == 98, "threads = %d: 98 blocks reduced in block order",
       threads[t]);
    ctx_free(&c);
  }
  rt.threads = 1;

  /* The same seed twice gives the same bits; another seed does not. */
  Ctx c1, c2, c3;
  ctx_init(&c1, 200);
  ctx_init(&c2, 200);
  ctx_init(&c3, 200);
  EstKernel k1 = kernel(&c1, block), k2 = kernel(&c2, block), k3 = kernel(&c3, block);
  rt.threads = 3;
  est_run(&rt, &k1, samples, seed, NULL);
  est_run(&rt, &k2, samples, seed, NULL);
  est_run(&rt, &k3, samples, seed + 1, NULL);
  ok(totals_same(&c1.tot, &c2.tot), "the same seed twice gives identical totals");
  ok(c1.tot.sum != c3.tot.sum && c1.tot.m.m2 != c3.tot.m.m2,
     "another seed gives other totals");
  rt.threads = 1;

  /* Sanity of the estimate itself: standard normals. */
  double se = moments_stderr(&c1.tot.m);
  ok_near(c1.tot.m.mean, 0, 5 * se, "the mean of 10^5 normals is 0 within 5 SE");
  ok_near(c1.tot.m.m2 / (samples - 1), 1, 5 * sqrt(2.0 / samples),
          "the variance of 10^5 normals is 1 within 5 SE");
  ok_rel(c1.tot.sumsq - c1.tot.sum * c1.tot.sum / samples, c1.tot.m.m2, 1e-9,
         "sum of squares and Chan's m2 agree");
  ctx_free(&c1);
  ctx_free(&c2);
  ctx_free(&c3);
}

/* ------------------------------------------------------------ reduce order */

static void test_reduce_order(void)
{
  const uint64_t samples = 10000;
  const size_t block = 1024;
  static const int threads[] = {1, 4};
  for (size_t t = 0; t < 2; t++) {
    Ctx c;
    ctx_init(&c, 64);
    EstKernel k = kernel(&c, block);
    rt.threads = threads[t];
    rt.block = block;
    RtStatus st = est_run(&rt, &k, samples, 5, NULL);
    ok(st == RT_OK && c.nreduce == 10, "threads = %d: 10000 samples in blocks of 1024 "
                                       "are 10 blocks", threads[t]);
    int good = c.order_ok;
    for (uint64_t b = 0; b < 10 && b < c.nreduce; b++)
      good &= c.log_block[b] == b && c.log_first[b] == b * 1024 &&
              c.log_n[b] == (b < 9 ? 1024 : 10000 - 9 * 1024);
    ok(good, "threads = %d: reduce sees blocks 0..9 in order, first = 1024 b, n = 1024 "
             "(the last 784)", threads[t]);
    ok(c.blocks_run == 10, "threads = %d: each block runs once", threads[t]);
    ctx_free(&c);
  }

  /* A single partial block. */
  Ctx c;
  ctx_init(&c, 4);
  EstKernel k = kernel(&c, 1024);
  rt.threads = 8;
  uint64_t done = 0;
  RtStatus st = est_run(&rt, &k, 7, 5, &done);
  ok(st == RT_OK && done == 7 && c.nreduce == 1 && c.log_n[0] == 7 && c.tot.m.n == 7,
     "7 samples: one block of 7");
  ctx_free(&c);
  rt.threads = 1;
}

/* ------------------------------------------------------------ interrupt */

static void test_interrupt(void)
{
  const size_t block = 256;
  const uint64_t samples = 400 * 256 + 100;
  static const int threads[] = {1, 2, 3, 8};
  for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
    volatile int flag = 0;
    Ctx c;
    ctx_init(&c, 512);
    c.interrupt = &flag;
    c.interrupt_after = 7;
    EstKernel k = kernel(&c, block);
    rt.threads = threads[t];
    rt.block = block;
    rt.interrupt = &flag;
    uint64_t done = 12345;
    rt_clear(&rt);
    RtStatus st = est_run(&rt, &k, samples, 9, &done);
    ok(st == RT_EINTR && rt.status == RT_EINTR, "threads = %d: an interrupt gives RT_EINTR",
       threads[t]);
    ok(done % block == 0 && done < samples && done == c.nreduce * block && c.order_ok,
       "threads = %d: done = %llu is the prefix of the %llu blocks reduced in order",
       threads[t], (unsigned long long)done, (unsigned long long)c.nreduce);
    if (threads[t] == 1)
      ok(done == 8 * block, "one thread: the interrupt after block 7 leaves 8 blocks done");
    /* The reduced prefix has exactly the reference's totals. */
    Totals ref = reference(done, block, 9);
    ok(done == 0 || totals_same(&c.tot, &ref),
       "threads = %d: the interrupted totals equal the reference over done samples",
       threads[t]);
    ctx_free(&c);
  }

  /* An interrupt in the second wave (one thread: waves of 16 blocks). */
  volatile int flag = 0;
  Ctx c;
  ctx_init(&c, 512);
  c.interrupt = &flag;
  c.interrupt_after = 20;
  EstKernel k = kernel(&c, block);
  rt.threads = 1;
  rt.interrupt = &flag;
  uint64_t done = 0;
  RtStatus st = est_run(&rt, &k, samples, 9, &done);
  ok(st == RT_EINTR && done == 21 * block && c.nreduce == 21 && c.order_ok,
     "one thread: an interrupt after block 20 (second wave) leaves 21 blocks done");
  ctx_free(&c);

  rt.interrupt = NULL;
  rt.threads = 1;
  rt_clear(&rt);
}

/* ------------------------------------------------------------ failures */

static void test_failure(void)
{
  const size_t block = 1024;
  const uint64_t samples = 20 * 1024;
  static const int threads[] = {1, 2, 3, 8};
  for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
    for (int rep = 0; rep < 3; rep++) {
      Ctx c;
      ctx_init(&c, 32);
      c.fail_block[0] = 5;
      c.fail_block[1] = 13;   /* fails too, and (with threads) usually first */
      c.slow_block = 5;
      EstKernel k = kernel(&c, block);
      rt.threads = threads[t];
      rt.block = block;
      rt_clear(&rt);
      uint64_t done = 999;
      RtStatus st = est_run(&rt, &k, samples, 1, &done);
      int good = st == RT_EINVAL && rt.status == RT_EINVAL &&
                 strcmp(rt.msg, "block 5 failed") == 0 && c.nreduce == 5 && c.order_ok &&
                 done == 5 * block;
      if (!ok(good, "threads = %d, run %d: block 5's failure is reported, 5 blocks reduced",
              threads[t], rep))
        printf("#   status %d, msg \"%s\", %llu reduced, done %llu\n", (int)st, rt.msg,
               (unsigned long long)c.nreduce, (unsigned long long)done);
      ctx_free(&c);
    }
  }

  /* A failure in a later wave: block 37 of 40 with one thread (waves of 16). */
  Ctx c;
  ctx_init(&c, 64);
  c.fail_block[0] = 37;
  EstKernel k = kernel(&c, block);
  rt.threads = 1;
  rt_clear(&rt);
  uint64_t done = 0;
  RtStatus st = est_run(&rt, &k, 40 * 1024, 1, &done);
  ok(st == RT_EINVAL && strcmp(rt.msg, "block 37 failed") == 0 && done == 37 * block &&
         c.nreduce == 37 && c.order_ok,
     "one thread: block 37's failure in the third wave leaves 37 blocks done");
  ctx_free(&c);

  rt.threads = 1;
  rt_clear(&rt);
}

/* ------------------------------------------------------------ errors */

static void test_errors(void)
{
  Ctx c;
  ctx_init(&c, 4);
  EstKernel k = kernel(&c, 1024);
  rt.block = 1024;
  uint64_t done = 77;
  rt_clear(&rt);
  RtStatus st = est_run(&rt, &k, 0, 1, &done);
  ok(st == RT_EINVAL && rt.status == RT_EINVAL && done == 0 && c.nreduce == 0 &&
         c.blocks_run == 0,
     "samples = 0 is RT_EINVAL, done = 0, nothing runs");
  ok(strstr(rt.msg, "samples") != NULL, "the samples = 0 message says 'samples'");
  ctx_free(&c);
  rt_clear(&rt);
}

/* ------------------------------------------------------------ moments */

static void test_moments(void)
{
  enum { N = 10007 };
  double *x = malloc(N * sizeof *x);
  RngStream s;
  rng_init(&s, 11, 0, 0);
  rng_normal(&s, x, N);
  for (int i = 0; i < N; i++)
    x[i] = 1000.0 + 3.0 * x[i];     /* an offset that naive sums handle badly */

  /* moments_of against an independent long double computation. */
  long double ls = 0, lq = 0;
  for (int i = 0; i < N; i++)
    ls += x[i];
  long double lm = ls / N;
  for (int i = 0; i < N; i++)
    lq += (x[i] - lm) * (x[i] - lm);
  Moments all = moments_of(x, N);
  ok(all.n == N, "moments_of: n");
  ok_rel(all.mean, (double)lm, 1e-14, "moments_of: mean");
  ok_rel(all.m2, (double)lq, 1e-12, "moments_of: m2");
  ok_rel(moments_stderr(&all), sqrt((double)lq / (N - 1) / N), 1e-12,
         "moments_stderr = sqrt(m2 / (n - 1) / n)");

  /* Random splits merged in order. */
  RngStream cut;
  rng_init(&cut, 12, 0, 0);
  for (int trial = 0; trial < 20; trial++) {
    Moments m = {0, 0, 0};
    size_t at = 0;
    int pieces = 0;
    while (at < N) {
      size_t len = (size_t)rng_below(&cut, 600);     /* may be 0: empty pieces */
      if (len > N - at)
        len = N - at;
      moments_merge(&m, moments_of(x + at, len));
      at += len;
      pieces++;
    }
    int good = m.n == N && fabs(m.mean - all.mean) <= 1e-12 * fabs(all.mean) &&
               fabs(m.m2 - all.m2) <= 1e-12 * fabs(all.m2);
    if (!ok(good, "merge of %d random pieces equals moments_of (trial %d)", pieces, trial))
      printf("#   n %g mean %.17g vs %.17g, m2 %.17g vs %.17g\n", m.n, m.mean, all.mean, m.m2,
             all.m2);
  }

  /* Merging into and from empty moments. */
  Moments e = {0, 0, 0}, a = moments_of(x, 10);
  Moments a0 = a;
  moments_merge(&a, e);
  ok(a.n == a0.n && a.mean == a0.mean && a.m2 == a0.m2, "merging empty moments changes nothing");
  Moments z1 = {0, 0, 0}, z2 = {0, 0, 0};
  moments_merge(&z1, z2);
  ok(z1.n == 0 && z1.mean == 0 && z1.m2 == 0, "merging empty into empty stays empty (no NaN)");
  moments_merge(&e, a0);
  ok(e.n == a0.n && e.mean == a0.mean && e.m2 == a0.m2, "merging into empty moments copies");

  /* Two single points: mean (p + q) / 2, m2 (p - q)^2 / 2. */
  double p = 2.0, q = 5.0;
  Moments mp = moments_of(&p, 1);
  moments_merge(&mp, moments_of(&q, 1));
  ok(mp.n == 2 && mp.mean == 3.5 && mp.m2 == 4.5, "merge of 2 and 5: mean 3.5, m2 4.5");
  Moments one = moments_of(&p, 1);
  ok(isinf(moments_stderr(&one)), "the standard error of one sample is infinite");
  free(x);
}

int main(void)
{
  rt_init(&rt);
  test_determinism();
  test_reduce_order();
  test_interrupt();
  test_failure();
  test_errors();
  test_moments();
  return tap_done();
}
