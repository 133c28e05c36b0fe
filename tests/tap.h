/*
 * tap.h — a tiny TAP producer for the C unit tests (run by automake's
 * tap-driver.sh).  Each test program includes this once, calls the check
 * macros, and returns tap_done().  A failing check prints the expression, the
 * values compared and the file:line, so a CI log alone says what broke.
 */
#ifndef MOE_TAP_H
#define MOE_TAP_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#include <stdarg.h>
static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
  va_list ap;
  tap_n++;
  printf("%s %d - ", cond ? "ok" : "not ok", tap_n);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  if (!cond) {
    tap_failed++;
    printf("#   failed at %s:%d\n", file, line);
  }
  fflush(stdout);
  return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* |got - want| <= tol */
#define ok_near(got, want, tol, ...)                                          \
  do {                                                                        \
    double g_ = (got), w_ = (want), t_ = (tol);                               \
    if (!tap_ok(fabs(g_ - w_) <= t_, __FILE__, __LINE__, __VA_ARGS__))        \
      printf("#   got %.17g, want %.17g (tol %.3g, off by %.3g)\n", g_, w_,   \
             t_, fabs(g_ - w_));                                              \
  } while (0)

/* relative error |got - want| <= tol * |want| */
#define ok_rel(got, want, tol, ...)                                           \
  do {                                                                        \
    double g_ = (got), w_ = (want), t_ = (tol);                               \
    if (!tap_ok(fabs(g_ - w_) <= t_ * fabs(w_), __FILE__, __LINE__,           \
                __VA_ARGS__))                                                 \
      printf("#   got %.17g, want %.17g (rel tol %.3g, rel err %.3g)\n", g_,  \
             w_, t_, fabs(g_ - w_) / fabs(w_));                               \
  } while (0)

#define ok_str(got, want, ...)                                                \
  do {                                                                        \
    const char *g_ = (got), *w_ = (want);                                     \
    if (!tap_ok(g_ && strcmp(g_, w_) == 0, __FILE__, __LINE__, __VA_ARGS__))  \
      printf("#   got  \"%s\"\n#   want \"%s\"\n", g_ ? g_ : "(null)", w_);   \
  } while (0)

static inline int tap_done(void)
{
  printf("1..%d\n", tap_n);
  return tap_failed ? 1 : 0;
}

#endif
