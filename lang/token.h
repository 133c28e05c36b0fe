/*
 * token.h — a token is a view into the source text, never a copy.
 *
 * The kind numbers are Lemon's (TK_* in the generated parser.h); 0 is the
 * end of input.  `line` and `col` are 1-based; `col` counts bytes.
 */
#ifndef MOE_TOKEN_H
#define MOE_TOKEN_H

#include <stdint.h>

typedef struct Token {
  int kind;
  const char *p;         /* first byte in the source text */
  uint32_t len;
  uint32_t line, col;
} Token;

#endif
