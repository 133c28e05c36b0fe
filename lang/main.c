/*
 * main.c — the moe program: command line, files, -e, stdin, and the REPL
 * when stdin is a terminal.
 *
 * Exit status: 0 success, 1 an error in the script, 2 bad usage, 3 an input
 * file that cannot be read or the --output file that cannot be written,
 * 130 interrupted by Ctrl-C (or stopped by SIGTERM/SIGHUP, which are
 * treated the same way: the run stops at a block boundary and its output
 * is finished, not cut).
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "interp.h"
#include "outfile.h"
#include "repl.h"

static Interp *the_interp;

static void on_sigint(int sig)
{
  (void)sig;
  if (the_interp)
    the_interp->interrupt = 1;
}

static void write_file(void *ud, const char *s, size_t n)
{
  fwrite(s, 1, n, (FILE *)ud);
  fflush((FILE *)ud);
}

/* The progress bar of long statements (train): one line on stderr,
 * redrawn at most ten times a second, erased when the work is done.  Only
 * set up when stderr is a terminal; --quiet turns it off. */
typedef struct Bar {
  double t0, last;
} Bar;

static double now_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void eta_text(char *buf, size_t len, double s)
{
  if (s < 60)
    snprintf(buf, len, "%.0fs", s);
  else if (s < 3600)
    snprintf(buf, len, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
  else
    snprintf(buf, len, "%.0fh%02.0fm", floor(s / 3600), fmod(s / 60, 60));
}

static void progress_bar(void *ud, const char *what, double done, double total)
{
  Bar *b = ud;
  double t = now_seconds();
  if (done <= 0) {
    b->t0 = t;
    b->last = 0;
    return;
  }
  if (done >= total) {
    fputs("\r\033[K", stderr);
    fflush(stderr);
    return;
  }
  if (t - b->last < 0.1)
    return;
  b->last = t;
  enum { WIDTH = 30 };
  int fill = (int)(WIDTH * done / total);
  char bar[WIDTH + 1], eta[32];
  for (int i = 0; i < WIDTH; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[WIDTH] = '\0';
  eta_text(eta, sizeof eta, (t - b->t0) * (total - done) / done);
  fprintf(stderr, "\rtrain %s [%s] %3.0f%% %.0f/%.0f steps, ETA %s\033[K", what, bar,
          100 * done / total, done, total, eta);
  fflush(stderr);
}

static void usage(FILE *f)
{
  fputs("usage: moe [options] [FILE...]\n"
        "       moe -e 'statements'\n"
        "       moe                      (a REPL on a terminal; a script from stdin otherwise)\n"
        "\n"
        "options:\n"
        "  -e, --eval TEXT     run TEXT as a script\n"
        "      --check         parse and check only; report every error\n"
        "      --dump-ast      print the syntax tree instead of running\n"
        "      --dump-plan     run the definitions only, printing the block-VM code of\n"
        "                      each expert, router, target and schedule expression\n"
        "  -f, --format FMT    text (default), json (one object per report per line) or csv\n"
        "  -o, --output FILE   write reports to FILE (whole: through a temporary file and\n"
        "                      a rename, so an interrupted run never leaves it cut short)\n"
        "      --samples N     Monte Carlo samples (overrides 'set samples')\n"
        "      --seed S        random seed (overrides 'set seed')\n"
        "  -j, --threads N     worker threads (results do not depend on N)\n"
        "      --no-ffi        refuse every 'extern' (run scripts from others safely)\n"
        "  -q, --quiet         no progress output\n"
        "  -V, --version       print the version\n"
        "  -h, --help          this help\n"
        "\n"
        "exit status: 0 success, 1 error in the script, 2 bad usage, 3 unreadable input\n"
        "or unwritable output, 130 interrupted\n",
        f);
}

typedef struct Options {
  const char *eval, *output;
  int check, dump_ast;
} Options;

static int parse_number(const char *opt, const char *s, double lo, double hi, double *out)
{
  char *end;
  double x = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || x != (double)(long long)x || x < lo || x > hi) {
    fprintf(stderr, "moe: %s needs a whole number from %.0f to %.0f, not '%s'\n", opt, lo,
            hi, s);
    return 2;
  }
  *out = x;
  return 0;
}

/* Applies one option; returns -1 to go on, or an exit status. */
static int apply_option(Interp *I, Options *o, int c, const char *arg)
{
  double x;
  switch (c) {
  case 'e': o->eval = arg; return -1;
  case 'o': o->output = arg; return -1;
  case 'C': o->check = 1; return -1;
  case 'A': o->dump_ast = 1; return -1;
  case 'P': I->dump_plan = 1; return -1;
  case 'q': I->quiet = 1; return -1;
  case 'F': I->no_ffi = 1; return -1;
  case 'f':
    if (strcmp(arg, "text") == 0) I->format = FMT_TEXT;
    else if (strcmp(arg, "json") == 0) I->format = FMT_JSON;
    else if (strcmp(arg, "csv") == 0) I->format = FMT_CSV;
    else {
      fprintf(stderr, "moe: --format must be text, json or csv, not '%s'\n", arg);
      return 2;
    }
    return -1;
  case 'n':
    if (parse_number("--samples", arg, 1, 4e18, &x)) return 2;
    I->set.samples = (uint64_t)x;
    I->locked |= LOCK_SAMPLES;
    return -1;
  case 's':
    if (parse_number("--seed", arg, 0, 9007199254740991.0, &x)) return 2;
    I->set.seed = (uint64_t)x;
    I->locked |= LOCK_SEED;
    return -1;
  case 'j':
    if (parse_number("--threads", arg, 1, 256, &x)) return 2;
    I->set.threads = (int)x;
    I->locked |= LOCK_THREADS;
    return -1;
  case 'V': printf("moe %s\n", PACKAGE_VERSION); return 0;
  case 'h': usage(stdout); return 0;
  default: usage(stderr); return 2;
  }
}

static int run_file(Interp *I, const char *path, const Options *o)
{
  Source *src;
  RtStatus st = strcmp(path, "-") == 0 ? source_read(&I->rt, "/dev/stdin", &src)
                                        : source_read(&I->rt, path, &src);
  if (st) {
    fprintf(stderr, "moe: %s\n", I->rt.msg);
    rt_clear(&I->rt);
    return 3;
  }
  if (strcmp(path, "-") == 0) {
    char *name = rt_strdup(&I->rt, "<stdin>");
    if (name) {
      rt_free(&I->rt, src->name);
      src->name = name;
    }
  }
  return interp_run(I, src, o->check, o->dump_ast, NULL);
}

static int run_text(Interp *I, const char *name, const char *text, const Options *o)
{
  Source *src = source_new(&I->rt, name, text, strlen(text));
  if (!src) {
    fprintf(stderr, "moe: out of memory\n");
    return 1;
  }
  return interp_run(I, src, o->check, o->dump_ast, NULL);
}

static int run_inputs(Interp *I, int argc, char **argv, const Options *o);

static int run(Interp *I, int argc, char **argv)
{
  static const struct option longs[] = {
      {"eval", required_argument, 0, 'e'}, {"check", no_argument, 0, 'C'},
      {"dump-ast", no_argument, 0, 'A'},   {"dump-plan", no_argument, 0, 'P'},
      {"format", required_argument, 0, 'f'}, {"output", required_argument, 0, 'o'},
      {"samples", required_argument, 0, 'n'}, {"seed", required_argument, 0, 's'},
      {"threads", required_argument, 0, 'j'}, {"no-ffi", no_argument, 0, 'F'},
      {"quiet", no_argument, 0, 'q'},       {"version", no_argument, 0, 'V'},
      {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
  Options o = {0};
  int c;
  while ((c = getopt_long(argc, argv, "e:f:j:o:qVh", longs, NULL)) != -1) {
    int st = apply_option(I, &o, c, optarg);
    if (st >= 0)
      return st;
  }
  if (o.eval && optind < argc) {
    fprintf(stderr, "moe: give either -e or files, not both\n");
    return 2;
  }
  if (!o.output)
    return run_inputs(I, argc, argv, &o);
  OutFile of;
  if (outfile_open(&of, o.output))
    return 3;
  I->out_ud = of.f;
  int st = run_inputs(I, argc, argv, &o);
  I->out_ud = stdout;
  if (outfile_commit(&of, st == 0) && st == 0)
    st = 3;
  return st;
}

/* The script (or scripts, or the REPL) the command line names. */
static int run_inputs(Interp *I, int argc, char **argv, const Options *o_)
{
  Options o = *o_;
  if (o.eval || optind < argc || !isatty(0) || o.check || o.dump_ast) {
    /* Not the REPL: SIGTERM and SIGHUP stop the run like Ctrl-C, so what
     * it wrote is finished rather than cut. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
  }
  if (o.eval)
    return run_text(I, "-e", o.eval, &o);
  if (optind == argc && isatty(0) && !o.check && !o.dump_ast)
    return repl_run(I);
  if (optind == argc)
    return run_file(I, "-", &o);
  for (int i = optind; i < argc; i++) {
    int st = run_file(I, argv[i], &o);
    if (st)
      return st;
  }
  return 0;
}

/* OpenBLAS starts a pool of threads when it is loaded, before main, and
 * they spin for a while competing with our workers (the engine runs its own
 * threads and calls BLAS single-threaded).  Only the environment acts
 * before the library loads, so without an explicit setting we set it and
 * run ourselves again, once. */
static void pin_blas(char **argv)
{
  if (getenv("MOE_BLAS_PINNED"))
    return;
  int again = 0;
  if (!getenv("OPENBLAS_NUM_THREADS")) {
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    again = 1;
  }
  /* Debian's OpenBLAS 0.3.21 takes its AVX2 (Haswell) kernels on CPUs with
   * AVX-512; the SkylakeX ones make our block-sized GEMMs 15-20 % faster
   * (docs/benchmarks.md).  Same bits for every thread count either way. */
  __builtin_cpu_init();
  if (!getenv("OPENBLAS_CORETYPE") && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl")) {
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    again = 1;
  }
  if (!again)
    return;
  setenv("MOE_BLAS_PINNED", "1", 1);
  execv("/proc/self/exe", argv);   /* returns only on failure: go on as we are */
}

int main(int argc, char **argv)
{
  pin_blas(argv);
  Interp I;
  if (interp_init(&I, write_file, stdout, write_file, stderr)) {
    fprintf(stderr, "moe: out of memory\n");
    return 1;
  }
  the_interp = &I;
  Bar bar = {0, 0};
  if (isatty(2)) {
    I.progress = progress_bar;
    I.progress_ud = &bar;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, NULL);
  int st = run(&I, argc, argv);
  if (st == 1 && I.interrupt)
    st = 130;
  interp_free(&I);
  return st;
}
