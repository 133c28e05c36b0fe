/*
 * lexer.h — turns script text into tokens (the scanner is lang/lexer.re).
 *
 * Beyond scanning, the lexer applies the statement-ending rules of the
 * language: a newline ends a statement except inside () or [], after a
 * binary operator or a comma, or right after another separator.  It keeps
 * the stack of open brackets so that a mismatched or unclosed bracket is
 * reported where it was opened, and it inserts the separator that a closing
 * '}' or the end of the input implies.
 */
#ifndef MOE_LEXER_H
#define MOE_LEXER_H

#include "diag.h"
#include "token.h"

#define LEX_MAX_DEPTH 256

typedef struct Bracket {
  char ch;
  uint32_t line, col;
} Bracket;

typedef struct Lexer {
  const Source *src;
  const char *cur, *lim;     /* lim points at the terminating NUL */
  const char *line_start;
  uint32_t line;
  DiagList *diags;
  Bracket stack[LEX_MAX_DEPTH];
  int depth, parens;         /* all brackets; () and [] only */
  int last;                  /* kind of the last token returned (-1: none) */
  int has_held;              /* a token waits behind an inserted separator */
  Token held;
  uint32_t last_line;        /* line of the last real token returned */
  int quiet_next;            /* the lexer already explained the next syntax error */
  int saw_bad;               /* a bad character was skipped on this line */
  int eof_in_token;          /* input ended inside a string */
  int done;
} Lexer;

void lex_init(Lexer *lx, const Source *src, DiagList *diags);

/* Returns the next token's kind (0 at the end) and fills *t. */
int lex_next(Lexer *lx, Token *t);

/* How a token kind reads in a message: "'+'", "keyword 'let'", "end of line". */
const char *lex_describe(int kind);

/* The innermost open bracket, or NULL. */
const Bracket *lex_open_bracket(const Lexer *lx);

#endif
