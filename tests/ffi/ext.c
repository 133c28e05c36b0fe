/*
 * ext.c — the C functions tests/ffi.py calls through `extern fn`.  The test
 * builds this file into a shared library at test time (cc -shared -fPIC).
 * Each function is written so that moe can compute the same numbers in the
 * language, bit for bit: one rounding per operation, no contraction.
 */
#include <math.h>

/* (x: vec) -> num: the product of the first two coordinates. */
double prod(const double *x, int dim)
{
  return dim >= 2 ? x[0] * x[1] : x[0];
}

/* (x: vec) -> num: a difference (a second expert). */
double diff(const double *x, int dim)
{
  (void)dim;
  return x[0] - x[1];
}

/* (x: vec) -> vec[3]: three logits. */
void logits(const double *x, int dim, double *out, int k)
{
  (void)dim;
  (void)k;
  out[0] = x[0];
  out[1] = -x[0];
  out[2] = x[1];
}

/* (x: vec) -> vec: the vector doubled (as long as x). */
void twice(const double *x, int dim, double *out, int k)
{
  for (int i = 0; i < dim && i < k; i++)
    out[i] = 2 * x[i];
}

/* (a: num, b: num) -> num. */
double add2(double a, double b)
{
  return 10 * a + b;
}

/* (a: num, x: vec, b: num) -> num: arguments of mixed kinds in order. */
double mixed(double a, const double *x, int dim, double b)
{
  double s = 0;
  for (int i = 0; i < dim; i++)
    s += x[i];
  return a * 100 + s * 10 + b;
}

/* The batched form: (X: block) -> num, called once per block; counts its
 * calls (worker threads may call it at once). */
static long calls;

void prod_block(const double *X, long n, int dim, double *out)
{
  __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
  for (long i = 0; i < n; i++)
    out[i] = X[i * dim] * X[i * dim + 1];
}

/* () -> num: how many times prod_block ran. */
double block_calls(void)
{
  return (double)__atomic_load_n(&calls, __ATOMIC_RELAXED);
}

/* (X: block) -> vec[3]: the logits of `logits`, a block at a time. */
void logits_block(const double *X, long n, int dim, double *out, int k)
{
  for (long i = 0; i < n; i++)
    logits(X + i * dim, dim, out + i * k, k);
}

/* (x: vec) -> num: NaN on the right half-plane. */
double nan_right(const double *x, int dim)
{
  (void)dim;
  return x[0] > 0 ? NAN : x[0];
}

/* (a: num) -> num: the square root, NaN for a negative number. */
double root(double a)
{
  return sqrt(a);
}

/* (x: vec[3]) -> num: a declared size. */
double v3(const double *x, int dim)
{
  return dim == 3 ? x[0] + x[1] + x[2] : NAN;
}
