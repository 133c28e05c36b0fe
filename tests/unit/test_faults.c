/*
 * test_faults.c — allocation failure everywhere: every example script is
 * run with the n-th allocation failing, for every n from 0 until the run
 * needs no more (parsing, checking, building objects, and queries on a
 * small sample budget).  Each failure must be a clean "out of memory"
 * error (or a refused state when it hits the set-up), nothing may leak, and
 * the same state must run the next script once memory is back.  This is
 * Lua's and SQLite's allocation-failure test, on moe, over every example
 * and every script test.
 *
 * Every n up to 2000 is tried (that covers parsing, checking and setting
 * up every script here); past it the sweep takes at most FAULT_TAIL_RUNS
 * evenly spaced n, so a script that trains a model for thousands of steps
 * (and allocates per step) costs seconds, not hours.  MOE_FAULT_STRIDE=k
 * sets a larger minimum stride past 2000 for quick runs.  MOE_FAULT_ONLY=n MOE_FAULT_FILE=name
 * runs one case and prints what it wrote, for debugging.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dbgalloc.h"
#include "interp.h"
#include "source.h"
#include "../tap.h"

typedef struct Capture {
  char *text;
  size_t len;
} Capture;

static void capture(void *ud, const char *s, size_t n)
{
  Capture *c = ud;
  char *t = realloc(c->text, c->len + n + 1);
  if (!t)
    return;
  c->text = t;
  memcpy(c->text + c->len, s, n);
  c->len += n;
  c->text[c->len] = '\0';
}

static void reset(Capture *c)
{
  free(c->text);
  c->text = NULL;
  c->len = 0;
}

static char *slurp(const char *path, size_t *n)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = malloc(1 << 20);
  *n = fread(buf, 1, (1 << 20) - 1, f);
  buf[*n] = '\0';
  fclose(f);
  return buf;
}

enum { FAULT_HEAD = 2000, FAULT_TAIL_RUNS = 400 };

typedef struct Sweep {
  long total;            /* allocations the script makes when none fails */
  char baseline[512];    /* the first line the script writes to stderr on its own */
  long runs, init_failed, oom, other;
  int leaked, unusable, bad_message;
  char first_bad[512];
} Sweep;

/* One run with the n-th allocation failing; returns 1 once a run went
 * through without the failure being reached (the sweep is complete; the
 * script may still fail on its own, as the diagnostic tests do). */
static int run_failing_at(const char *name, const char *text, size_t len, long n, Sweep *sw)
{
  DbgAlloc a;
  dbg_init(&a);
  a.fail_after = n;
  Capture out = {0}, err = {0};
  Interp I;
  int done = 0;
  sw->runs++;
  if (interp_init_alloc(&I, dbg_realloc, &a, capture, &out, capture, &err)) {
    sw->init_failed++;
  } else {
    I.set.threads = 1;
    I.limits.max_samples = 100;   /* queries and training batches: tiny, for speed */
    I.limits.max_steps = 100000;
    int st = 0;
    Source *src = source_new(&I.rt, name, text, len);
    if (src)
      st = interp_run(&I, src, 0, 0, NULL);
    if (n < 0) {
      done = 1;                /* the baseline run: nothing injected */
    } else if (!src) {
      sw->oom++;               /* the host's own call saw NULL: its out of memory */
    } else if (a.fail_after >= 0) {
      done = 1;                /* the failure was never reached: the sweep is over */
    } else if (st == 0) {
      sw->other++;             /* failed inside something that recovered: fine */
    } else if (err.text && strstr(err.text, "out of memory")) {
      sw->oom++;
    } else if (err.text && sw->baseline[0] &&
               strncmp(err.text, sw->baseline, strlen(sw->baseline)) == 0) {
      sw->other++;             /* the script's own error, reached before the failure */
    } else if (!sw->bad_message) {
      sw->bad_message = 1;
      snprintf(sw->first_bad, sizeof sw->first_bad, "n=%ld: %.300s", n,
               err.text ? err.text : src ? "(no message)" : "(source_new failed)");
    }
    /* Memory is back: the same state must work. */
    a.fail_after = -1;
    reset(&out);
    Source *again = source_new(&I.rt, "after.moe", "print 6 * 7\n", 12);
    if (!again || interp_run(&I, again, 0, 0, NULL) != 0 || !out.text || !strstr(out.text, "42"))
      sw->unusable++;
  }
  if (n < 0)
    sw->total = a.allocations;
  if (n < 0 && err.text) {
    size_t l = strcspn(err.text, "\n");
    snprintf(sw->baseline, sizeof sw->baseline, "%.*s", (int)(l < 500 ? l : 500), err.text);
  }
  interp_free(&I);
  if (a.live_blocks != 0)
    sw->leaked++;
  if (getenv("MOE_FAULT_ONLY"))
    printf("# n=%ld out: %s\n# err: %s\n", n, out.text ? out.text : "", err.text ? err.text : "");
  reset(&out);
  reset(&err);
  return done;
}

static void sweep_file(const char *path, const char *name, long stride)
{
  size_t len;
  char *text = slurp(path, &len);
  name = path;                   /* files beside the script are found from its path */
  if (!text) {
    ok(0, "%s: cannot read", name);
    return;
  }
  Sweep sw;
  memset(&sw, 0, sizeof sw);
  long n = 0;
  /* The script's own first error line, if it has one (diagnostic tests). */
  run_failing_at(name, text, len, -1, &sw);
  sw.runs = 0;
  if (getenv("MOE_FAULT_ONLY")) {
    const char *only = getenv("MOE_FAULT_FILE");
    if (!only || strcmp(only, name) == 0)
      run_failing_at(name, text, len, atol(getenv("MOE_FAULT_ONLY")), &sw);
    free(text);
    return;
  }
  long tail = (sw.total - FAULT_HEAD) / FAULT_TAIL_RUNS;
  if (tail > stride)
    stride = tail;
  for (;; n += n < FAULT_HEAD ? 1 : stride)
    if (run_failing_at(name, text, len, n, &sw))
      break;
  ok(sw.leaked == 0, "%s: %ld runs (allocations failed at 0..%ld), none leaked (%d did)", name,
     sw.runs, n, sw.leaked);
  ok(sw.unusable == 0, "%s: the state ran the next script after every failure (%d did not)",
     name, sw.unusable);
  ok(!sw.bad_message, "%s: every failure said \"out of memory\" (%ld did; %ld in the set-up) %s",
     name, sw.oom, sw.init_failed, sw.first_bad);
  free(text);
}

/* Every .moe file under dir (recursively), sorted, at most max. */
static int collect(const char *dir, char **out, int n, int max)
{
  DIR *d = opendir(dir);
  if (!d)
    return n;
  struct dirent *e;
  while ((e = readdir(d)) && n < max) {
    if (e->d_name[0] == '.')
      continue;
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    size_t l = strlen(e->d_name);
    if (l > 4 && strcmp(e->d_name + l - 4, ".moe") == 0)
      out[n++] = strdup(path);
    else if (e->d_type == DT_DIR && strcmp(e->d_name, "lib") != 0)
      n = collect(path, out, n, max);
  }
  closedir(d);
  return n;
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int by_name(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
  const char *src = getenv("MOE_SRCDIR");
  const char *s = getenv("MOE_FAULT_STRIDE");
  long stride = s ? atol(s) : 1;
  char dir[4096];
  char *files[512];
  int k = 0;
  snprintf(dir, sizeof dir, "%s/examples", src ? src : ".");
  k = collect(dir, files, k, 512);
  snprintf(dir, sizeof dir, "%s/tests/scripts", src ? src : ".");
  k = collect(dir, files, k, 512);
  if (k == 0) {
    printf("Bail out! no scripts under %s\n", src ? src : ".");
    return 1;
  }
  qsort(files, (size_t)k, sizeof *files, by_name);
  for (int i = 0; i < k; i++) {
    const char *name = strstr(files[i], "examples/") ? strstr(files[i], "examples/")
                                                       : strstr(files[i], "tests/scripts/");
    double t0 = now();
    sweep_file(files[i], name ? name : files[i], stride < 1 ? 1 : stride);
    printf("# %.2f s\n", now() - t0);
    free(files[i]);
  }
  return tap_done();
}
