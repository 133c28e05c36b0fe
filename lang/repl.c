/*
 * repl.c — the interactive loop of `moe` on a terminal.
 *
 * Read a line with libedit, add it to the pending statement, and ask the
 * real front end (interp_run's `incomplete`: a syntax error on the
 * end-of-input token) whether the statement is finished.  If not, prompt
 * `..>` and read more; if so, run it in the session's state, which stays as
 * it was after an error.  Lines starting with `:` at the `moe>` prompt are
 * commands (:help, :load, :reset, :type, :set, :quit).
 *
 * Why libedit's own API (<histedit.h>) rather than its readline layer: the
 * readline layer keeps its state in globals and, to catch Ctrl-C, installs
 * a handler that re-raises the signal to the whole process group.  The
 * native API lets us give el_gets our own character reader, so Ctrl-C at
 * the prompt just makes el_gets return (the line is dropped, the session
 * goes on) and the same SIGINT handler interrupts a running statement at
 * its next block boundary; it lets us bind Tab to our own completer, which
 * reads the session's names through EL_CLIENTDATA; and the history is an
 * object we own, saved after every line so that a killed terminal loses
 * nothing.
 */
#include "repl.h"

#include <dirent.h>
#include <errno.h>
#include <histedit.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include "../runtime/law.h"
#include "../runtime/model.h"
#include "../runtime/result.h"
#include "../runtime/router.h"
#include "builtins.h"
#include "check.h"
#include "config.h"
#include "eval.h"
#include "parse.h"

#define HISTORY_SIZE 1000

typedef struct Repl {
  Interp *I;
  FILE *tty;             /* the prompt, echo and the REPL's own text: stdout,
                            or stderr when stdout is redirected */
  EditLine *el;
  History *hist;
  char *hist_path;       /* NULL: no history file ($HOME unset) */
  StrBuf pending;        /* the statement read so far */
  int quit;
  WriteFn out;           /* the session's writer, which counted_out wraps */
  void *out_ud;
  int printed;           /* the running statement has written something */
} Repl;

/* ------------------------------------------------------------ signals */

/* Ctrl-C while reading a line makes the reader return; while a statement
 * runs, it sets I->interrupt, which long computations check at block
 * boundaries.  One handler does both: the flag is cleared before each
 * read, the interrupt before each statement. */
static volatile sig_atomic_t got_sigint, got_sigwinch, got_sigcont, running;
static Interp *volatile sig_interp;
static int sig_tty_fd = STDOUT_FILENO;   /* where the terminal shows ^C */

static void on_sigint(int sig)
{
  (void)sig;
  got_sigint = 1;
  if (sig_interp)
    sig_interp->interrupt = 1;
  /* The terminal has echoed ^C; what the statement prints next (its
   * partial result) starts on a line of its own. */
  if (running && write(sig_tty_fd, "\n", 1) < 0)
    return;
}

static void on_other(int sig)
{
  got_sigwinch |= sig == SIGWINCH;
  got_sigcont |= sig == SIGCONT;
}

/* After Ctrl-Z and `fg`, the shell has put the terminal back in its own
 * mode: the editor's mode again, and the prompt and line redrawn. */
static void resume(EditLine *el)
{
  el_set(el, EL_PREP_TERM, 0);
  el_set(el, EL_PREP_TERM, 1);
  el_set(el, EL_REFRESH);
}

/* Waits until stdin is readable; -1 when Ctrl-C came first.  SIGINT is
 * blocked between the test of the flag and the wait, and ppoll unblocks it
 * atomically, so a Ctrl-C pressed just before the wait is not lost. */
static int wait_input(EditLine *el)
{
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGWINCH);
  sigaddset(&block, SIGCONT);
  for (;;) {
    sigprocmask(SIG_BLOCK, &block, &old);
    if (got_sigwinch || got_sigcont) {
      int cont = got_sigcont;
      got_sigwinch = got_sigcont = 0;
      sigprocmask(SIG_SETMASK, &old, NULL);
      if (cont)
        resume(el);
      else
        el_resize(el);
      continue;
    }
    if (got_sigint) {
      sigprocmask(SIG_SETMASK, &old, NULL);
      return -1;
    }
    struct pollfd pfd = {0, POLLIN, 0};
    int n = ppoll(&pfd, 1, NULL, &old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (n > 0)
      return 0;
    if (n < 0 && errno != EINTR)
      return 0;      /* let read() report the problem */
  }
}

/* libedit's character reader (EL_GETCFN): one character, decoded from the
 * locale's multibyte encoding.  1 on success, 0 at end of input, -1 after
 * Ctrl-C (el_gets then returns NULL with count -1). */
static int read_char(EditLine *el, wchar_t *wc)
{
  char buf[MB_LEN_MAX];
  size_t n = 0;
  for (;;) {
    if (wait_input(el) < 0)
      return -1;
    ssize_t r = read(0, buf + n, 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return 0;
    n++;
    mbstate_t mbs;
    memset(&mbs, 0, sizeof mbs);
    size_t k = mbrtowc(wc, buf, n, &mbs);
    if (k == (size_t)-2 && n < sizeof buf)
      continue;              /* the rest of a multibyte character */
    if (k == (size_t)-1 || k == (size_t)-2) {
      n = 0;                 /* not a character: drop the bytes */
      continue;
    }
    return 1;
  }
}

/* ------------------------------------------------------------ output */

/* The state's writer while the REPL runs: notes that a statement printed
 * something (an interrupted one that printed nothing says so). */
static void counted_out(void *ud, const char *s, size_t n)
{
  Repl *R = ud;
  R->printed = 1;
  if (R->out)
    R->out(R->out_ud, s, n);
}

/* The REPL's own text (help, :set, :type) goes to the terminal, never to
 * the --output file, which holds what the statements print.  The printing
 * helpers return 0 and fail() returns 1, so that a command can end with
 * `return out(...)` or `return fail(...)`. */
static int out(Repl *R, const char *s)
{
  fputs(s, R->tty);
  fflush(R->tty);
  return 0;
}

static int outf(Repl *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int outf(Repl *R, const char *fmt, ...)
{
  StrBuf b;
  sb_init(&b, &R->I->rt);
  va_list ap;
  va_start(ap, fmt);
  sb_vprintf(&b, fmt, ap);
  va_end(ap);
  if (!b.failed)
    out(R, sb_str(&b));
  sb_free(&b);
  return 0;
}

static void to_err(Repl *R, const char *prefix, const char *fmt, va_list ap)
{
  StrBuf b;
  sb_init(&b, &R->I->rt);
  sb_puts(&b, prefix);
  sb_vprintf(&b, fmt, ap);
  sb_putc(&b, '\n');
  if (!b.failed && R->I->err)
    R->I->err(R->I->err_ud, sb_str(&b), b.len);
  sb_free(&b);
}

/* A command's error: "error: ..." on the error writer (not a diagnostic:
 * there is no source position to show). */
static int fail(Repl *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(Repl *R, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  to_err(R, "error: ", fmt, ap);
  va_end(ap);
  return 1;
}

/* A line about the session on the error writer. */
static int note(Repl *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int note(Repl *R, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  to_err(R, "", fmt, ap);
  va_end(ap);
  return 0;
}

/* ------------------------------------------------------------ help */

typedef struct Topic {
  const char *name, *text;
} Topic;

static const Topic statements[] = {
    {"let", "let NAME = EXPR            bind a value: let d = 2\n"},
    {"fn", "fn NAME(PARAMS) = EXPR     a pure function: fn bump(x) = exp(-dot(x, x))\n"},
    {"law", "law NAME = normal(mean, cov, dim) | uniform(lo, hi)\n"
            "         | mixture(weights, of) | empirical(\"file.csv\")\n"},
    {"router", "router NAME = linear(W, b)     logits W x + b, W is K x d\n"
               "router NAME(x) = EXPR          the logit vector, per sample\n"},
    {"expert", "expert NAME = affine(beta, c)  beta.x + c\n"
               "expert NAME(x) = EXPR          one number per sample\n"},
    {"target", "target NAME = teacher(router, experts) noise S\n"
               "target NAME(x) = EXPR noise S\n"},
    {"model", "model NAME = moe(router, experts, gate)   gate: softmax (default) or topk(k)\n"},
    {"schedule", "schedule NAME = [1, 0.5, 0.1] | geometric(from, to, steps) | linear(...)\n"
                 "              | cosine(...) | exponential(from, rate, steps) | inverse(...)\n"
                 "schedule NAME(t) = EXPR with steps = N\n"},
    {"set", "set seed | samples | threads | confidence | method = VALUE\n"
            "  the defaults of every estimating query; :set shows them\n"},
    {"report", "report QUERY               print a query's result as a table\n"
               "  (a bare query at this prompt prints too; :help queries)\n"},
    {"print", "print EXPR, ...            print values separated by spaces\n"},
    {"for", "for NAME in SEQ { ... }    loop over a vector, schedule, list or matrix rows\n"},
    {"train", "train MODEL on TARGET under LAW with schedule = S, steps = N, lr = 0.01,\n"
              "  batch = 8192, optimizer = \"adam\", log_every = N, init = \"normal\"\n"
              "  fits the model's linear router and affine experts; rebinds MODEL\n"},
    {"import", "import \"file.moe\"          run a file once (beside this one, MOE_PATH, stdlib)\n"},
    {"extern", "extern fn NAME(x: vec) -> num from \"lib.so\"   a C function (not with --no-ffi)\n"},
    {"if", "if COND then A else B      an expression, per sample inside bodies\n"},
};

/* The other keywords, and where they are explained. */
static const Topic keyword_topics[] = {
    {"on", "train"}, {"under", "train"}, {"with", "train"}, {"in", "for"},
    {"then", "if"}, {"else", "if"}, {"noise", "target"}, {"from", "extern"},
    {"and", "operators"}, {"or", "operators"}, {"not", "operators"},
    {"true", "operators"}, {"false", "operators"},
};

static const char operators_text[] =
    "+ - * /      element-wise, a number broadcasts: [1, 2] * 3\n"
    "^            power (right-associative)\n"
    "@            matrix-vector and matrix-matrix product: W @ x\n"
    "== != < <= > >=   comparisons; and, or, not on true and false\n"
    "x[i]         index from 0; res.mass a field or column of a value\n";

#define NTOPICS(a) ((int)(sizeof(a) / sizeof(a)[0]))

typedef struct Command {
  const char *name, *args, *summary;
  int (*run)(Repl *R, const char *arg);
} Command;

static int cmd_help(Repl *R, const char *arg);
static int cmd_load(Repl *R, const char *arg);
static int cmd_reset(Repl *R, const char *arg);
static int cmd_type(Repl *R, const char *arg);
static int cmd_set(Repl *R, const char *arg);
static int cmd_quit(Repl *R, const char *arg);

static const Command commands[] = {
    {"help", "[TOPIC]", "this help; topics: commands keys statements operators queries\n"
                        "                   builtins, or a keyword, builtin or name (:help margin)", cmd_help},
    {"load", "FILE", "run a file into this session", cmd_load},
    {"reset", "", "a fresh session (command-line options stay)", cmd_reset},
    {"type", "EXPR", "the kind of a value: vector of 3, router, ...", cmd_type},
    {"set", "", "show the settings and options", cmd_set},
    {"quit", "", "leave (Ctrl-D at the prompt too)", cmd_quit},
};

static int help_commands(Repl *R)
{
  for (int i = 0; i < NTOPICS(commands); i++)
    outf(R, "  :%-6s %-8s %s\n", commands[i].name, commands[i].args, commands[i].summary);
  out(R, "A command may be shortened (:h, :q).\n");
  return 0;
}

static int help_keys(Repl *R)
{
  out(R, "  Enter        run the statement, or continue it on ..> if it is not finished\n"
         "  Tab          complete a keyword, builtin or name; a file name after :load\n"
         "               or in a string\n"
         "  Up, Down     previous and next line of the history (~/.moe_history)\n"
         "  Ctrl-R       search the history backwards\n"
         "  Ctrl-A, E    start and end of the line; Ctrl-K cuts to its end, Ctrl-U all\n"
         "  Ctrl-C       drop the line (or the unfinished statement); stop a long query\n"
         "  Ctrl-D       leave (at an empty prompt)\n"
         "Editing follows ~/.editrc (man editrc), like other libedit programs.\n");
  return 0;
}

static int help_statements(Repl *R)
{
  for (int i = 0; i < NTOPICS(statements); i++)
    out(R, statements[i].text);
  return 0;
}

/* Every builtin named `name`, into out[]; their number.  Same-named
 * builtins (linear the router, linear the schedule) differ in their
 * result, which is how builtin_choose tells them apart. */
static int overloads(const char *name, const Builtin **out, int max)
{
  int n;
  const Builtin *first = builtin_lookup(name, &n);
  if (!first || max < 1)
    return 0;
  int k = 0;
  out[k++] = first;
  for (int kind = 0; kind < V_NKINDS && k < n && k < max; kind++) {
    const Builtin *b = builtin_choose(name, (VKind)kind, NULL);
    int seen = 0;
    for (int j = 0; j < k; j++)
      seen |= out[j] == b;
    if (!seen)
      out[k++] = b;
  }
  return k;
}

/* "boundary_mass(router, law, w, order, k)": the estimating parameters
 * (samples, seed, method) are said once, not on every line. */
static void signature(StrBuf *b, const Builtin *f)
{
  sb_puts(b, f->name);
  if (f->bare && f->nparams == 0)
    return;
  sb_putc(b, '(');
  int shown = 0;
  for (int i = 0; i < f->nparams; i++) {
    const char *p = f->params[i].name;
    if (f->estimates && (!strcmp(p, "samples") || !strcmp(p, "seed") || !strcmp(p, "method")))
      continue;
    sb_printf(b, "%s%s", shown++ ? ", " : "", p);
  }
  sb_putc(b, ')');
}

/* One line of a listing, the summaries starting at column `width` + 4. */
static void builtin_line(StrBuf *b, const Builtin *f, size_t width)
{
  size_t at = b->len;
  sb_puts(b, "  ");
  signature(b, f);
  size_t w = b->len - at;
  sb_printf(b, "%*s%s\n", (int)(width + 4 - w), "", f->summary ? f->summary : "");
}

/* Lists the builtins whose result is (queries) or is not (others) a result. */
static int help_builtins(Repl *R, int queries)
{
  const char *const *names = builtin_names();
  StrBuf b;
  sb_init(&b, &R->I->rt);
  size_t width = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; names[i]; i++) {
      const Builtin *v[4];
      int n = overloads(names[i], v, 4);
      for (int k = 0; k < n; k++) {
        if ((v[k]->result == V_RESULT) != queries)
          continue;
        if (pass == 1) {
          builtin_line(&b, v[k], width);
          continue;
        }
        size_t at = b.len;
        signature(&b, v[k]);
        if (b.len - at > width)
          width = b.len - at;
        b.len = at;          /* measured only */
        if (b.s)
          b.s[at] = '\0';
      }
    }
  if (queries)
    sb_puts(&b, "Estimating queries also take samples =, seed =, method = (\"auto\", \"exact\",\n"
                "\"quadrature\", \"mc\").  Ctrl-C stops one and shows the partial result.\n");
  if (!b.failed)
    out(R, sb_str(&b));
  sb_free(&b);
  return 0;
}

static int help_overview(Repl *R)
{
  out(R, "Type a statement; a bare expression or query prints its value (1 + 2,\n"
         "margin(r, at = [0, 1])).  An unfinished statement continues on ..>.\n"
         "Commands:\n");
  help_commands(R);
  out(R, "More: :help keys, :help statements, :help operators, :help queries,\n"
         ":help builtins, :help NAME (a keyword, builtin or one of your names).\n"
         "The language reference is docs/language.md; the REPL's is docs/repl.md.\n");
  return 0;
}

/* Help on one builtin (every builtin of that name). */
static int help_builtin(Repl *R, const char *name)
{
  const Builtin *v[4];
  int n = overloads(name, v, 4);
  if (n == 0)
    return 0;
  StrBuf b;
  sb_init(&b, &R->I->rt);
  for (int k = 0; k < n; k++) {
    signature(&b, v[k]);
    if (v[k]->result != V_NIL)
      sb_printf(&b, " -> %s", kind_name(v[k]->result));
    sb_printf(&b, ": %s\n", v[k]->summary ? v[k]->summary : "");
    if (v[k]->estimates)
      sb_puts(&b, "  also samples =, seed =, method = (\"auto\", \"exact\", \"quadrature\", \"mc\")\n");
  }
  if (!b.failed)
    out(R, sb_str(&b));
  sb_free(&b);
  return 1;
}

static void describe_value(StrBuf *b, Value v);

/* Help on a name of the session: its kind and where it was defined. */
static int help_global(Repl *R, const char *name)
{
  Binding *g = scope_find(&R->I->globals, name);
  if (!g)
    return 0;
  StrBuf b;
  sb_init(&b, &R->I->rt);
  sb_printf(&b, "%s: ", name);
  describe_value(&b, g->v);
  if (g->pos.src)
    sb_printf(&b, ", defined at %s:%u:%u", g->pos.src->name, g->pos.line, g->pos.col);
  else
    sb_puts(&b, ", from the prelude");
  sb_putc(&b, '\n');
  if (!b.failed)
    out(R, sb_str(&b));
  sb_free(&b);
  return 1;
}

static int cmd_help(Repl *R, const char *arg)
{
  if (!*arg)
    return help_overview(R);
  if (arg[0] == ':')
    arg++;
  if (strcmp(arg, "commands") == 0)
    return help_commands(R);
  for (int i = 0; i < NTOPICS(commands); i++)
    if (strcmp(arg, commands[i].name) == 0)
      return outf(R, ":%s %s  %s\n", commands[i].name, commands[i].args, commands[i].summary);
  if (strcmp(arg, "keys") == 0)
    return help_keys(R);
  if (strcmp(arg, "statements") == 0 || strcmp(arg, "keywords") == 0)
    return help_statements(R);
  if (strcmp(arg, "queries") == 0)
    return help_builtins(R, 1);
  if (strcmp(arg, "builtins") == 0)
    return help_builtins(R, 0);
  for (int i = 0; i < NTOPICS(keyword_topics); i++)
    if (strcmp(arg, keyword_topics[i].name) == 0)
      arg = keyword_topics[i].text;
  if (strcmp(arg, "operators") == 0)
    return out(R, operators_text);
  int found = 0;
  for (int i = 0; i < NTOPICS(statements); i++)
    if (strcmp(arg, statements[i].name) == 0) {
      out(R, statements[i].text);
      found = 1;
    }
  found = help_global(R, arg) || found;   /* a user's name shadows a builtin */
  if (found || help_builtin(R, arg))
    return 0;
  return fail(R, "no help on '%s'; try :help, :help statements, :help queries", arg);
}

/* ------------------------------------------------------------ :type */

/* "vector of 3", "router (linear, K 2, dim 2)", "result of margin (...)" */
static void describe_value(StrBuf *b, Value v)
{
  switch (v.kind) {
  case V_VEC: sb_printf(b, "vector of %zu", as_vec(v)->n); return;
  case V_MAT: sb_printf(b, "matrix %zu×%zu", as_mat(v)->rows, as_mat(v)->cols); return;
  case V_LIST: sb_printf(b, "list of %zu", as_list(v)->n); return;
  case V_STR:
    sb_printf(b, "string of %zu byte%s", as_str(v)->len, as_str(v)->len == 1 ? "" : "s");
    return;
  case V_FUNC: {
    const Stmt *def = as_func(v)->def;
    sb_printf(b, "function %s(", def && def->name ? def->name : "");
    for (int i = 0; def && i < def->params.n; i++)
      sb_printf(b, "%s%s", i ? ", " : "", def->params.v[i].name);
    sb_putc(b, ')');
    return;
  }
  case V_LAW: {
    const Law *l = v.u.p;
    sb_printf(b, "law (%s, dim %d)", law_kind_name(l), l->dim);
    return;
  }
  case V_ROUTER: {
    const Router *r = v.u.p;
    sb_printf(b, "router (%s, K %d, dim %d)", router_kind_name(r), r->K, r->dim);
    return;
  }
  case V_MODEL: sb_printf(b, "model (K %d)", ((const Model *)v.u.p)->nexp); return;
  case V_SCHED: sb_printf(b, "schedule of %zu temperatures", ((const Schedule *)v.u.p)->n); return;
  case V_RESULT: {
    const Result *r = v.u.p;
    sb_printf(b, "result of %s", r->query);
    for (int i = 0; i < r->nfields; i++)
      sb_printf(b, "%s%s", i ? ", " : ": ", r->fields[i].name);
    for (int i = 0; i < r->ncols; i++)
      sb_printf(b, "%s%s", i || r->nfields ? ", " : ": ", r->cols[i].name);
    if (r->partial)
      sb_puts(b, " (partial)");
    return;
  }
  case V_EXPERT:
    sb_printf(b, "expert (%s)",
              ((const Expert *)v.u.p)->kind == EXPERT_AFFINE ? "affine" : "expression");
    return;
  case V_TARGET: {
    const Target *t = v.u.p;
    sb_printf(b, "target (%s, noise ", t->kind == TARGET_TEACHER ? "teacher" : "expression");
    sb_num(b, t->noise);
    sb_putc(b, ')');
    return;
  }
  case V_GATE:
    sb_puts(b, "gate (");
    val_format(b, v);
    sb_putc(b, ')');
    return;
  default:
    sb_puts(b, kind_name(v.kind));
  }
}

/* Reports the diagnostics collected; returns 1 (for `return flush(I)`). */
static int flush(Interp *I)
{
  interp_flush_diags(I);
  return 1;
}

/* An estimating query is not run by :type (it could take minutes): the
 * checker already knows it gives a result. */
static const Builtin *estimating_call(Interp *I, const Expr *e)
{
  if (e->kind != E_CALL || e->u.call.fn->kind != E_NAME)
    return NULL;
  const char *name = e->u.call.fn->u.name;
  if (scope_find(&I->globals, name))
    return NULL;
  int n;
  const Builtin *b = builtin_lookup(name, &n);
  return b && n == 1 && b->estimates ? b : NULL;
}

/* The kind of EXPR: parsed and checked like a statement, then evaluated
 * (positions in messages count from the expression's start). */
static int cmd_type(Repl *R, const char *arg)
{
  Interp *I = R->I;
  if (!*arg)
    return fail(R, ":type needs an expression, as in :type [1, 2]");
  Source *src = source_new(&I->rt, "<repl>", arg, strlen(arg));
  if (!src)
    return fail(R, "out of memory");
  interp_keep_source(I, src);
  Program *p = parse_program(&I->rt, src, &I->diags, NULL);
  if (!p || interp_keep_program(I, p)) {
    program_free(&I->rt, p);
    return fail(R, "out of memory");
  }
  if (I->diags.n == 0 && (p->stmts.n != 1 || p->stmts.v[0]->kind != S_EXPR)) {
    diag_clear(&I->diags);
    return fail(R, ":type takes one expression, not a statement");
  }
  if (I->diags.n == 0)
    check_program(I, p);
  if (I->diags.n || I->diags.dropped)
    return flush(I);
  const Expr *e = p->stmts.v[0]->value;
  const Builtin *q = estimating_call(I, e);
  if (q)
    return outf(R, "result of %s (not computed: :type does not run estimating queries)\n",
                q->name);
  Value v;
  I->steps = 0;
  I->interrupt = 0;
  running = 1;
  int err = eval_expr(I, e, V_NIL, &v);
  running = 0;
  if (err)
    return flush(I);
  StrBuf b;
  sb_init(&b, &I->rt);
  describe_value(&b, v);
  sb_putc(&b, '\n');
  if (!b.failed)
    out(R, sb_str(&b));
  sb_free(&b);
  val_drop(&I->rt, v);
  return 0;
}

/* ------------------------------------------------------------ other commands */

/* ~/x → $HOME/x; a path may be quoted. */
static char *expand_path(Repl *R, const char *arg)
{
  StrBuf b;
  sb_init(&b, &R->I->rt);
  size_t n = strlen(arg);
  if (n >= 2 && (arg[0] == '"' || arg[0] == '\'') && arg[n - 1] == arg[0]) {
    arg++;
    n -= 2;
  }
  const char *home = getenv("HOME");
  if (n >= 2 && arg[0] == '~' && arg[1] == '/' && home && *home) {
    sb_puts(&b, home);
    arg++;
    n--;
  }
  sb_putn(&b, arg, n);
  return sb_take(&b);
}

static int cmd_load(Repl *R, const char *arg)
{
  Interp *I = R->I;
  if (!*arg)
    return fail(R, ":load needs a file name, as in :load examples/quickstart.moe");
  char *path = expand_path(R, arg);
  if (!path)
    return fail(R, "out of memory");
  Source *src;
  RtStatus st = source_read(&I->rt, path, &src);
  rt_free(&I->rt, path);
  if (st) {
    fail(R, "%s", I->rt.msg);
    rt_clear(&I->rt);
    return 1;
  }
  I->interrupt = 0;
  running = 1;
  int err = interp_run(I, src, 0, 0, NULL);
  running = 0;
  return err;
}

static int cmd_reset(Repl *R, const char *arg)
{
  if (*arg)
    return fail(R, ":reset takes nothing after it");
  sb_free(&R->pending);
  if (interp_reset(R->I)) {
    R->quit = 1;
    return fail(R, "out of memory while starting a fresh session");
  }
  sb_init(&R->pending, &R->I->rt);
  return out(R, "a fresh session: every name and setting is back to its start\n");
}

static const char *fixed(const Interp *I, unsigned lock, const char *opt)
{
  return (I->locked & lock) ? opt : "";
}

static int cmd_set(Repl *R, const char *arg)
{
  const Interp *I = R->I;
  if (*arg)
    return fail(R, ":set only shows the settings; change one with a statement: set %s", arg);
  static const char *const formats[] = {"text", "json", "csv"};
  outf(R, "seed        %llu%s\n", (unsigned long long)I->set.seed,
       fixed(I, LOCK_SEED, "   (--seed)"));
  outf(R, "samples     %llu%s\n", (unsigned long long)I->set.samples,
       fixed(I, LOCK_SAMPLES, "   (--samples)"));
  outf(R, "threads     %d%s\n", I->set.threads, fixed(I, LOCK_THREADS, "   (--threads)"));
  outf(R, "confidence  %g\n", I->set.confidence);
  outf(R, "method      %s%s\n", method_name(I->set.method), fixed(I, LOCK_METHOD, "   (fixed)"));
  outf(R, "format      %s\n", formats[I->format]);
  outf(R, "quiet       %s\n", I->quiet ? "yes (--quiet)" : "no");
  outf(R, "ffi         %s\n", I->no_ffi ? "refused (--no-ffi)" : "allowed");
  if (I->limits.max_samples)
    outf(R, "max samples %llu\n", (unsigned long long)I->limits.max_samples);
  out(R, "Change one with a statement: set samples = 100_000 (:help set).\n");
  return 0;
}

static int cmd_quit(Repl *R, const char *arg)
{
  (void)arg;
  R->quit = 1;
  return 0;
}

/* Runs ":name arg"; a name may be any unambiguous prefix. */
static void run_command(Repl *R, const char *line)
{
  const char *p = line + 1;
  size_t n = 0;
  while (p[n] && p[n] != ' ' && p[n] != '\t')
    n++;
  const Command *c = NULL;
  int matches = 0;
  for (int i = 0; i < NTOPICS(commands); i++) {
    if (n == 0 || strncmp(p, commands[i].name, n) != 0)
      continue;
    if (strlen(commands[i].name) == n) {
      c = &commands[i];
      matches = 1;
      break;
    }
    c = &commands[i];
    matches++;
  }
  if (matches != 1) {
    fail(R, "%s command ':%.*s'\nhint: the commands are :help :load :reset :type :set :quit",
         matches ? "ambiguous" : "unknown", (int)n, p);
    return;
  }
  const char *arg = p + n;
  while (*arg == ' ' || *arg == '\t')
    arg++;
  c->run(R, arg);
}

/* ------------------------------------------------------------ completion */

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Completion candidates.  Names point into the tables and the state;
 * file names are copies (`owned`), freed with the list. */
typedef struct Cands {
  const char **v;
  int n, cap;
  int owned;
} Cands;

static void add_cand(Interp *I, Cands *c, const char *name, const char *prefix, size_t len)
{
  if (strncmp(name, prefix, len) != 0)
    return;
  if (c->n == c->cap) {
    int cap = c->cap ? 2 * c->cap : 32;
    const char **v = rt_realloc(&I->rt, c->v, (size_t)cap * sizeof *v);
    if (!v)
      return;
    c->v = v;
    c->cap = cap;
  }
  c->v[c->n++] = name;
}

static void free_cands(Interp *I, Cands *c)
{
  for (int i = 0; c->owned && i < c->n; i++)
    rt_free(&I->rt, (char *)c->v[i]);
  rt_free(&I->rt, c->v);
}

/* Sorted, without duplicates. */
static void sort_cands(Interp *I, Cands *c)
{
  if (c->n > 1)
    qsort(c->v, (size_t)c->n, sizeof *c->v, cmp_str);
  int k = 0;
  for (int i = 0; i < c->n; i++) {
    if (k == 0 || strcmp(c->v[k - 1], c->v[i]) != 0)
      c->v[k++] = c->v[i];
    else if (c->owned)
      rt_free(&I->rt, (char *)c->v[i]);
  }
  c->n = k;
}

/* Every keyword, builtin and global name (or command, after a leading
 * ':') that starts with the prefix. */
static void collect_names(Interp *I, Cands *c, const char *prefix, size_t len, int command)
{
  if (command) {
    for (int i = 0; i < NTOPICS(commands); i++)
      add_cand(I, c, commands[i].name, prefix, len);
    return;
  }
  for (const char *const *k = check_keywords(); *k; k++)
    add_cand(I, c, *k, prefix, len);
  for (const char *const *b = builtin_names(); *b; b++)
    add_cand(I, c, *b, prefix, len);
  for (int i = 0; i < I->globals.n; i++)
    add_cand(I, c, I->globals.v[i].name, prefix, len);
}

/* The entries of the directory part of `word` whose names start with its
 * last part, as "dir/name" (a directory with a '/' after it).  Hidden
 * files only when the last part starts with a dot. */
static void collect_files(Repl *R, Cands *c, const char *word, size_t len)
{
  Interp *I = R->I;
  const char *slash = NULL;
  for (size_t i = 0; i < len; i++)
    if (word[i] == '/')
      slash = word + i;
  size_t dlen = slash ? (size_t)(slash - word) + 1 : 0;
  StrBuf dir;
  sb_init(&dir, &I->rt);
  sb_putn(&dir, word, dlen);
  char *path = expand_path(R, dlen ? sb_str(&dir) : ".");
  DIR *d = path ? opendir(path) : NULL;
  const char *base = word + dlen;
  size_t blen = len - dlen;
  c->owned = 1;
  for (struct dirent *e; d && (e = readdir(d));) {
    if (strncmp(e->d_name, base, blen) != 0 || !strcmp(e->d_name, ".") ||
        !strcmp(e->d_name, "..") || (e->d_name[0] == '.' && (blen == 0 || base[0] != '.')))
      continue;
    StrBuf full, name;
    sb_init(&full, &I->rt);
    sb_printf(&full, "%s/%s", path, e->d_name);
    struct stat st;
    int isdir = !full.failed && stat(sb_str(&full), &st) == 0 && S_ISDIR(st.st_mode);
    sb_free(&full);
    sb_init(&name, &I->rt);
    sb_printf(&name, "%s%s%s", sb_str(&dir), e->d_name, isdir ? "/" : "");
    char *copy = sb_take(&name);
    int before = c->n;
    if (copy)
      add_cand(I, c, copy, word, len);
    if (copy && c->n == before)
      rt_free(&I->rt, copy);
  }
  if (d)
    closedir(d);
  rt_free(&I->rt, path);
  sb_free(&dir);
}

static int is_name_char(char ch)
{
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '_';
}

/* Lists the candidates in columns under the line being edited (file names
 * without their directory). */
static void list_cands(Repl *R, const Cands *c, size_t skip)
{
  size_t width = 0;
  for (int i = 0; i < c->n; i++)
    if (strlen(c->v[i] + skip) > width)
      width = strlen(c->v[i] + skip);
  int cols = (int)(78 / (width + 2));
  if (cols < 1)
    cols = 1;
  StrBuf b;
  sb_init(&b, &R->I->rt);
  sb_putc(&b, '\n');
  for (int i = 0; i < c->n; i++)
    sb_printf(&b, "%-*s%s", (int)width + 2, c->v[i] + skip,
              (i + 1) % cols && i + 1 < c->n ? "" : "\n");
  if (!b.failed)
    out(R, sb_str(&b));
  sb_free(&b);
}

/* Inserts what the candidates share beyond the `len` bytes typed (and
 * `suffix` after a single one); lists them when that adds nothing. */
static unsigned char apply_cands(Repl *R, EditLine *el, const Cands *c, size_t len,
                                 const char *suffix, size_t list_skip)
{
  if (c->n == 0)
    return CC_ERROR;
  size_t common = strlen(c->v[0]);
  for (int i = 1; i < c->n; i++) {
    size_t k = 0;
    while (k < common && c->v[i][k] == c->v[0][k])
      k++;
    common = k;
  }
  if (common == len && c->n > 1) {
    list_cands(R, c, list_skip);
    return CC_REDISPLAY;
  }
  StrBuf add;
  sb_init(&add, &R->I->rt);
  sb_putn(&add, c->v[0] + len, common - len);
  if (c->n == 1)
    sb_puts(&add, suffix);
  int ok = !add.failed && add.len > 0 && el_insertstr(el, sb_str(&add)) == 0;
  sb_free(&add);
  return ok ? CC_REFRESH : CC_ERROR;
}

/* Where a file name is being typed: after ":load " (any prefix of it), or
 * inside a string on this line.  Returns the start of the name, or NULL. */
static const char *file_start(const Repl *R, const LineInfo *li)
{
  const char *p = li->buffer;
  while (p < li->cursor && (*p == ' ' || *p == '\t'))
    p++;
  if (R->pending.len == 0 && p < li->cursor && *p == ':') {
    const char *w = ++p;
    while (p < li->cursor && is_name_char(*p))
      p++;
    if (p > w && p < li->cursor && strncmp(w, "load", (size_t)(p - w)) == 0) {
      while (p < li->cursor && (*p == ' ' || *p == '\t' || *p == '"' || *p == '\''))
        p++;
      return p;
    }
  }
  const char *open = NULL;
  for (const char *q = li->buffer; q < li->cursor; q++) {
    if (*q == '\\' && open && q + 1 < li->cursor)
      q++;
    else if (*q == '"')
      open = open ? NULL : q + 1;
  }
  return open;
}

/* Tab: extend the word before the cursor to the longest common prefix of
 * its completions — names, or file names after :load and in strings —
 * and list them when that adds nothing.  Bound as an editline function
 * (EL_ADDFN). */
static unsigned char complete(EditLine *el, int ch)
{
  (void)ch;
  Repl *R;
  el_get(el, EL_CLIENTDATA, &R);
  const LineInfo *li = el_line(el);
  Cands c = {0};
  unsigned char ret;
  const char *start = file_start(R, li);
  if (start) {
    size_t len = (size_t)(li->cursor - start);
    collect_files(R, &c, start, len);
    sort_cands(R->I, &c);
    size_t skip = len;
    while (skip > 0 && start[skip - 1] != '/')
      skip--;
    ret = apply_cands(R, el, &c, len, "", skip);
    free_cands(R->I, &c);
    return ret;
  }
  start = li->cursor;
  while (start > li->buffer && is_name_char(start[-1]))
    start--;
  size_t len = (size_t)(li->cursor - start);
  int command = R->pending.len == 0 && start == li->buffer + 1 && li->buffer[0] == ':';
  if (start > li->buffer && start[-1] == '.' && !command)
    return CC_ERROR;           /* a field: its names depend on the value */
  if (len == 0 && !command) {
    for (const char *p = li->buffer; p < li->cursor; p++)
      if (*p != ' ' && *p != '\t')
        return CC_ERROR;       /* no word to complete */
    return el_insertstr(el, "  ") == 0 ? CC_REFRESH : CC_ERROR;   /* indent */
  }
  StrBuf prefix;
  sb_init(&prefix, &R->I->rt);
  sb_putn(&prefix, start, len);
  if (!prefix.failed)
    collect_names(R->I, &c, sb_str(&prefix), len, command);
  sb_free(&prefix);
  sort_cands(R->I, &c);
  ret = apply_cands(R, el, &c, len, command ? " " : "", 0);
  free_cands(R->I, &c);
  return ret;
}

/* ------------------------------------------------------------ the loop */

static const char *prompt(EditLine *el)
{
  Repl *R;
  el_get(el, EL_CLIENTDATA, &R);
  return R->pending.len ? "..> " : "moe> ";
}

/* $HOME/.moe_history, or NULL when there is no home directory. */
static char *history_path(Interp *I)
{
  const char *home = getenv("HOME");
  if (!home || !*home)
    return NULL;
  StrBuf b;
  sb_init(&b, &I->rt);
  sb_printf(&b, "%s/.moe_history", home);
  return sb_take(&b);
}

/* Adds a line (without its newline) to the history and saves the file; a
 * file that cannot be written is not an error (the session's history
 * still works). */
static void remember(Repl *R, const char *line, size_t n)
{
  if (n == 0 || n > 4096)
    return;
  char *copy = rt_alloc(&R->I->rt, n + 1);
  if (!copy)
    return;
  memcpy(copy, line, n);
  copy[n] = '\0';
  HistEvent ev;
  history(R->hist, &ev, H_ENTER, copy);
  rt_free(&R->I->rt, copy);
  if (R->hist_path)
    history(R->hist, &ev, H_SAVE, R->hist_path);
}

static int blank(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
      return 0;
  return 1;
}

/* Adds a line to the pending statement and runs it if it is complete. */
static void take_line(Repl *R, const char *line, size_t n)
{
  Interp *I = R->I;
  if (R->pending.len == 0 && blank(line, n))
    return;
  sb_putn(&R->pending, line, n);
  sb_putc(&R->pending, '\n');
  if (R->pending.failed) {
    fail(R, "out of memory");
    sb_free(&R->pending);
    sb_init(&R->pending, &I->rt);
    return;
  }
  Source *src = source_new(&I->rt, "<repl>", sb_str(&R->pending), R->pending.len);
  if (!src) {
    fail(R, "out of memory");
    rt_clear(&I->rt);
    return;
  }
  int incomplete = 0;
  I->interrupt = 0;
  running = 1;
  R->printed = 0;
  int st = interp_run(I, src, 0, 0, &incomplete);
  running = 0;
  if (st == 2)
    return;                    /* wait for the rest on ..> */
  if (I->interrupt && st == 0 && !R->printed)
    note(R, "interrupted (a result it computed may be partial: :type NAME says so)");
  sb_free(&R->pending);
  sb_init(&R->pending, &I->rt);
}

static void handle_line(Repl *R, const char *line, int count)
{
  size_t n = (size_t)count;
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    n--;
  if (!blank(line, n))
    remember(R, line, n);
  size_t lead = 0;
  while (lead < n && (line[lead] == ' ' || line[lead] == '\t'))
    lead++;
  if (R->pending.len == 0 && lead < n && line[lead] == ':') {
    StrBuf cmd;
    sb_init(&cmd, &R->I->rt);
    sb_putn(&cmd, line + lead, n - lead);
    while (cmd.len > 0 && (cmd.s[cmd.len - 1] == ' ' || cmd.s[cmd.len - 1] == '\t'))
      cmd.s[--cmd.len] = '\0';
    if (!cmd.failed)
      run_command(R, sb_str(&cmd));
    sb_free(&cmd);
    return;
  }
  take_line(R, line, n);
}

static int setup(Repl *R, Interp *I)
{
  memset(R, 0, sizeof *R);
  R->I = I;
  sb_init(&R->pending, &I->rt);
  setlocale(LC_CTYPE, "");     /* for non-ASCII text in strings and comments */
  R->tty = isatty(1) || !isatty(2) ? stdout : stderr;
  R->el = el_init("moe", stdin, R->tty, stderr);
  R->hist = history_init();
  if (!R->el || !R->hist)
    return 1;
  HistEvent ev;
  history(R->hist, &ev, H_SETSIZE, HISTORY_SIZE);
  history(R->hist, &ev, H_SETUNIQUE, 1);
  R->hist_path = history_path(I);
  if (R->hist_path)
    history(R->hist, &ev, H_LOAD, R->hist_path);
  R->out = I->out;
  R->out_ud = I->out_ud;
  I->out = counted_out;
  I->out_ud = R;
  el_set(R->el, EL_CLIENTDATA, R);
  el_set(R->el, EL_EDITOR, "emacs");
  el_set(R->el, EL_PROMPT, prompt);
  el_set(R->el, EL_HIST, history, R->hist);
  el_set(R->el, EL_GETCFN, read_char);
  /* The wide call: the narrow one copies the two strings and never frees them. */
  el_wset(R->el, EL_ADDFN, L"moe-complete", L"complete a keyword, builtin or name", complete);
  el_set(R->el, EL_BIND, "^R", "em-inc-search-prev", NULL);
  el_source(R->el, NULL);      /* ~/.editrc or $EDITRC: keys, vi mode, ... */
  el_set(R->el, EL_BIND, "^I", "moe-complete", NULL);   /* after: `bind -v` resets keys */
  return 0;
}

static void teardown(Repl *R)
{
  if (R->I->out == counted_out) {
    R->I->out = R->out;
    R->I->out_ud = R->out_ud;
  }
  if (R->el)
    el_end(R->el);
  if (R->hist)
    history_end(R->hist);
  rt_free(&R->I->rt, R->hist_path);
  sb_free(&R->pending);
}

/* The REPL's handlers, for as long as it runs (`old` gets the previous
 * ones: SIGINT, SIGWINCH, SIGCONT). */
static void catch_signals(Repl *R, struct sigaction old[3])
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sig_interp = R->I;
  sig_tty_fd = fileno(R->tty);
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, &old[0]);
  sa.sa_handler = on_other;
  sigaction(SIGWINCH, &sa, &old[1]);
  sigaction(SIGCONT, &sa, &old[2]);
}

static void release_signals(const struct sigaction old[3])
{
  sigaction(SIGINT, &old[0], NULL);
  sigaction(SIGWINCH, &old[1], NULL);
  sigaction(SIGCONT, &old[2], NULL);
  sig_interp = NULL;
}

/* Reads and runs lines until Ctrl-D (or end of input) or :quit. */
static void loop(Repl *R)
{
  while (!R->quit) {
    int count;
    got_sigint = got_sigcont = 0;
    /* Raw mode before the prompt is shown: otherwise keys typed as soon
     * as it appears are echoed by the terminal, then again by libedit. */
    el_set(R->el, EL_PREP_TERM, 1);
    const char *line = el_gets(R->el, &count);
    if (!line && got_sigint) {
      out(R, "^C\n");          /* drop the line and any unfinished statement */
      sb_free(&R->pending);
      sb_init(&R->pending, &R->I->rt);
      continue;
    }
    if (!line) {
      out(R, "\n");
      return;
    }
    handle_line(R, line, count);
  }
}

int repl_run(Interp *I)
{
  Repl R;
  if (setup(&R, I)) {
    teardown(&R);
    fprintf(stderr, "moe: cannot start the line editor\n");
    return 1;
  }
  I->repl = 1;
  struct sigaction old[3];
  catch_signals(&R, old);
  if (!I->quiet)
    outf(&R, "moe %s — :help for help, Ctrl-D to leave\n", PACKAGE_VERSION);
  loop(&R);
  release_signals(old);
  I->interrupt = 0;
  teardown(&R);
  return 0;
}
