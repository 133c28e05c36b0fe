/*
 * est.c — running blocks on threads and reducing them in order (est.h).
 */
#include "est.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define WAVE_PER_THREAD 16

typedef struct Wave {
  const EstKernel *k;
  uint64_t samples, seed, first_block, nblocks;   /* this wave's blocks */
  size_t bsize;
  double *acc;               /* nblocks × nacc */
  unsigned char *state;      /* per block: 0 pending, 1 done, 2 failed */
  BlockErr *errs;            /* per block, for failures */
  atomic_uint_fast64_t next;
  const volatile int *interrupt;
  /* Wave hand-off: the caller bumps `generation` and wakes the workers;
   * each worker decrements `active` when its share is done.  Unlike a
   * barrier this works with however many workers actually started. */
  pthread_mutex_t mu;
  pthread_cond_t go, finished;
  uint64_t generation;
  int active, stop;
} Wave;

typedef struct Worker {
  Wave *w;
  EstThread th;
  pthread_t tid;
} Worker;

static void block_of(const Wave *w, uint64_t b, SampleBlock *sb)
{
  sb->seed = w->seed;
  sb->block = b;
  sb->first = b * w->bsize;
  sb->sub = 0;
  uint64_t left = w->samples - sb->first;
  sb->n = left < w->bsize ? (size_t)left : w->bsize;
}

/* Takes blocks of the current wave until none is left or an interrupt. */
static void run_wave(Wave *w, EstThread *th)
{
  const EstKernel *k = w->k;
  for (;;) {
    uint64_t j = atomic_fetch_add(&w->next, 1);
    if (j >= w->nblocks || (w->interrupt && *w->interrupt))
      return;
    SampleBlock sb;
    block_of(w, w->first_block + j, &sb);
    double *acc = w->acc + j * k->nacc;
    memset(acc, 0, k->nacc * sizeof *acc);
    th->err.status = RT_OK;
    RtStatus st = k->block(k->ctx, th, &sb, acc);
    if (st) {
      w->errs[j] = th->err;
      if (w->errs[j].status == RT_OK)
        w->errs[j].status = st;
    }
    w->state[j] = st ? 2 : 1;
  }
}

static void *worker_main(void *arg)
{
  Worker *wk = arg;
  Wave *w = wk->w;
  uint64_t seen = 0;
  for (;;) {
    pthread_mutex_lock(&w->mu);
    while (w->generation == seen && !w->stop)
      pthread_cond_wait(&w->go, &w->mu);
    seen = w->generation;
    int stop = w->stop;
    pthread_mutex_unlock(&w->mu);
    if (stop)
      return NULL;
    run_wave(w, &wk->th);
    pthread_mutex_lock(&w->mu);
    if (--w->active == 0)
      pthread_cond_signal(&w->finished);
    pthread_mutex_unlock(&w->mu);
  }
}

/* Reduces the finished prefix of the wave in block order.  Returns the
 * number of blocks reduced; *failed gets the first failing block or -1. */
static uint64_t reduce_wave(Wave *w, int64_t *failed)
{
  const EstKernel *k = w->k;
  *failed = -1;
  uint64_t j = 0;
  for (; j < w->nblocks && w->state[j] == 1; j++) {
    SampleBlock sb;
    block_of(w, w->first_block + j, &sb);
    k->reduce(k->ctx, &sb, w->acc + j * k->nacc);
  }
  if (j < w->nblocks && w->state[j] == 2)
    *failed = (int64_t)j;
  return j;
}

typedef struct Pool {
  Worker *workers;
  int nthreads, started;
  int synced;            /* the wave's mutex and conditions exist */
  void *scratch;
} Pool;

static RtStatus pool_start(Rt *rt, Pool *p, Wave *w, const EstKernel *k, int nthreads)
{
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->go, NULL);
  pthread_cond_init(&w->finished, NULL);
  p->synced = 1;
  p->nthreads = nthreads;
  p->workers = rt_calloc(rt, (size_t)nthreads, sizeof *p->workers);
  size_t sb = (k->scratch_bytes + 63) & ~(size_t)63;
  p->scratch = rt_array(rt, (size_t)nthreads, sb ? sb : 64);
  if (!p->workers || !p->scratch)
    return RT_ENOMEM;
  for (int t = 0; t < nthreads; t++) {
    p->workers[t].w = w;
    p->workers[t].th.id = t;
    p->workers[t].th.scratch = (char *)p->scratch + (size_t)t * sb;
  }
  /* A thread that cannot be started only costs speed, never the result. */
  for (int t = 1; t < nthreads; t++) {
    if (pthread_create(&p->workers[t].tid, NULL, worker_main, &p->workers[t]) != 0)
      break;
    p->started++;
  }
  return RT_OK;
}

static void pool_stop(Rt *rt, Pool *p, Wave *w)
{
  if (p->synced) {
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->go);
    pthread_mutex_unlock(&w->mu);
    for (int t = 1; t <= p->started; t++)
      pthread_join(p->workers[t].tid, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->go);
    pthread_cond_destroy(&w->finished);
  }
  rt_free(rt, p->workers);
  rt_free(rt, p->scratch);
}

/* One wave: every thread (the caller too) takes blocks, then the caller
 * reduces.  Returns the status of the wave. */
static RtStatus do_wave(Rt *rt, Pool *p, Wave *w, uint64_t *reduced)
{
  atomic_store(&w->next, 0);
  memset(w->state, 0, w->nblocks);
  pthread_mutex_lock(&w->mu);
  w->active = p->started;
  w->generation++;
  pthread_cond_broadcast(&w->go);
  pthread_mutex_unlock(&w->mu);
  run_wave(w, &p->workers[0].th);
  pthread_mutex_lock(&w->mu);
  while (w->active > 0)
    pthread_cond_wait(&w->finished, &w->mu);
  pthread_mutex_unlock(&w->mu);
  int64_t failed;
  uint64_t j = reduce_wave(w, &failed);
  *reduced = j;
  if (failed >= 0) {
    BlockErr *e = &w->errs[failed];
    return rt_error(rt, e->status ? e->status : RT_EINVAL, "%s",
                    e->msg[0] ? e->msg : "a block failed");
  }
  if (j < w->nblocks)
    return rt_error(rt, RT_EINTR, "interrupted");
  return RT_OK;
}

RtStatus est_run(Rt *rt, const EstKernel *k, uint64_t samples, uint64_t seed,
                 uint64_t *done)
{
  if (done)
    *done = 0;
  if (samples == 0)
    return rt_error(rt, RT_EINVAL, "samples must be >= 1");
  size_t bsize = rt->block ? rt->block : 2048;
  uint64_t nblocks = (samples + bsize - 1) / bsize;
  int nthreads = rt->threads < 1 ? 1 : rt->threads;
  if ((uint64_t)nthreads > nblocks)
    nthreads = (int)nblocks;
  uint64_t wave = (uint64_t)nthreads * WAVE_PER_THREAD;
  if (wave > nblocks)
    wave = nblocks;
  Wave w;
  memset(&w, 0, sizeof w);
  w.k = k;
  w.samples = samples;
  w.seed = seed;
  w.bsize = bsize;
  w.interrupt = rt->interrupt;
  w.acc = rt_array(rt, (size_t)wave * (k->nacc ? k->nacc : 1), sizeof *w.acc);
  w.state = rt_alloc(rt, (size_t)wave);
  w.errs = rt_array(rt, (size_t)wave, sizeof *w.errs);
  Pool p;
  memset(&p, 0, sizeof p);
  RtStatus st = w.acc && w.state && w.errs ? pool_start(rt, &p, &w, k, nthreads) : RT_ENOMEM;
  for (uint64_t b = 0; st == RT_OK && b < nblocks; b += wave) {
    uint64_t reduced;
    w.first_block = b;
    w.nblocks = nblocks - b < wave ? nblocks - b : wave;
    st = do_wave(rt, &p, &w, &reduced);
    if (done) {
      uint64_t end = (b + reduced) * bsize;
      *done = end < samples ? end : samples;
    }
  }
  pool_stop(rt, &p, &w);
  rt_free(rt, w.acc);
  rt_free(rt, w.state);
  rt_free(rt, w.errs);
  return st;
}

/* One pass, shifted by the first value (so the sums of x - x0 and of
 * (x - x0)² keep their precision), accumulated in eight fixed lanes: the
 * loop vectorises, and the order of additions — hence every bit of the
 * result — does not depend on the vector width. */
Moments moments_of(const double *x, size_t n)
{
  Moments m = {(double)n, 0, 0};
  if (n == 0)
    return m;
  double x0 = x[0], s8[8] = {0}, q8[8] = {0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) {
      double d = x[i + l] - x0;
      s8[l] += d;
      q8[l] += d * d;
    }
  for (int l = 0; i + l < n; l++) {
    double d = x[i + l] - x0;
    s8[l] += d;
    q8[l] += d * d;
  }
  double s = 0, q = 0;
  for (int l = 0; l < 8; l++) {
    s += s8[l];
    q += q8[l];
  }
  double mean = s / (double)n;
  m.mean = x0 + mean;
  m.m2 = q - s * mean;
  if (m.m2 < 0)
    m.m2 = 0;
  return m;
}

void moments_merge(Moments *a, Moments b)
{
  if (b.n == 0)
    return;
  if (a->n == 0) {
    *a = b;
    return;
  }
  double n = a->n + b.n, delta = b.mean - a->mean;
  a->mean += delta * (b.n / n);
  a->m2 += b.m2 + delta * delta * (a->n * b.n / n);
  a->n = n;
}

double moments_stderr(const Moments *m)
{
  if (m->n < 2)
    return INFINITY;
  return sqrt(m->m2 / (m->n - 1) / m->n);
}
