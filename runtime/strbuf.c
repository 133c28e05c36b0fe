/*
 * strbuf.c — growable strings (see strbuf.h).
 */
#include "strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_init(StrBuf *b, Rt *rt)
{
  memset(b, 0, sizeof *b);
  b->rt = rt;
}

static int reserve(StrBuf *b, size_t extra)
{
  if (b->failed)
    return 0;
  if (b->len + extra + 1 <= b->cap)
    return 1;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra + 1) {
    if (cap > SIZE_MAX / 2) {
      b->failed = 1;
      return 0;
    }
    cap *= 2;
  }
  char *s = rt_realloc(b->rt, b->s, cap);
  if (!s) {
    b->failed = 1;
    return 0;
  }
  b->s = s;
  b->cap = cap;
  return 1;
}

void sb_putn(StrBuf *b, const char *s, size_t n)
{
  if (!reserve(b, n))
    return;
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

void sb_puts(StrBuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

void sb_putc(StrBuf *b, char c) { sb_putn(b, &c, 1); }

void sb_vprintf(StrBuf *b, const char *fmt, va_list ap)
{
  va_list aq;
  va_copy(aq, ap);
  int n = vsnprintf(NULL, 0, fmt, aq);
  va_end(aq);
  if (n < 0 || !reserve(b, (size_t)n))
    return;
  vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
}

void sb_printf(StrBuf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  sb_vprintf(b, fmt, ap);
  va_end(ap);
}

void sb_num(StrBuf *b, double x)
{
  char tmp[40];
  if (isnan(x)) {
    sb_puts(b, "nan");
    return;
  }
  if (isinf(x)) {
    sb_puts(b, x > 0 ? "inf" : "-inf");
    return;
  }
  if (x == floor(x) && fabs(x) < 1e15) {
    snprintf(tmp, sizeof tmp, "%.0f", x == 0 ? 0.0 : x);   /* no "-0" */
    sb_puts(b, tmp);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, x);
    if (strtod(tmp, NULL) == x)
      break;
  }
  sb_puts(b, tmp);
}

char *sb_take(StrBuf *b)
{
  char *s = NULL;
  if (!b->failed) {
    s = b->s ? b->s : rt_strdup(b->rt, "");
    b->s = NULL;
  }
  sb_free(b);
  return s;
}

void sb_free(StrBuf *b)
{
  rt_free(b->rt, b->s);
  b->s = NULL;
  b->len = b->cap = 0;
  b->failed = 0;
}

const char *sb_str(const StrBuf *b) { return b->s ? b->s : ""; }
