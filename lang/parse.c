/*
 * parse.c — the parse driver and the wording of syntax errors.
 */
#include "parse.h"

#include <stdlib.h>

#include "parser.h"

/* The generated parser's entry points (parser.c; %name moeParse). */
void *moeParseAlloc(void *(*alloc)(size_t), ParseCtx *pc);
void moeParseFree(void *p, void (*fr)(void *));
void moeParse(void *p, int major, Token minor);

/* Lemon allocates its parser object with a malloc-like function; routing it
 * through the runtime's hook keeps "all memory through one function". */
static _Thread_local Rt *parser_rt;

static void *parser_alloc(size_t n) { return rt_alloc(parser_rt, n); }
static void parser_free(void *p) { rt_free(parser_rt, p); }

static int is_soft_keyword(int k)
{
  switch (k) {
  case TK_FROM: case TK_ON: case TK_UNDER: case TK_WITH: case TK_NOISE:
  case TK_LAW: case TK_ROUTER: case TK_EXPERT: case TK_TARGET: case TK_MODEL:
  case TK_SCHEDULE:
    return 1;
  default:
    return 0;
  }
}

/* "expected '=' or '('" from the parser's view of the acceptable tokens. */
static void expected_hint(ParseCtx *pc, const int *expect, int n)
{
  if (n <= 0 || n > PARSE_MAX_EXPECT)
    return;
  int has_ident = 0, shown = 0;
  for (int i = 0; i < n; i++)
    has_ident |= expect[i] == TK_IDENT;
  StrBuf b;
  sb_init(&b, pc->diags->rt);
  for (int i = 0; i < n; i++) {
    if (has_ident && is_soft_keyword(expect[i]))
      continue;
    if (expect[i] == TK_SEMI)
      continue;     /* a separator is always spelled "end of line" */
    sb_printf(&b, "%s%s", shown++ ? " or " : "", lex_describe(expect[i]));
  }
  if (shown)
    diag_hint(pc->diags, "expected %s", sb_str(&b));
  sb_free(&b);
}

void parse_syntax_error(ParseCtx *pc, int major, const Token *tok, const int *expect,
                        int nexpect)
{
  Pos at = {pc->b.src, tok->line, tok->col};
  if (major == TK_NEWLINE && tok->len == 0 && pc->lex.done)
    major = 0;     /* the separator the lexer adds at the end of the input */
  if (major == 0)
    pc->incomplete = 1;
  if (pc->lex.quiet_next) {
    pc->lex.quiet_next = 0;   /* the lexer has already explained this one */
    return;
  }
  const Bracket *open = lex_open_bracket(&pc->lex);
  if (major == 0 && open) {
    diag_error(pc->diags, (Pos){pc->b.src, open->line, open->col}, 1,
               "'%c' is never closed", open->ch);
    return;
  }
  if (major == 0) {
    diag_error(pc->diags, at, 1, "unexpected end of input");
  } else if (major == TK_NEWLINE && tok->len == 0) {
    diag_error(pc->diags, at, 1, "unexpected end of statement before %s",
               lex_describe(pc->lex.held.kind));
  } else if (major == TK_NEWLINE) {
    diag_error(pc->diags, at, 1, "unexpected end of line");
  } else if (major == TK_IDENT || major == TK_NUMBER || major == TK_STRING) {
    diag_error(pc->diags, at, tok->len, "unexpected %s '%.*s'", lex_describe(major),
               (int)(tok->len > 40 ? 40 : tok->len), tok->p);
  } else {
    diag_error(pc->diags, at, tok->len, "unexpected %s", lex_describe(major));
  }
  expected_hint(pc, expect, nexpect);
}

void parse_overflow(ParseCtx *pc)
{
  const Token *t = &pc->last;
  Pos at = {pc->b.src, t->line ? t->line : 1, t->col ? t->col : 1};
  diag_error(pc->diags, at, 1, "expression nested too deeply");
  diag_hint(pc->diags, "split it into parts with let");
  pc->overflow = 1;
}

/* Feeds every token to the parser, then the end of input. */
static void run(ParseCtx *pc, void *parser)
{
  Token t;
  int k;
  do {
    k = lex_next(&pc->lex, &t);
    pc->last = t;
    moeParse(parser, k, t);
  } while (k != 0 && !pc->overflow && !pc->b.arena->failed);
}

Program *parse_program(Rt *rt, const Source *src, DiagList *diags, int *incomplete)
{
  Program *prog = rt_calloc(rt, 1, sizeof *prog);
  if (!prog)
    return NULL;
  arena_init(&prog->arena, rt);
  prog->src = src;
  ParseCtx pc;
  memset(&pc, 0, sizeof pc);
  pc.b.arena = &prog->arena;
  pc.b.src = src;
  pc.b.diags = diags;
  pc.prog = prog;
  pc.diags = diags;
  lex_init(&pc.lex, src, diags);
  parser_rt = rt;
  void *parser = moeParseAlloc(parser_alloc, &pc);
  if (!parser) {
    program_free(rt, prog);
    return NULL;
  }
  run(&pc, parser);
  moeParseFree(parser, parser_free);
  if (prog->arena.failed) {
    program_free(rt, prog);
    rt_error(rt, RT_ENOMEM, "out of memory");
    return NULL;
  }
  if (pc.lex.eof_in_token)
    pc.incomplete = 1;
  if (incomplete)
    *incomplete = pc.incomplete;
  return prog;
}

void program_free(Rt *rt, Program *p)
{
  if (!p)
    return;
  arena_free(&p->arena);
  rt_free(rt, p);
}
