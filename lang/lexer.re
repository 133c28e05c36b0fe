/*
 * lexer.re — the scanner (re2c) and the statement-ending rules (see lexer.h).
 *
 * `scan` recognises one raw token.  `lex_next` filters the raw stream:
 * it drops newlines that do not end a statement, tracks brackets, and
 * inserts the separators implied by '}' and by the end of the input.
 * The source text is NUL-terminated; a NUL before the end is an error.
 */
#include "lexer.h"

#include <stdio.h>
#include <string.h>

#include "parser.h"

/* A script too large for 32-bit positions, or a line too long to show in a
 * message, is an error before anything is read (the first long line only). */
static void check_size(Lexer *lx)
{
  const Source *s = lx->src;
  if (s->len > SOURCE_MAX_BYTES) {
    diag_error(lx->diags, (Pos){s, 1, 1}, 1, "script larger than %u MiB",
               SOURCE_MAX_BYTES >> 20);
    lx->cur = lx->lim;
    return;
  }
  const char *p = s->text, *end = s->text + s->len;
  for (uint32_t line = 1; p < end; line++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    if ((size_t)(e - p) > SOURCE_MAX_LINE) {
      diag_error(lx->diags, (Pos){s, line, 1}, 1, "line longer than %u KiB",
                 SOURCE_MAX_LINE >> 10);
      diag_hint(lx->diags, "keep data in .npy or CSV files and load() them");
      return;
    }
    p = e + 1;
  }
}

void lex_init(Lexer *lx, const Source *src, DiagList *diags)
{
  memset(lx, 0, sizeof *lx);
  lx->src = src;
  lx->cur = src->text;
  lx->lim = src->text + src->len;
  lx->line_start = src->text;
  lx->line = 1;
  lx->diags = diags;
  lx->last = -1;
  /* A UTF-8 byte order mark is not part of the script. */
  if (src->len >= 3 && memcmp(src->text, "\xEF\xBB\xBF", 3) == 0)
    lx->cur = lx->line_start = src->text + 3;
  check_size(lx);
}

static Pos pos_at(const Lexer *lx, const char *p)
{
  Pos pos = {lx->src, lx->line, (uint32_t)(p - lx->line_start) + 1};
  return pos;
}

static void newline_at(Lexer *lx, const char *after)
{
  lx->line++;
  lx->line_start = after;
}

/* Multi-line tokens (strings) move the line counter past their newlines. */
static void count_lines(Lexer *lx, const char *from, const char *to)
{
  for (const char *p = from; p < to; p++)
    if (*p == '\n')
      newline_at(lx, p + 1);
}

/* Checks a number token's underscores and exponent: "1_000" and "1e-3" are
 * numbers, "1__0", "1_" and "1e" are mistakes worth naming. */
static int number_ok(const char *p, const char *e)
{
  int prev_digit = 0;
  for (const char *q = p; q < e; q++) {
    if (*q == '_') {
      if (!prev_digit || q + 1 >= e || q[1] < '0' || q[1] > '9')
        return 0;
    } else if (*q == 'e' || *q == 'E') {
      const char *r = q + 1;
      if (r < e && (*r == '+' || *r == '-'))
        r++;
      if (r >= e || *r < '0' || *r > '9')
        return 0;
    }
    prev_digit = *q >= '0' && *q <= '9';
  }
  return 1;
}

static void bad_char(Lexer *lx, const char *tok)
{
  unsigned char c = (unsigned char)*tok;
  int n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  if (tok + n > lx->lim)
    n = 1;
  if (c >= 0x20 && c < 0x7F)
    diag_error(lx->diags, pos_at(lx, tok), 1, "unexpected character '%c'", c);
  else if (c >= 0x80 && n > 1)
    diag_error(lx->diags, pos_at(lx, tok), (uint32_t)n, "unexpected character '%.*s'", n, tok);
  else
    diag_error(lx->diags, pos_at(lx, tok), 1, "unexpected byte 0x%02x", c);
  lx->cur = tok + n;
  lx->saw_bad = 1;
}

/* Scans one raw token starting at lx->cur.  Comments and blanks are skipped;
 * errors are recorded and scanning goes on. */
static int scan(Lexer *lx, Token *t)
{
  const char *YYMARKER;
  for (;;) {
    const char *tok = lx->cur;
    t->p = tok;
    t->line = lx->line;
    t->col = (uint32_t)(tok - lx->line_start) + 1;
#define YYCURSOR lx->cur
#define TOKEN(k) do { t->len = (uint32_t)(lx->cur - tok); return (k); } while (0)
    /*!re2c
      re2c:define:YYCTYPE = "unsigned char";
      re2c:yyfill:enable = 0;
      re2c:flags:utf-8 = 0;

      dec    = [0-9][0-9_]*;
      expo   = [eE] [+-]? [0-9_]*;
      number = dec ("." [0-9_]*)? expo? | "." [0-9][0-9_]* expo?;
      ident  = [A-Za-z_][A-Za-z0-9_]*;

      "\x00" {
        if (tok >= lx->lim) { lx->cur = tok; t->len = 0; return 0; }
        diag_error(lx->diags, pos_at(lx, tok), 1, "NUL byte in source");
        lx->saw_bad = 1;
        diag_hint(lx->diags, "is this a binary file?");
        continue;
      }
      [ \t\r\f\v]+        { continue; }
      "#" [^\n\x00]*      { continue; }
      "\n"                { newline_at(lx, lx->cur); t->len = 1; return TK_NEWLINE; }

      number {
        if (!number_ok(tok, lx->cur)) {
          diag_error(lx->diags, pos_at(lx, tok), (uint32_t)(lx->cur - tok),
                     "malformed number '%.*s'", (int)(lx->cur - tok), tok);
          diag_hint(lx->diags, "write numbers like 12, 1.5, .5, 1e-3 or 1_000_000");
        }
        TOKEN(TK_NUMBER);
      }

      ["] ([^"\\\x00] | [\\] [^\x00])* ["] {
        const char *q;
        for (q = tok + 1; q < lx->cur - 1; q++) {
          if (*q != '\\')
            continue;
          q++;
          if (!strchr("nt\"\\r0", *q)) {
            Pos p = pos_at(lx, tok);
            p.col += (uint32_t)(q - 1 - tok);
            diag_error(lx->diags, p, 2, "unknown escape '\\%c' in string", *q);
            diag_hint(lx->diags, "the escapes are \\n \\t \\\" and \\\\");
          }
        }
        if ((size_t)(lx->cur - tok) - 2 > SOURCE_MAX_STRING) {
          diag_error(lx->diags, pos_at(lx, tok), 1, "string longer than %u bytes",
                     SOURCE_MAX_STRING);
          diag_hint(lx->diags, "strings name files and methods; keep data in files");
        }
        t->len = (uint32_t)(lx->cur - tok);
        count_lines(lx, tok, lx->cur);
        return TK_STRING;
      }
      ["] {
        /* No closing quote before the end (or a NUL): unterminated. */
        const char *q = tok + 1;
        while (q < lx->lim && *q && *q != '"')
          q += (*q == '\\' && q + 1 < lx->lim) ? 2 : 1;
        diag_error(lx->diags, pos_at(lx, tok), 1, "unterminated string");
        if (q >= lx->lim)
          lx->eof_in_token = 1;
        count_lines(lx, tok, q);
        lx->cur = q < lx->lim ? q + 1 : lx->lim;
        lx->quiet_next = 1;
        t->len = (uint32_t)(lx->cur - tok);
        return TK_STRING;
      }

      "let"       { TOKEN(TK_LET); }
      "fn"        { TOKEN(TK_FN); }
      "law"       { TOKEN(TK_LAW); }
      "router"    { TOKEN(TK_ROUTER); }
      "expert"    { TOKEN(TK_EXPERT); }
      "target"    { TOKEN(TK_TARGET); }
      "model"     { TOKEN(TK_MODEL); }
      "schedule"  { TOKEN(TK_SCHEDULE); }
      "set"       { TOKEN(TK_SET); }
      "report"    { TOKEN(TK_REPORT); }
      "print"     { TOKEN(TK_PRINT); }
      "train"     { TOKEN(TK_TRAIN); }
      "on"        { TOKEN(TK_ON); }
      "under"     { TOKEN(TK_UNDER); }
      "with"      { TOKEN(TK_WITH); }
      "for"       { TOKEN(TK_FOR); }
      "in"        { TOKEN(TK_IN); }
      "if"        { TOKEN(TK_IF); }
      "then"      { TOKEN(TK_THEN); }
      "else"      { TOKEN(TK_ELSE); }
      "and"       { TOKEN(TK_AND); }
      "or"        { TOKEN(TK_OR); }
      "not"       { TOKEN(TK_NOT); }
      "import"    { TOKEN(TK_IMPORT); }
      "extern"    { TOKEN(TK_EXTERN); }
      "from"      { TOKEN(TK_FROM); }
      "noise"     { TOKEN(TK_NOISE); }
      "true"      { TOKEN(TK_TRUE); }
      "false"     { TOKEN(TK_FALSE); }
      ident       { TOKEN(TK_IDENT); }

      "("  { TOKEN(TK_LPAREN); }
      ")"  { TOKEN(TK_RPAREN); }
      "["  { TOKEN(TK_LBRACKET); }
      "]"  { TOKEN(TK_RBRACKET); }
      "{"  { TOKEN(TK_LBRACE); }
      "}"  { TOKEN(TK_RBRACE); }
      ","  { TOKEN(TK_COMMA); }
      ";"  { TOKEN(TK_SEMI); }
      "."  { TOKEN(TK_DOT); }
      ":"  { TOKEN(TK_COLON); }
      "->" { TOKEN(TK_ARROW); }
      "="  { TOKEN(TK_ASSIGN); }
      "==" { TOKEN(TK_EQ); }
      "!=" { TOKEN(TK_NE); }
      "<"  { TOKEN(TK_LT); }
      "<=" { TOKEN(TK_LE); }
      ">"  { TOKEN(TK_GT); }
      ">=" { TOKEN(TK_GE); }
      "+"  { TOKEN(TK_PLUS); }
      "-"  { TOKEN(TK_MINUS); }
      "*"  { TOKEN(TK_STAR); }
      "/"  { TOKEN(TK_SLASH); }
      "^"  { TOKEN(TK_CARET); }
      "@"  { TOKEN(TK_AT); }
      "!"  {
        diag_error(lx->diags, pos_at(lx, tok), 1, "unexpected character '!'");
        diag_hint(lx->diags, "write 'not x' for negation and 'a != b' for inequality");
        continue;
      }
      * { bad_char(lx, tok); continue; }
    */
#undef TOKEN
#undef YYCURSOR
  }
}

/* Tokens after which a newline cannot end the statement. */
static int continues(int k)
{
  switch (k) {
  case TK_PLUS: case TK_MINUS: case TK_STAR: case TK_SLASH: case TK_CARET:
  case TK_AT: case TK_EQ: case TK_NE: case TK_LT: case TK_LE: case TK_GT:
  case TK_GE: case TK_AND: case TK_OR: case TK_NOT: case TK_COMMA:
  case TK_ASSIGN: case TK_ARROW: case TK_DOT: case TK_COLON: case TK_IF:
  case TK_THEN: case TK_ELSE: case TK_NOISE: case TK_WITH: case TK_ON:
  case TK_UNDER: case TK_IN: case TK_FROM:
    return 1;
  default:
    return 0;
  }
}

static int is_sep(int k) { return k == TK_NEWLINE || k == TK_SEMI || k == -1 || k == TK_LBRACE; }

/* Keywords that only begin statements: seeing one at the start of a line
 * inside () or [] means a bracket was left open on an earlier line. */
static int starts_statement(int k)
{
  switch (k) {
  case TK_LET: case TK_FN: case TK_LAW: case TK_ROUTER: case TK_EXPERT:
  case TK_TARGET: case TK_MODEL: case TK_SCHEDULE: case TK_SET: case TK_REPORT:
  case TK_PRINT: case TK_TRAIN: case TK_FOR: case TK_IMPORT: case TK_EXTERN:
    return 1;
  default:
    return 0;
  }
}

/* After a keyword: is the next thing a single '=' (a named argument such as
 * `router = r` on its own line inside a call)? */
static int named_argument(const Lexer *lx)
{
  const char *p = lx->cur;
  while (*p == ' ' || *p == '\t')
    p++;
  return p[0] == '=' && p[1] != '=';
}

static const char *closer_of(char open) { return open == '(' ? ")" : open == '[' ? "]" : "}"; }

static void unclosed(Lexer *lx, const Bracket *b, Pos where)
{
  diag_error(lx->diags, (Pos){lx->src, b->line, b->col}, 1,
             "'%c' is never closed", b->ch);
  diag_hint(lx->diags, "add '%s' before line %u", closer_of(b->ch), where.line);
}

static void push(Lexer *lx, const Token *t)
{
  if (lx->depth == LEX_MAX_DEPTH) {
    diag_error(lx->diags, (Pos){lx->src, t->line, t->col}, 1,
               "brackets nested deeper than %d levels", LEX_MAX_DEPTH);
    lx->quiet_next = 1;
    return;
  }
  Bracket *b = &lx->stack[lx->depth++];
  b->ch = *t->p;
  b->line = t->line;
  b->col = t->col;
  if (b->ch != '{')
    lx->parens++;
}

static void pop(Lexer *lx, const Token *t)
{
  char want = *t->p == ')' ? '(' : *t->p == ']' ? '[' : '{';
  Pos here = {lx->src, t->line, t->col};
  if (lx->depth == 0) {
    diag_error(lx->diags, here, 1, "unmatched '%c'", *t->p);
    lx->quiet_next = 1;
    return;
  }
  Bracket *b = &lx->stack[lx->depth - 1];
  if (b->ch != want) {
    diag_error(lx->diags, here, 1, "'%c' does not match '%c' opened at %u:%u",
               *t->p, b->ch, b->line, b->col);
    lx->quiet_next = 1;
  }
  if (b->ch != '{')
    lx->parens--;
  lx->depth--;
}

/* Closes every ( and [ down to the innermost { (used when a statement
 * keyword shows that they were left open). */
static void unwind_parens(Lexer *lx, Pos where)
{
  int reported = 0;
  while (lx->depth > 0 && lx->stack[lx->depth - 1].ch != '{') {
    if (!reported++)
      unclosed(lx, &lx->stack[lx->depth - 1], where);
    lx->depth--;
  }
  lx->parens = 0;
  lx->quiet_next = 1;
}

static int emit(Lexer *lx, Token *t, int kind)
{
  t->kind = kind;
  /* A keyword after '.' is a field name (m.router, t.noise): for the
   * newline rules it is a name. */
  lx->last = lx->last == TK_DOT && kind != TK_NEWLINE ? TK_IDENT : kind;
  return kind;
}

static int synthetic_sep(Lexer *lx, Token *t, const Token *at)
{
  Token copy = *at;
  *t = copy;
  t->len = 0;
  return emit(lx, t, TK_NEWLINE);
}

/* Applies a token's effect on the bracket stack. */
static void track(Lexer *lx, const Token *t)
{
  switch (t->kind) {
  case TK_LPAREN: case TK_LBRACKET: case TK_LBRACE:
    push(lx, t);
    break;
  case TK_RPAREN: case TK_RBRACKET: case TK_RBRACE:
    pop(lx, t);
    break;
  default:
    break;
  }
}

/* Returns a separator now and the token t on the next call. */
static int hold(Lexer *lx, Token *t)
{
  lx->held = *t;
  lx->has_held = 1;
  return synthetic_sep(lx, t, &lx->held);
}

int lex_next(Lexer *lx, Token *t)
{
  if (lx->has_held) {
    lx->has_held = 0;
    *t = lx->held;
    track(lx, t);
    lx->last_line = t->line;
    return emit(lx, t, t->kind);
  }
  for (;;) {
    int k = scan(lx, t);
    t->kind = k;
    if (k == 0) {
      if (!is_sep(lx->last) && !lx->done) {
        lx->done = 1;
        return synthetic_sep(lx, t, t);
      }
      return emit(lx, t, 0);
    }
    if (k == TK_NEWLINE && lx->saw_bad && lx->parens == 0 && !is_sep(lx->last)) {
      /* The statement lost a character to an error: end it here, and let
       * the lexer's message stand for the parser's. */
      lx->saw_bad = 0;
      lx->quiet_next = 1;
      return emit(lx, t, k);
    }
    if (k == TK_NEWLINE) {
      lx->saw_bad = 0;
      if (lx->parens > 0 || continues(lx->last) || is_sep(lx->last))
        continue;
      return emit(lx, t, k);
    }
    if (lx->parens > 0 && starts_statement(k) && t->line > lx->last_line
        && !named_argument(lx)) {
      unwind_parens(lx, (Pos){lx->src, t->line, t->col});
      return hold(lx, t);
    }
    if (k == TK_RBRACE && !is_sep(lx->last))
      return hold(lx, t);
    track(lx, t);
    lx->last_line = t->line;
    return emit(lx, t, k);
  }
}

const Bracket *lex_open_bracket(const Lexer *lx)
{
  return lx->depth ? &lx->stack[lx->depth - 1] : NULL;
}

const char *lex_describe(int kind)
{
  switch (kind) {
  case 0: return "end of input";
  case TK_NEWLINE: return "end of line";
  case TK_SEMI: return "';'";
  case TK_NUMBER: return "number";
  case TK_STRING: return "string";
  case TK_IDENT: return "name";
  case TK_LET: return "'let'";
  case TK_FN: return "'fn'";
  case TK_LAW: return "'law'";
  case TK_ROUTER: return "'router'";
  case TK_EXPERT: return "'expert'";
  case TK_TARGET: return "'target'";
  case TK_MODEL: return "'model'";
  case TK_SCHEDULE: return "'schedule'";
  case TK_SET: return "'set'";
  case TK_REPORT: return "'report'";
  case TK_PRINT: return "'print'";
  case TK_TRAIN: return "'train'";
  case TK_ON: return "'on'";
  case TK_UNDER: return "'under'";
  case TK_WITH: return "'with'";
  case TK_FOR: return "'for'";
  case TK_IN: return "'in'";
  case TK_IF: return "'if'";
  case TK_THEN: return "'then'";
  case TK_ELSE: return "'else'";
  case TK_AND: return "'and'";
  case TK_OR: return "'or'";
  case TK_NOT: return "'not'";
  case TK_IMPORT: return "'import'";
  case TK_EXTERN: return "'extern'";
  case TK_FROM: return "'from'";
  case TK_NOISE: return "'noise'";
  case TK_TRUE: return "'true'";
  case TK_FALSE: return "'false'";
  case TK_LPAREN: return "'('";
  case TK_RPAREN: return "')'";
  case TK_LBRACKET: return "'['";
  case TK_RBRACKET: return "']'";
  case TK_LBRACE: return "'{'";
  case TK_RBRACE: return "'}'";
  case TK_COMMA: return "','";
  case TK_DOT: return "'.'";
  case TK_COLON: return "':'";
  case TK_ARROW: return "'->'";
  case TK_ASSIGN: return "'='";
  case TK_EQ: return "'=='";
  case TK_NE: return "'!='";
  case TK_LT: return "'<'";
  case TK_LE: return "'<='";
  case TK_GT: return "'>'";
  case TK_GE: return "'>='";
  case TK_PLUS: return "'+'";
  case TK_MINUS: return "'-'";
  case TK_STAR: return "'*'";
  case TK_SLASH: return "'/'";
  case TK_CARET: return "'^'";
  case TK_AT: return "'@'";
  default: return "token";
  }
}
