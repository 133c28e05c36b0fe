/*
 * parse.h — from a Source to a Program: the driver around the generated
 * Lemon parser (parser.y) and the lexer.
 *
 * Errors are recorded in the caller's DiagList and parsing goes on at the
 * next statement.  The result says whether the input merely stopped early
 * (an error on the end-of-input token): that is how the REPL and
 * moe_complete() tell an unfinished statement from a wrong one.
 */
#ifndef MOE_PARSE_H
#define MOE_PARSE_H

#include <string.h>

#include "ast.h"
#include "diag.h"
#include "lexer.h"

#define PARSE_MAX_EXPECT 4

typedef struct ParseCtx {
  AstBuilder b;
  Program *prog;
  DiagList *diags;
  Lexer lex;
  int incomplete;        /* the input ended inside a statement */
  int overflow;          /* the parser stack overflowed */
  Token last;            /* the last token fed to the parser */
} ParseCtx;

/* Parses src.  Returns the program (never NULL unless out of memory, with
 * rt's error set); syntax errors are in diags.  *incomplete (may be NULL)
 * is set when the only problem is that the input ended too early. */
Program *parse_program(Rt *rt, const Source *src, DiagList *diags, int *incomplete);

/* Frees a program and its arena; accepts NULL. */
void program_free(Rt *rt, Program *p);

/* Called from the grammar's %syntax_error and %stack_overflow. */
void parse_syntax_error(ParseCtx *pc, int major, const Token *tok, const int *expect,
                        int nexpect);
void parse_overflow(ParseCtx *pc);

#endif
