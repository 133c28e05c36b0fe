/*
 * strbuf.h — a growable string for building messages, reports and dumps.
 *
 * Allocation goes through the runtime context.  On out-of-memory the buffer
 * becomes "failed": further appends do nothing and sb_take returns NULL, so
 * callers check once at the end instead of after every append.
 */
#ifndef MOE_STRBUF_H
#define MOE_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "rt.h"

typedef struct StrBuf {
  Rt *rt;
  char *s;
  size_t len, cap;
  int failed;
} StrBuf;

void sb_init(StrBuf *b, Rt *rt);
void sb_putn(StrBuf *b, const char *s, size_t n);
void sb_puts(StrBuf *b, const char *s);
void sb_putc(StrBuf *b, char c);
void sb_printf(StrBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(StrBuf *b, const char *fmt, va_list ap);
/* Appends x readably: integers below 1e15 in full ("1000000"), others in the
 * shortest %g form that reads back as x; nan, inf and -inf spelled out. */
void sb_num(StrBuf *b, double x);
/* Returns the NUL-terminated string (caller frees with rt_free) or NULL if
 * any append failed; the buffer is reset either way. */
char *sb_take(StrBuf *b);
/* Frees the contents; the buffer can be reused. */
void sb_free(StrBuf *b);
/* The current contents ("" when empty); valid until the next append. */
const char *sb_str(const StrBuf *b);

#endif
