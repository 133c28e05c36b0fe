/*
 * test_lexer.c — unit tests for the scanner and the statement-ending rules
 * (lang/lexer.re).
 *
 * Every expected token list below (kind, line, column, length) and every
 * expected diagnostic (message, position, span) was worked out by hand from
 * the language rules, not copied from the lexer's output: a check fails if
 * the lexer returns another kind, a wrong position or length, an extra or a
 * missing separator, or a different message.
 */
#include "lexer.h"
#include "parser.h"
#include "source.h"
#include "../tap.h"

#include <stdlib.h>
#include <string.h>

#define MAXTOK 128

typedef struct Tk {
  int kind;
  unsigned line, col, len;
} Tk;

typedef struct Run {
  Rt rt;
  Source *src;
  DiagList d;
  Lexer lx;
  Tk t[MAXTOK];
  const char *p[MAXTOK];   /* token start pointers */
  int n;                   /* tokens including the final 0 */
} Run;

/* Lexes text[0..len) to the end (the final kind-0 token is stored too). */
static void run_lex(Run *r, const char *text, size_t len)
{
  rt_init(&r->rt);
  r->src = source_new(&r->rt, "t.moe", text, len);
  if (!r->src) {
    printf("Bail out! out of memory\n");
    exit(1);
  }
  diag_init(&r->d, &r->rt);
  lex_init(&r->lx, r->src, &r->d);
  r->n = 0;
  for (;;) {
    Token tok;
    int k = lex_next(&r->lx, &tok);
    if (r->n < MAXTOK) {
      r->t[r->n] = (Tk){k, tok.line, tok.col, tok.len};
      r->p[r->n] = tok.p;
      r->n++;
    }
    if (k == 0 || r->n >= MAXTOK)
      break;
  }
}

static void run_s(Run *r, const char *text) { run_lex(r, text, strlen(text)); }

static void run_free(Run *r)
{
  diag_clear(&r->d);
  source_free_all(&r->rt, r->src);
}

static void dump_tokens(const Run *r)
{
  for (int i = 0; i < r->n; i++)
    printf("#     [%d] %s @%u:%u len %u\n", i, lex_describe(r->t[i].kind), r->t[i].line,
           r->t[i].col, r->t[i].len);
}

static void dump_diags(const Run *r)
{
  for (int i = 0; i < r->d.n; i++)
    printf("#     diag %d: %u:%u span %u \"%s\" hint \"%s\"\n", i, r->d.v[i].pos.line,
           r->d.v[i].pos.col, r->d.v[i].span, r->d.v[i].msg,
           r->d.v[i].hint ? r->d.v[i].hint : "(none)");
}

/* The whole token stream (ending with kind 0) equals want[0..nwant). */
static int tokens_are(const Run *r, const Tk *want, int nwant, const char *what)
{
  int same = r->n == nwant;
  for (int i = 0; same && i < nwant; i++)
    same = r->t[i].kind == want[i].kind && r->t[i].line == want[i].line &&
           r->t[i].col == want[i].col && r->t[i].len == want[i].len;
  if (!ok(same, "tokens of %s", what)) {
    printf("#   got:\n");
    dump_tokens(r);
    printf("#   want:\n");
    for (int i = 0; i < nwant; i++)
      printf("#     [%d] %s @%u:%u len %u\n", i, lex_describe(want[i].kind), want[i].line,
             want[i].col, want[i].len);
  }
  return same;
}

/* Only the kinds (for long streams where positions are checked elsewhere). */
static int kinds_are(const Run *r, const int *want, int nwant, const char *what)
{
  int same = r->n == nwant;
  for (int i = 0; same && i < nwant; i++)
    same = r->t[i].kind == want[i];
  if (!ok(same, "token kinds of %s", what))
    dump_tokens(r);
  return same;
}

static void no_diags(const Run *r, const char *what)
{
  if (!ok(r->d.n == 0, "no diagnostics for %s", what))
    dump_diags(r);
}

/* Exactly one diagnostic (index i of r->d) with this message and position. */
static void diag_is(const Run *r, int i, const char *msg, unsigned line, unsigned col,
                    unsigned span, const char *what)
{
  if (!ok(i < r->d.n, "%s: diagnostic %d exists", what, i)) {
    dump_diags(r);
    return;
  }
  const Diag *g = &r->d.v[i];
  ok_str(g->msg, msg, "%s: message", what);
  int at = g->pos.line == line && g->pos.col == col && g->span == span;
  if (!ok(at, "%s: at %u:%u span %u", what, line, col, span))
    printf("#   got %u:%u span %u\n", g->pos.line, g->pos.col, g->span);
}

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------ basics */

static void test_simple(void)
{
  Run r;
  run_s(&r, "let x = 12\n");
  Tk want[] = {{TK_LET, 1, 1, 3}, {TK_IDENT, 1, 5, 1}, {TK_ASSIGN, 1, 7, 1},
               {TK_NUMBER, 1, 9, 2}, {TK_NEWLINE, 1, 11, 1}, {0, 2, 1, 0}};
  tokens_are(&r, want, N(want), "'let x = 12\\n'");
  no_diags(&r, "'let x = 12'");
  ok(r.p[3] == r.src->text + 8 && memcmp(r.p[3], "12", 2) == 0,
     "a token is a view into the source text");
  run_free(&r);

  run_s(&r, "");
  Tk want0[] = {{0, 1, 1, 0}};
  tokens_are(&r, want0, N(want0), "the empty source");
  run_free(&r);

  /* Operators and punctuation, longest match first ("<=" is one token). */
  run_s(&r, "a<=b>=c==d!=e<f>g->h:i.j@k^l*m/n-o+p;q");
  int kinds[] = {TK_IDENT, TK_LE, TK_IDENT, TK_GE, TK_IDENT, TK_EQ, TK_IDENT, TK_NE,
                 TK_IDENT, TK_LT, TK_IDENT, TK_GT, TK_IDENT, TK_ARROW, TK_IDENT,
                 TK_COLON, TK_IDENT, TK_DOT, TK_IDENT, TK_AT, TK_IDENT, TK_CARET,
                 TK_IDENT, TK_STAR, TK_IDENT, TK_SLASH, TK_IDENT, TK_MINUS, TK_IDENT,
                 TK_PLUS, TK_IDENT, TK_SEMI, TK_IDENT, TK_NEWLINE, 0};
  kinds_are(&r, kinds, N(kinds), "operators");
  ok(r.n > 13 && r.t[13].len == 2 && r.t[13].col == 18, "'->' is one token of length 2 at col 18");
  no_diags(&r, "operators");
  run_free(&r);

  /* The UTF-8 byte order mark is skipped and columns count from after it. */
  run_s(&r, "\xEF\xBB\xBFx");
  Tk wbom[] = {{TK_IDENT, 1, 1, 1}, {TK_NEWLINE, 1, 2, 0}, {0, 1, 2, 0}};
  tokens_are(&r, wbom, N(wbom), "a BOM before 'x'");
  run_free(&r);
}

static void test_numbers(void)
{
  Run r;
  /* cols:     1  4   8  11   16        26   31 */
  run_s(&r, "12 1.5 .5 1e-3 1_000_000 2E+5 3.");
  Tk want[] = {{TK_NUMBER, 1, 1, 2},  {TK_NUMBER, 1, 4, 3},  {TK_NUMBER, 1, 8, 2},
               {TK_NUMBER, 1, 11, 4}, {TK_NUMBER, 1, 16, 9}, {TK_NUMBER, 1, 26, 4},
               {TK_NUMBER, 1, 31, 2}, {TK_NEWLINE, 1, 33, 0}, {0, 1, 33, 0}};
  tokens_are(&r, want, N(want), "numbers");
  no_diags(&r, "well-formed numbers");
  run_free(&r);

  /* A number followed by a name: "2x" is two tokens; "x2" is one name. */
  run_s(&r, "2x x2 1.5.b");
  Tk want2[] = {{TK_NUMBER, 1, 1, 1}, {TK_IDENT, 1, 2, 1}, {TK_IDENT, 1, 4, 2},
                {TK_NUMBER, 1, 7, 3}, {TK_DOT, 1, 10, 1}, {TK_IDENT, 1, 11, 1},
                {TK_NEWLINE, 1, 12, 0}, {0, 1, 12, 0}};
  tokens_are(&r, want2, N(want2), "'2x x2 1.5.b'");
  run_free(&r);
}

static void test_keywords(void)
{
  Run r;
  run_s(&r, "lettuce let fn fnord law lawful router routers in int if iffy true truest "
            "_x x_1 notable not");
  int kinds[] = {TK_IDENT, TK_LET,  TK_FN,    TK_IDENT, TK_LAW,   TK_IDENT, TK_ROUTER,
                 TK_IDENT, TK_IN,   TK_IDENT, TK_IF,    TK_IDENT, TK_TRUE,  TK_IDENT,
                 TK_IDENT, TK_IDENT, TK_IDENT, TK_NOT,  TK_NEWLINE, 0};
  kinds_are(&r, kinds, N(kinds), "keywords vs names");
  ok(r.n > 0 && r.t[0].len == 7, "'lettuce' is one name of 7 bytes");
  no_diags(&r, "keywords");
  run_free(&r);

  /* Every keyword of the language. */
  run_s(&r, "let fn law router expert target model schedule set report print train on "
            "under with for in if then else and or not import extern from noise true "
            "false");
  int kw[] = {TK_LET,    TK_FN,     TK_LAW,    TK_ROUTER, TK_EXPERT, TK_TARGET, TK_MODEL,
              TK_SCHEDULE, TK_SET,  TK_REPORT, TK_PRINT,  TK_TRAIN,  TK_ON,     TK_UNDER,
              TK_WITH,   TK_FOR,    TK_IN,     TK_IF,     TK_THEN,   TK_ELSE,   TK_AND,
              TK_OR,     TK_NOT,    TK_IMPORT, TK_EXTERN, TK_FROM,   TK_NOISE,  TK_TRUE,
              TK_FALSE,  TK_NEWLINE, 0};
  kinds_are(&r, kw, N(kw), "all keywords");
  run_free(&r);
}

static void test_strings(void)
{
  Run r;
  /* s = "a\n\t\"b\\" + "\r\0"   (the escapes as written in the script) */
  run_s(&r, "s = \"a\\n\\t\\\"b\\\\\" + \"\\r\\0\"");
  Tk want[] = {{TK_IDENT, 1, 1, 1},   {TK_ASSIGN, 1, 3, 1}, {TK_STRING, 1, 5, 12},
               {TK_PLUS, 1, 18, 1},   {TK_STRING, 1, 20, 6}, {TK_NEWLINE, 1, 26, 0},
               {0, 1, 26, 0}};
  tokens_are(&r, want, N(want), "strings with escapes");
  no_diags(&r, "known escapes");
  run_free(&r);

  /* '#' inside a string is not a comment. */
  run_s(&r, "\"a # b\" x");
  Tk want2[] = {{TK_STRING, 1, 1, 7}, {TK_IDENT, 1, 9, 1}, {TK_NEWLINE, 1, 10, 0},
                {0, 1, 10, 0}};
  tokens_are(&r, want2, N(want2), "a string holding '#'");
  run_free(&r);

  /* A string may span lines; the line counter follows it. */
  run_s(&r, "print \"ab\ncd\" x");
  Tk want3[] = {{TK_PRINT, 1, 1, 5}, {TK_STRING, 1, 7, 7}, {TK_IDENT, 2, 5, 1},
                {TK_NEWLINE, 2, 6, 0}, {0, 2, 6, 0}};
  tokens_are(&r, want3, N(want3), "a string over two lines");
  no_diags(&r, "a string over two lines");
  run_free(&r);
}

static void test_comments(void)
{
  Run r;
  run_s(&r, "x # comment here\ny");
  Tk want[] = {{TK_IDENT, 1, 1, 1}, {TK_NEWLINE, 1, 17, 1}, {TK_IDENT, 2, 1, 1},
               {TK_NEWLINE, 2, 2, 0}, {0, 2, 2, 0}};
  tokens_are(&r, want, N(want), "a comment then a line");
  run_free(&r);

  /* Nothing but comments and blank lines: no separator at all. */
  run_s(&r, "# only\n\n   # more\n");
  Tk want2[] = {{0, 4, 1, 0}};
  tokens_are(&r, want2, N(want2), "a source of comments");
  no_diags(&r, "comments");
  run_free(&r);
}

/* ------------------------------------------------------------ newline rules */

static void test_newlines(void)
{
  Run r;
  /* Inside () and [] a newline does not end the statement. */
  run_s(&r, "f(1\n, 2)\n");
  Tk w1[] = {{TK_IDENT, 1, 1, 1}, {TK_LPAREN, 1, 2, 1}, {TK_NUMBER, 1, 3, 1},
             {TK_COMMA, 2, 1, 1}, {TK_NUMBER, 2, 3, 1}, {TK_RPAREN, 2, 4, 1},
             {TK_NEWLINE, 2, 5, 1}, {0, 3, 1, 0}};
  tokens_are(&r, w1, N(w1), "a newline inside ()");
  run_free(&r);

  run_s(&r, "x = [1\n\n,2\n]\n");
  int k2[] = {TK_IDENT, TK_ASSIGN, TK_LBRACKET, TK_NUMBER, TK_COMMA, TK_NUMBER,
              TK_RBRACKET, TK_NEWLINE, 0};
  kinds_are(&r, k2, N(k2), "newlines inside []");
  run_free(&r);

  /* After a binary operator the statement goes on; before one it ends. */
  run_s(&r, "a +\nb\n");
  Tk w3[] = {{TK_IDENT, 1, 1, 1}, {TK_PLUS, 1, 3, 1}, {TK_IDENT, 2, 1, 1},
             {TK_NEWLINE, 2, 2, 1}, {0, 3, 1, 0}};
  tokens_are(&r, w3, N(w3), "a newline after '+'");
  run_free(&r);

  run_s(&r, "a\n+ b");
  Tk w4[] = {{TK_IDENT, 1, 1, 1}, {TK_NEWLINE, 1, 2, 1}, {TK_PLUS, 2, 1, 1},
             {TK_IDENT, 2, 3, 1}, {TK_NEWLINE, 2, 4, 0}, {0, 2, 4, 0}};
  tokens_are(&r, w4, N(w4), "a newline before '+'");
  run_free(&r);

  run_s(&r, "x = a and\nb or\nc == \nd @\ne\n");
  int k5[] = {TK_IDENT, TK_ASSIGN, TK_IDENT, TK_AND, TK_IDENT, TK_OR, TK_IDENT, TK_EQ,
              TK_IDENT, TK_AT, TK_IDENT, TK_NEWLINE, 0};
  kinds_are(&r, k5, N(k5), "newlines after and/or/==/@");
  run_free(&r);

  /* After a comma (outside brackets too: print a,\n b). */
  run_s(&r, "print a,\n  b\n");
  Tk w6[] = {{TK_PRINT, 1, 1, 5}, {TK_IDENT, 1, 7, 1}, {TK_COMMA, 1, 8, 1},
             {TK_IDENT, 2, 3, 1}, {TK_NEWLINE, 2, 4, 1}, {0, 3, 1, 0}};
  tokens_are(&r, w6, N(w6), "a newline after ','");
  run_free(&r);

  /* Consecutive newlines (with blanks and comments between) collapse. */
  run_s(&r, "a\n\n\n   \n# c\nb\n\n");
  Tk w7[] = {{TK_IDENT, 1, 1, 1}, {TK_NEWLINE, 1, 2, 1}, {TK_IDENT, 6, 1, 1},
             {TK_NEWLINE, 6, 2, 1}, {0, 8, 1, 0}};
  tokens_are(&r, w7, N(w7), "blank lines collapse");
  run_free(&r);

  /* A separator is inserted before a '}' that follows a statement... */
  run_s(&r, "for t in T { x }");
  Tk w8[] = {{TK_FOR, 1, 1, 3},     {TK_IDENT, 1, 5, 1},   {TK_IN, 1, 7, 2},
             {TK_IDENT, 1, 10, 1},  {TK_LBRACE, 1, 12, 1}, {TK_IDENT, 1, 14, 1},
             {TK_NEWLINE, 1, 16, 0}, {TK_RBRACE, 1, 16, 1}, {TK_NEWLINE, 1, 17, 0},
             {0, 1, 17, 0}};
  tokens_are(&r, w8, N(w8), "'for t in T { x }'");
  no_diags(&r, "a one-line for");
  run_free(&r);

  /* ...but not when the statement already ended; a newline right after '{'
   * is dropped. */
  run_s(&r, "for t in T {\n x\n}\n");
  Tk w9[] = {{TK_FOR, 1, 1, 3},    {TK_IDENT, 1, 5, 1},  {TK_IN, 1, 7, 2},
             {TK_IDENT, 1, 10, 1}, {TK_LBRACE, 1, 12, 1}, {TK_IDENT, 2, 2, 1},
             {TK_NEWLINE, 2, 3, 1}, {TK_RBRACE, 3, 1, 1}, {TK_NEWLINE, 3, 2, 1},
             {0, 4, 1, 0}};
  tokens_are(&r, w9, N(w9), "a for over three lines");
  run_free(&r);

  /* End of input: a separator when the last token is not one. */
  run_s(&r, "x");
  Tk w10[] = {{TK_IDENT, 1, 1, 1}, {TK_NEWLINE, 1, 2, 0}, {0, 1, 2, 0}};
  tokens_are(&r, w10, N(w10), "'x' at the end of input");
  run_free(&r);

  run_s(&r, "x;");
  Tk w11[] = {{TK_IDENT, 1, 1, 1}, {TK_SEMI, 1, 2, 1}, {0, 1, 3, 0}};
  tokens_are(&r, w11, N(w11), "'x;' needs no inserted separator");
  run_free(&r);

  /* if/then/else continue the statement over newlines. */
  run_s(&r, "y = if c then\n1 else\n2");
  int k12[] = {TK_IDENT, TK_ASSIGN, TK_IF, TK_IDENT, TK_THEN, TK_NUMBER, TK_ELSE,
               TK_NUMBER, TK_NEWLINE, 0};
  kinds_are(&r, k12, N(k12), "if/then/else over lines");
  run_free(&r);

  /* A keyword after '.' is a field name: a newline after it ends the
   * statement even when the keyword (noise, with, on...) would continue it. */
  run_s(&r, "y = m.noise\nz = t.with\nw = 1");
  int kf[] = {TK_IDENT, TK_ASSIGN, TK_IDENT, TK_DOT, TK_NOISE, TK_NEWLINE,
              TK_IDENT, TK_ASSIGN, TK_IDENT, TK_DOT, TK_WITH, TK_NEWLINE,
              TK_IDENT, TK_ASSIGN, TK_NUMBER, TK_NEWLINE, 0};
  kinds_are(&r, kf, N(kf), "fields named 'noise' and 'with' at the end of a line");
  run_free(&r);

  /* ...while a keyword that is not after '.' still continues the line. */
  run_s(&r, "target y = f noise\n0.1");
  int kn[] = {TK_TARGET, TK_IDENT, TK_ASSIGN, TK_IDENT, TK_NOISE, TK_NUMBER, TK_NEWLINE, 0};
  kinds_are(&r, kn, N(kn), "'noise' at the end of a line continues the statement");
  run_free(&r);

  /* A statement keyword used as a named argument on its own line inside a
   * call is not taken for an unclosed bracket. */
  run_s(&r, "m = moe(\n  router = r,\n  experts = e)\n");
  int k13[] = {TK_IDENT, TK_ASSIGN, TK_IDENT, TK_LPAREN, TK_ROUTER, TK_ASSIGN, TK_IDENT,
               TK_COMMA, TK_IDENT, TK_ASSIGN, TK_IDENT, TK_RPAREN, TK_NEWLINE, 0};
  kinds_are(&r, k13, N(k13), "'router = r' on its own line in a call");
  no_diags(&r, "a named argument 'router'");
  run_free(&r);
}

/* ------------------------------------------------------------ errors */

static void test_errors(void)
{
  Run r;

  run_s(&r, "a $ b\n");
  ok(r.d.n == 1, "one diagnostic for '$'");
  diag_is(&r, 0, "unexpected character '$'", 1, 3, 1, "'$'");
  Tk w1[] = {{TK_IDENT, 1, 1, 1}, {TK_IDENT, 1, 5, 1}, {TK_NEWLINE, 1, 6, 1},
             {0, 2, 1, 0}};
  tokens_are(&r, w1, N(w1), "'a $ b' (the bad character is skipped)");
  run_free(&r);

  /* A two-byte UTF-8 character is named whole, with a two-byte caret. */
  run_s(&r, "x = \xC3\xA9\n");
  diag_is(&r, 0, "unexpected character '\xC3\xA9'", 1, 5, 2, "'\xC3\xA9'");
  run_free(&r);

  run_s(&r, "x = 1e\n");
  ok(r.d.n == 1, "one diagnostic for '1e'");
  diag_is(&r, 0, "malformed number '1e'", 1, 5, 2, "'1e'");
  ok(r.d.n > 0 && r.d.v[0].hint &&
         strcmp(r.d.v[0].hint, "write numbers like 12, 1.5, .5, 1e-3 or 1_000_000") == 0,
     "'1e' has the number hint");
  ok(r.n > 2 && r.t[2].kind == TK_NUMBER && r.t[2].len == 2,
     "'1e' is still a number token of 2 bytes");
  run_free(&r);

  run_s(&r, "y = 1__0 + 2");
  ok(r.d.n == 1, "one diagnostic for '1__0'");
  diag_is(&r, 0, "malformed number '1__0'", 1, 5, 4, "'1__0'");
  run_free(&r);

  run_s(&r, "z = 1_ + 1e+");
  ok(r.d.n == 2, "two diagnostics for '1_' and '1e+'");
  diag_is(&r, 0, "malformed number '1_'", 1, 5, 2, "'1_'");
  diag_is(&r, 1, "malformed number '1e+'", 1, 10, 3, "'1e+'");
  run_free(&r);

  /* Unterminated string at the end of the input. */
  run_s(&r, "print \"abc");
  ok(r.d.n == 1, "one diagnostic for an unterminated string");
  diag_is(&r, 0, "unterminated string", 1, 7, 1, "unterminated string");
  ok(r.lx.eof_in_token == 1, "an unterminated string at the end sets eof_in_token");
  ok(r.n > 1 && r.t[1].kind == TK_STRING && r.t[1].len == 4,
     "the unterminated string is a 4-byte string token");
  run_free(&r);

  /* A complete string leaves eof_in_token clear. */
  run_s(&r, "print \"abc\"");
  ok(r.lx.eof_in_token == 0 && r.d.n == 0, "a terminated string: no error, no eof_in_token");
  run_free(&r);

  /* Unknown escape: caret on the backslash, two bytes wide. */
  run_s(&r, "x = \"a\\qb\"\n");
  ok(r.d.n == 1, "one diagnostic for '\\q'");
  diag_is(&r, 0, "unknown escape '\\q' in string", 1, 7, 2, "'\\q'");
  ok(r.n > 2 && r.t[2].kind == TK_STRING && r.t[2].len == 6,
     "the string with '\\q' is still a 6-byte string token");
  run_free(&r);

  /* A NUL byte inside the source. */
  run_lex(&r, "a\0b\n", 4);
  ok(r.d.n == 1, "one diagnostic for a NUL byte");
  diag_is(&r, 0, "NUL byte in source", 1, 2, 1, "NUL");
  ok(r.d.n > 0 && r.d.v[0].hint && strcmp(r.d.v[0].hint, "is this a binary file?") == 0,
     "the NUL byte hint");
  Tk wn[] = {{TK_IDENT, 1, 1, 1}, {TK_IDENT, 1, 3, 1}, {TK_NEWLINE, 1, 4, 1}, {0, 2, 1, 0}};
  tokens_are(&r, wn, N(wn), "'a<NUL>b'");
  run_free(&r);

  /* Brackets. */
  run_s(&r, "x)\n");
  ok(r.d.n == 1, "one diagnostic for an unmatched ')'");
  diag_is(&r, 0, "unmatched ')'", 1, 2, 1, "unmatched ')'");
  run_free(&r);

  run_s(&r, "let a = (1]\n");
  ok(r.d.n == 1, "one diagnostic for '(' closed by ']'");
  diag_is(&r, 0, "']' does not match '(' opened at 1:9", 1, 11, 1, "mismatched ']'");
  run_free(&r);

  run_s(&r, "x = [\n(1,\n2]\n");
  diag_is(&r, 0, "']' does not match '(' opened at 2:1", 3, 2, 1,
          "mismatched ']' on another line");
  run_free(&r);

  /* A statement keyword at the start of a line inside an open paren. */
  run_s(&r, "let a = f(1\nlet b = 2\n");
  ok(r.d.n == 1, "one diagnostic for the unclosed '('");
  diag_is(&r, 0, "'(' is never closed", 1, 10, 1, "unclosed '('");
  ok(r.d.n > 0 && r.d.v[0].hint && strcmp(r.d.v[0].hint, "add ')' before line 2") == 0,
     "the unclosed '(' hint names line 2");
  Tk wu[] = {{TK_LET, 1, 1, 3},    {TK_IDENT, 1, 5, 1},  {TK_ASSIGN, 1, 7, 1},
             {TK_IDENT, 1, 9, 1},  {TK_LPAREN, 1, 10, 1}, {TK_NUMBER, 1, 11, 1},
             {TK_NEWLINE, 2, 1, 0}, {TK_LET, 2, 1, 3},   {TK_IDENT, 2, 5, 1},
             {TK_ASSIGN, 2, 7, 1}, {TK_NUMBER, 2, 9, 1}, {TK_NEWLINE, 2, 10, 1},
             {0, 3, 1, 0}};
  tokens_are(&r, wu, N(wu), "an unclosed '(' before 'let'");
  ok(lex_open_bracket(&r.lx) == NULL, "no bracket is left open after the unwind");
  run_free(&r);

  /* A statement keyword on the same line as the open paren is left to the
   * parser: the lexer does not close the bracket. */
  run_s(&r, "f(1 print 2)\n");
  no_diags(&r, "'f(1 print 2)' (a keyword on the bracket's own line)");
  int kp[] = {TK_IDENT, TK_LPAREN, TK_NUMBER, TK_PRINT, TK_NUMBER, TK_RPAREN, TK_NEWLINE, 0};
  kinds_are(&r, kp, N(kp), "'f(1 print 2)'");
  run_free(&r);

  /* lex_open_bracket reports the innermost open bracket. */
  run_s(&r, "f([1,\n(2");
  const Bracket *b = lex_open_bracket(&r.lx);
  ok(b && b->ch == '(' && b->line == 2 && b->col == 1, "innermost open bracket is '(' at 2:1");
  run_free(&r);
}

static void test_describe(void)
{
  ok_str(lex_describe(0), "end of input", "lex_describe(0)");
  ok_str(lex_describe(TK_NEWLINE), "end of line", "lex_describe(NEWLINE)");
  ok_str(lex_describe(TK_LET), "'let'", "lex_describe(LET)");
  ok_str(lex_describe(TK_ARROW), "'->'", "lex_describe(ARROW)");
  ok_str(lex_describe(TK_IDENT), "name", "lex_describe(IDENT)");
}

int main(void)
{
  test_simple();
  test_numbers();
  test_keywords();
  test_strings();
  test_comments();
  test_newlines();
  test_errors();
  test_describe();
  return tap_done();
}
