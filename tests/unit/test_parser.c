/*
 * test_parser.c — unit tests for the grammar and the parse driver
 * (lang/parser.y, lang/parse.c), through the --dump-ast form (lang/ast.c).
 *
 * The expected dumps were written by hand from the dump format:
 *   statement   (KIND [decl-kind] [name] @line:col [(params)] [-> ret] ["path"]
 *                [value] [(on y) (under X)] [printed values...] [(noise e)]
 *                [(with (a= e) ...)])
 *   expression  numbers and names bare, otherwise (op a b), (call f args),
 *               (index x i...), (field x name), (list ...), (if c a b),
 *               named arguments as (name= e).
 * so a wrong precedence, a lost argument or a misplaced position changes the
 * text and fails the check.
 */
#include "parse.h"
#include "parser.h"
#include "../tap.h"

#include <stdlib.h>
#include <string.h>

typedef struct Parsed {
  Rt rt;
  Source *src;
  DiagList d;
  Program *prog;
  int incomplete;
  StrBuf dump;
} Parsed;

static void parse_s(Parsed *p, const char *text)
{
  rt_init(&p->rt);
  p->src = source_new(&p->rt, "t.moe", text, strlen(text));
  if (!p->src) {
    printf("Bail out! out of memory\n");
    exit(1);
  }
  diag_init(&p->d, &p->rt);
  p->incomplete = -1;
  p->prog = parse_program(&p->rt, p->src, &p->d, &p->incomplete);
  sb_init(&p->dump, &p->rt);
  if (p->prog)
    ast_dump(&p->dump, p->prog);
}

static void parsed_free(Parsed *p)
{
  sb_free(&p->dump);
  program_free(&p->rt, p->prog);
  diag_clear(&p->d);
  source_free_all(&p->rt, p->src);
}

static void dump_diags(const Parsed *p)
{
  for (int i = 0; i < p->d.n; i++)
    printf("#   diag %d: %u:%u \"%s\" hint \"%s\"\n", i, p->d.v[i].pos.line,
           p->d.v[i].pos.col, p->d.v[i].msg, p->d.v[i].hint ? p->d.v[i].hint : "(none)");
}

/* Parses text without errors and compares the dump with want. */
static void dump_is(const char *text, const char *want, const char *what)
{
  Parsed p;
  parse_s(&p, text);
  ok_str(sb_str(&p.dump), want, "dump of %s", what);
  if (!ok(p.d.n == 0 && p.incomplete == 0, "%s parses without errors", what))
    dump_diags(&p);
  parsed_free(&p);
}

/* An expression statement on line 1: "(expr @1:1 E)\n". */
static void expr_is(const char *text, const char *want_expr)
{
  char want[512], what[256];
  size_t n = 0;
  snprintf(want, sizeof want, "(expr @1:1 %s)\n", want_expr);
  /* A TAP description must stay on one line and hold no '#'. */
  what[n++] = '\'';
  for (const char *c = text; *c && n + 4 < sizeof what; c++) {
    if (*c == '\n') {
      what[n++] = '\\';
      what[n++] = 'n';
    } else {
      what[n++] = *c == '#' ? '%' : *c;
    }
  }
  what[n++] = '\'';
  what[n] = '\0';
  dump_is(text, want, what);
}

/* ------------------------------------------------------------ expressions */

static void test_precedence(void)
{
  expr_is("1 + 2 * 3 ^ 2", "(+ 1 (* 2 (^ 3 2)))");
  expr_is("1 * 2 + 3", "(+ (* 1 2) 3)");
  expr_is("a - b - c", "(- (- a b) c)");
  expr_is("a / b * c", "(* (/ a b) c)");
  expr_is("2 ^ 3 ^ 2", "(^ 2 (^ 3 2))");
  /* -x^2 is -(x^2); (-x)^2 keeps the brackets' grouping. */
  expr_is("-x^2", "(- (^ x 2))");
  expr_is("(-x)^2", "(^ (- x) 2)");
  expr_is("-a * b", "(* (- a) b)");
  expr_is("1 - +a", "(- 1 a)");
  expr_is("a @ b + c", "(+ (@ a b) c)");
  expr_is("a + b @ c", "(+ a (@ b c))");
  expr_is("a * b @ c", "(@ (* a b) c)");
  expr_is("not a == b", "(not (== a b))");
  expr_is("not a and b", "(and (not a) b)");
  expr_is("a or b and c", "(or a (and b c))");
  expr_is("a < b + 1", "(< a (+ b 1))");
  expr_is("a + 1 >= b and c != d", "(and (>= (+ a 1) b) (!= c d))");
  expr_is("if c then 1 else 2 + 3", "(if c 1 (+ 2 3))");
  expr_is("if a then if b then 1 else 2 else 3", "(if a (if b 1 2) 3)");
  expr_is("(1 + 2) * 3", "(* (+ 1 2) 3)");
  expr_is("1.5 + .5 + 1_000 + 1e-3", "(+ (+ (+ 1.5 0.5) 1000) 0.001)");
  expr_is("true and false", "(and true false)");
  expr_is("\"a\\tb\\\"c\"", "\"a\\tb\\\"c\"");
}

static void test_postfix(void)
{
  expr_is("f()", "(call f)");
  expr_is("f(1, x, a = 2, b = g(y))", "(call f 1 x (a= 2) (b= (call g y)))");
  expr_is("f(1, 2,)", "(call f 1 2)");
  expr_is("f(a = 1)(2)", "(call (call f (a= 1)) 2)");
  expr_is("x[0]", "(index x 0)");
  expr_is("m[1][2]", "(index (index m 1) 2)");
  expr_is("m[1, 2]", "(index m 1 2)");
  expr_is("r.W", "(field r W)");
  expr_is("m.experts[0].beta", "(field (index (field m experts) 0) beta)");
  expr_is("a.b(c).d", "(field (call (field a b) c) d)");
  expr_is("-m.x[1]^2", "(- (^ (index (field m x) 1) 2))");
  expr_is("[1, 2, 3]", "(list 1 2 3)");
  expr_is("[]", "(list)");
  expr_is("[[1, 2], [3, 4]]", "(list (list 1 2) (list 3 4))");
  expr_is("[[1, 2],\n [3, 4],\n]", "(list (list 1 2) (list 3 4))");
  expr_is("[a + 1, -b]", "(list (+ a 1) (- b))");
  expr_is("W @ [1, 2]", "(@ W (list 1 2))");
}

/* Soft keywords are names wherever a keyword cannot be meant. */
static void test_soft_keywords(void)
{
  expr_is("geometric(from = 1, to = 2, steps = 3)",
          "(call geometric (from= 1) (to= 2) (steps= 3))");
  expr_is("moe(router = r, experts = [f])", "(call moe (router= r) (experts= (list f)))");
  expr_is("m.router", "(field m router)");
  expr_is("m.law.noise", "(field (field m law) noise)");
  expr_is("f(target = t, model = m, on = 1, under = 2, with = 3, schedule = s)",
          "(call f (target= t) (model= m) (on= 1) (under= 2) (with= 3) (schedule= s))");
  dump_is("print expert + law", "(print @1:1 (+ expert law))\n", "'print expert + law'");
  dump_is("let model = 1\n", "(let model @1:1 1)\n", "'let model = 1'");
  dump_is("let y = m.noise\nprint y.with\n",
          "(let y @1:1 (field m noise))\n(print @2:1 (field y with))\n",
          "fields named 'noise' and 'with' end their lines");
  dump_is("law X = normal(dim = 2)\nprint X.law\n",
          "(decl law X @1:1 (call normal (dim= 2)))\n(print @2:1 (field X law))\n",
          "a law and its field 'law'");
}

/* ------------------------------------------------------------ statements */

static void test_statements(void)
{
  dump_is("let x = 1", "(let x @1:1 1)\n", "let");
  dump_is("fn f(a, b) = a + b", "(fn f @1:1 (a b) (+ a b))\n", "fn with two parameters");
  dump_is("fn g() = 1", "(fn g @1:1 () 1)\n", "fn without parameters");
  dump_is("law X = normal(dim = 2)", "(decl law X @1:1 (call normal (dim= 2)))\n", "law");
  dump_is("router r = linear(W, b)", "(decl router r @1:1 (call linear W b))\n", "router");
  dump_is("router q(x) = [x[0], -x[0]]",
          "(decl router q @1:1 (x) (list (index x 0) (- (index x 0))))\n",
          "router with a parameter");
  dump_is("expert e(x) = x + 1", "(decl expert e @1:1 (x) (+ x 1))\n", "expert");
  dump_is("expert h = e", "(decl expert h @1:1 e)\n", "expert without parameters");
  dump_is("target y(x) = sin(x) noise 0.1",
          "(decl target y @1:1 (x) (call sin x) (noise 0.1))\n", "target with noise");
  dump_is("target z(a, b) = a * b", "(decl target z @1:1 (a b) (* a b))\n",
          "target with two parameters");
  dump_is("model m = moe(router = r, experts = [f])",
          "(decl model m @1:1 (call moe (router= r) (experts= (list f))))\n", "model");
  dump_is("schedule s = geometric(from = 1, to = 2, steps = 3) with steps = 500",
          "(decl schedule s @1:1 (call geometric (from= 1) (to= 2) (steps= 3)) "
          "(with (steps= 500)))\n",
          "schedule with options");
  dump_is("set samples = 1000", "(set samples @1:1 1000)\n", "set");
  dump_is("report m", "(report @1:1 m)\n", "report");
  dump_is("report m.router", "(report @1:1 (field m router))\n", "report of a field");
  dump_is("print a, 1, \"s\"", "(print @1:1 a 1 \"s\")\n", "print with several values");
  dump_is("print x", "(print @1:1 x)\n", "print with one value");
  dump_is("for t in [1, 2] {\n  let y = t\n  print y\n}",
          "(for t @1:1 (list 1 2)\n  (let y @2:3 t)\n  (print @3:3 y)\n)\n",
          "for over several lines");
  dump_is("for t in T { print t }", "(for t @1:1 T\n  (print @1:14 t)\n)\n",
          "for on one line");
  dump_is("for i in a {\n  for j in b {\n    print i, j\n  }\n}\n",
          "(for i @1:1 a\n  (for j @2:3 b\n    (print @3:5 i j)\n  )\n)\n", "nested for");
  dump_is("import \"lib/x.moe\"", "(import @1:1 \"lib/x.moe\")\n", "import");
  dump_is("extern fn NAME(x: vec) -> num from \"lib.so\"",
          "(extern NAME @1:1 (x:vec) -> num \"lib.so\")\n", "extern");
  dump_is("extern fn k(a: num, b: mat) -> vec from \"./k.so\"",
          "(extern k @1:1 (a:num b:mat) -> vec \"./k.so\")\n", "extern with two parameters");
  dump_is("train m on y under X with a = 1, b = 2",
          "(train @1:1 m (on y) (under X) (with (a= 1) (b= 2)))\n", "train with options");
  dump_is("train m on y under X", "(train @1:1 m (on y) (under X))\n", "train");
  dump_is("f(1)", "(expr @1:1 (call f 1))\n", "a bare expression");
  dump_is("1; 2\n", "(expr @1:1 1)\n(expr @1:4 2)\n", "';' separates statements");

  /* Several statements: positions follow lines; blank lines and comments
   * are skipped; a statement may go on after an operator or a comma. */
  dump_is("# setup\nlet a = 1 +\n  2\n\n\nprint a,\n  b # trailing\nreport a\n",
          "(let a @2:1 (+ 1 2))\n(print @6:1 a b)\n(report @8:1 a)\n",
          "a program of three statements");
}

/* The string's bytes are unescaped into the tree. */
static void test_unescape(void)
{
  Parsed p;
  parse_s(&p, "print \"a\\tb\\\"c\\r\\\\\", \"x\\0y\\n\"");
  int good = p.prog && p.prog->stmts.n == 1 && p.prog->stmts.v[0]->kind == S_PRINT &&
             p.prog->stmts.v[0]->exprs.n == 2;
  if (ok(good, "print of two strings parses")) {
    const Expr *a = p.prog->stmts.v[0]->exprs.v[0], *b = p.prog->stmts.v[0]->exprs.v[1];
    ok(a->kind == E_STR && a->u.str.len == 7 && memcmp(a->u.str.s, "a\tb\"c\r\\", 7) == 0,
       "escapes \\t \\\" \\r \\\\ are decoded");
    ok(b->kind == E_STR && b->u.str.len == 4 && memcmp(b->u.str.s, "x\0y\n", 4) == 0,
       "\\0 and \\n are decoded (length counts the NUL)");
    size_t n;
    const char *t = ast_text(a, &n);
    ok(n == 13 && t == p.src->text + 6, "the string expression covers its 13 source bytes");
  }
  parsed_free(&p);

  parse_s(&p, "import \"a\\\\b\"");
  ok(p.prog && p.prog->stmts.n == 1 && p.prog->stmts.v[0]->path &&
         strcmp(p.prog->stmts.v[0]->path, "a\\b") == 0,
     "the import path is unescaped");
  parsed_free(&p);
}

/* Source ranges: a binary expression covers both operands; brackets widen a
 * compound expression's range. */
static void test_ranges(void)
{
  Parsed p;
  parse_s(&p, "let v = (a + b) * c\n");
  if (ok(p.prog && p.prog->stmts.n == 1, "'let v = (a + b) * c' parses")) {
    const Stmt *s = p.prog->stmts.v[0];
    size_t n;
    const char *t = ast_text(s->value, &n);
    ok(n == 11 && strncmp(t, "(a + b) * c", n) == 0, "the product covers '(a + b) * c'");
    t = ast_text(s->value->u.bin.a, &n);
    ok(n == 7 && strncmp(t, "(a + b)", n) == 0, "the bracketed sum covers its brackets");
    ok(s->off == 0 && s->len == 19, "the statement covers the whole line but the newline");
    ok(s->name_pos.line == 1 && s->name_pos.col == 5, "the name 'v' is at 1:5");
  }
  parsed_free(&p);

  /* A bracketed plain name keeps its own caret (no widening to the brackets). */
  parse_s(&p, "let v = (abc)\n");
  if (ok(p.prog && p.prog->stmts.n == 1, "'let v = (abc)' parses")) {
    const Expr *e = p.prog->stmts.v[0]->value;
    ok(e->kind == E_NAME && e->pos.col == 10 && e->off == 9 && e->len == 3,
       "'(abc)' is the name at 1:10 covering 3 bytes");
  }
  parsed_free(&p);

  /* A for statement covers its text up to the closing brace. */
  parse_s(&p, "for t in T {\n  print t\n}\nlet q = 1\n");
  if (ok(p.prog && p.prog->stmts.n == 2, "a for and a let parse")) {
    const Stmt *s = p.prog->stmts.v[0];
    ok(s->off == 0 && s->len == 24, "the for covers 'for t in T {...}' (24 bytes)");
    ok(p.prog->stmts.v[1]->off == 25, "the let starts at byte 25");
  }
  parsed_free(&p);

  /* An unclosed '(' inside a for body: the lexer closes it before the next
   * statement; the body and the for survive. */
  parse_s(&p, "for t in T {\n  let a = f(1\n  let b = 2\n}\n");
  if (!ok(p.d.n == 1, "one error for an unclosed '(' inside a for body"))
    dump_diags(&p);
  ok(p.d.n > 0 && p.d.v[0].pos.line == 2 && p.d.v[0].pos.col == 12 &&
         strcmp(p.d.v[0].msg, "'(' is never closed") == 0 && p.d.v[0].hint &&
         strcmp(p.d.v[0].hint, "add ')' before line 3") == 0,
     "'(' is never closed at 2:12, hint \"add ')' before line 3\"");
  ok_str(sb_str(&p.dump), "(for t @1:1 T\n  (let b @3:3 2)\n)\n",
         "the for body keeps the statement after the unclosed '('");
  parsed_free(&p);
}

/* ------------------------------------------------------------ errors */

static void diag_is(const Parsed *p, int i, const char *msg, const char *hint,
                    unsigned line, unsigned col, const char *what)
{
  if (!ok(i < p->d.n, "%s: diagnostic %d exists", what, i)) {
    dump_diags(p);
    return;
  }
  const Diag *g = &p->d.v[i];
  ok_str(g->msg, msg, "%s: message", what);
  if (hint)
    ok_str(g->hint, hint, "%s: hint", what);
  else if (!ok(g->hint == NULL, "%s: no hint", what))
    printf("#   got hint \"%s\"\n", g->hint);
  if (!ok(g->pos.line == line && g->pos.col == col, "%s: at %u:%u", what, line, col))
    printf("#   got %u:%u\n", g->pos.line, g->pos.col);
}

static void test_recovery(void)
{
  Parsed p;
  parse_s(&p,
          "let x 3\n"
          "let a = 1\n"
          "set = 2\n"
          "print a\n"
          "extern fn k(x: vec) num from \"a.so\"\n"
          "let c = 3\n");
  if (!ok(p.d.n == 3, "three bad statements give three errors"))
    dump_diags(&p);
  diag_is(&p, 0, "unexpected number '3'", "expected '='", 1, 7, "'let x 3'");
  diag_is(&p, 1, "unexpected '='", NULL, 3, 5, "'set = 2'");
  diag_is(&p, 2, "unexpected name 'num'", "expected '->'", 5, 21, "extern without '->'");
  ok_str(sb_str(&p.dump), "(let a @2:1 1)\n(print @4:1 a)\n(let c @6:1 3)\n",
         "the good statements between the bad ones are kept");
  ok(p.incomplete == 0, "wrong input is not incomplete");
  parsed_free(&p);

  /* A bad statement inside a for body does not lose the rest. */
  parse_s(&p, "for t in T {\n  print t t\n  print 2\n}\nlet z = 1\n");
  if (!ok(p.d.n == 1, "one error inside a for body"))
    dump_diags(&p);
  diag_is(&p, 0, "unexpected name 't'", "expected end of line or ','", 2, 11, "'print t t'");
  ok_str(sb_str(&p.dump), "(for t @1:1 T\n  (print @3:3 2)\n)\n(let z @5:1 1)\n",
         "the for body keeps its good statement and the next statement parses");
  parsed_free(&p);

  /* An operator that cannot start an expression. */
  parse_s(&p, "let y = * 2\nlet w = 4\n");
  diag_is(&p, 0, "unexpected '*'", NULL, 1, 9, "'let y = * 2'");
  ok_str(sb_str(&p.dump), "(let w @2:1 4)\n", "the statement after '* 2' parses");
  parsed_free(&p);

  /* A statement keyword inside an open paren: the lexer's message stands
   * alone, and the next statement parses. */
  parse_s(&p, "let a = f(1\nlet b = 2\n");
  if (!ok(p.d.n == 1, "an unclosed '(' gives one error"))
    dump_diags(&p);
  diag_is(&p, 0, "'(' is never closed", "add ')' before line 2", 1, 10, "unclosed '('");
  ok_str(sb_str(&p.dump), "(let b @2:1 2)\n", "the statement after the unclosed '(' parses");
  ok(p.incomplete == 0, "an unclosed '(' followed by more statements is not incomplete");
  parsed_free(&p);
}

/* ------------------------------------------------------------ incomplete */

static void incomplete_is(const char *text, int want, const char *what)
{
  Parsed p;
  parse_s(&p, text);
  if (!ok(p.incomplete == want, "incomplete = %d for %s", want, what))
    dump_diags(&p);
  if (want)
    ok(p.d.n >= 1, "%s: an error is recorded", what);
  parsed_free(&p);
}

static void test_incomplete(void)
{
  incomplete_is("let x = (1 +", 1, "'let x = (1 +'");
  incomplete_is("for t in T {", 1, "'for t in T {'");
  incomplete_is("f(1,", 1, "'f(1,'");
  incomplete_is("print \"abc", 1, "'print \"abc'");
  incomplete_is("let x =", 1, "'let x ='");
  incomplete_is("for t in T {\n  print t\n", 1, "an open for body");
  incomplete_is("let x = 1)", 0, "'let x = 1)'");
  incomplete_is("let x = 1", 0, "'let x = 1'");
  incomplete_is("let x = 1\n", 0, "'let x = 1\\n'");
  incomplete_is("let x 3", 0, "'let x 3'");
  incomplete_is("", 0, "the empty source");

  /* The messages for input that stopped early. */
  Parsed p;
  parse_s(&p, "let x = (1 +");
  if (!ok(p.d.n == 1, "one error for 'let x = (1 +'"))
    dump_diags(&p);
  diag_is(&p, 0, "'(' is never closed", NULL, 1, 9, "'let x = (1 +'");
  parsed_free(&p);

  parse_s(&p, "for t in T {");
  diag_is(&p, 0, "'{' is never closed", NULL, 1, 12, "'for t in T {'");
  parsed_free(&p);

  parse_s(&p, "let x =");
  diag_is(&p, 0, "unexpected end of input", NULL, 1, 8, "'let x ='");
  parsed_free(&p);

  parse_s(&p, "print \"abc");
  if (!ok(p.d.n == 1, "one error for an unterminated string"))
    dump_diags(&p);
  diag_is(&p, 0, "unterminated string", NULL, 1, 7, "'print \"abc'");
  parsed_free(&p);

  parse_s(&p, "let x = 1)");
  if (!ok(p.d.n == 1, "one error for 'let x = 1)'"))
    dump_diags(&p);
  diag_is(&p, 0, "unmatched ')'", NULL, 1, 10, "'let x = 1)'");
  parsed_free(&p);
}

int main(void)
{
  test_precedence();
  test_postfix();
  test_soft_keywords();
  test_statements();
  test_unescape();
  test_ranges();
  test_recovery();
  test_incomplete();
  return tap_done();
}
