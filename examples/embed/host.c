/*
 * host.c — a small program embedding libmoe (docs/embedding.md).
 *
 * It hands the interpreter a router weight matrix and a list of
 * temperatures of its own, runs a script that computes the boundary
 * density of the router and the soft and hard risks of a two-expert model
 * along the temperatures, reads the density and the soft-risk column back,
 * and shows what an error looks like: a script with a typo fails with a
 * message and a position, and the state goes on working.
 *
 * Build against an installed libmoe and run:
 *
 *   cc host.c $(pkg-config --cflags --libs moe) -o host && ./host
 *
 * What you should see: the density C = 0.3969525475 (exact), one soft risk
 * per temperature approaching the hard risk as tau shrinks (the gap
 * shrinks like tau: -0.0035 at 0.01, -0.00035 at 0.001), and the typo
 * reported as "<host>:1:9: unknown name 'nrmal'" with a hint.
 */
#include <stdio.h>
#include <stdlib.h>

#include <moe.h>

/* Script output (print, report) arrives here; a GUI would append it to a
 * window instead. */
static void on_output(void *ud, const char *text, size_t len)
{
  (void)ud;
  fwrite(text, 1, len, stdout);
}

/* Each diagnostic, rendered like a compiler's; kept short here because the
 * host reads the details from moe_last_error below. */
static void on_error(void *ud, const char *text, size_t len)
{
  int *count = ud;
  (*count)++;
  (void)text;
  (void)len;
}

static const char SCRIPT[] =
    "law X = normal(mean = [0, 0], cov = [[1, 0.3], [0.3, 1]])\n"
    "router r = linear(W = W, b = [0.2, 0])       # W comes from the host\n"
    "expert f1 = affine(beta = [1, 0], c = 0.5)\n"
    "expert f2 = affine(beta = [0, 1], c = -0.5)\n"
    "model m = moe(router = r, experts = [f1, f2])\n"
    "target y(x) = 0.5 * x[0] + 0.2 * x[1] noise 0.1\n"
    "let density = boundary_density(r, X)\n"
    "let risks = risk(m, y, X, taus)              # taus too\n"
    "print \"the script ran; density\", density.value\n";

static int fail(moe_State *S, const char *what)
{
  const moe_Error *e = moe_last_error(S);
  fprintf(stderr, "host: %s: %s\n", what, e->message);
  moe_close(S);
  return 1;
}

int main(void)
{
  int errors = 0;
  moe_Config cfg;
  moe_config_init(&cfg);
  cfg.write = on_output;
  cfg.error = on_error;
  cfg.error_ud = &errors;
  moe_State *S = moe_open(&cfg);
  if (!S) {
    fprintf(stderr, "host: out of memory\n");
    return 1;
  }
  printf("libmoe %s\n", moe_version());

  /* Variables from the host: a 2 × 2 matrix (row-major) and a vector. */
  const double W[] = {1, 0.5, -1, 0.5};
  const double taus[] = {1, 0.1, 0.01, 0.001};
  if (moe_set_matrix(S, "W", W, 2, 2) != MOE_OK ||
      moe_set_vector(S, "taus", taus, sizeof taus / sizeof *taus) != MOE_OK)
    return fail(S, "defining variables");

  if (moe_run_string(S, SCRIPT, "<host>") != MOE_OK)
    return fail(S, "the script failed");

  /* A number field of a result, and a string one. */
  double C;
  const char *method;
  if (moe_result_value(S, "density", "value", &C) != MOE_OK ||
      moe_result_string(S, "density", "method", &method) != MOE_OK)
    return fail(S, "reading the density");
  printf("boundary density C = %.10f (%s)\n", C, method);

  /* Columns of the result's table: a row per temperature.  The
   * pointers stay valid until the next run or moe_set_* on this state. */
  const double *tau, *soft, *gap;
  size_t n, rows;
  double hard;
  if (moe_result_rows(S, "risks", &rows) != MOE_OK ||
      moe_result_column(S, "risks", "tau", &tau, &n, NULL) != MOE_OK ||
      moe_result_column(S, "risks", "soft", &soft, &n, NULL) != MOE_OK ||
      moe_result_column(S, "risks", "gap", &gap, &n, NULL) != MOE_OK ||
      moe_result_value(S, "risks", "hard", &hard) != MOE_OK)
    return fail(S, "reading the risks");
  printf("%zu rows:\n", rows);
  for (size_t i = 0; i < n; i++)
    printf("  tau = %-6g soft risk = %.6f  gap = %.6f\n", tau[i], soft[i], gap[i]);
  printf("  hard risk = %.6f\n", hard);

  /* Errors: a typo in a script, then a lookup of the wrong kind.  Neither
   * ends anything; the state keeps what it had. */
  if (moe_run_string(S, "let q = nrmal(dim = 2)\n", "<host>") != MOE_OK) {
    const moe_Error *e = moe_last_error(S);
    printf("error: %s:%d:%d: %s (hint: %s); %d diagnostic(s) reported\n", e->file, e->line,
           e->column, e->message, e->hint ? e->hint : "none", errors);
  }
  double x;
  if (moe_get_number(S, "taus", &x) != MOE_OK)
    printf("error: %s\n", moe_last_error(S)->message);
  if (moe_run_string(S, "print \"still working:\", len(taus), \"temperatures\"\n", "<host>") !=
      MOE_OK)
    return fail(S, "the state did not survive an error");

  moe_close(S);
  return 0;
}
