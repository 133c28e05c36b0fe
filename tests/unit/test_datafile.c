/*
 * test_datafile.c — TAP tests for runtime/datafile.c (.npy and CSV loading).
 *
 * Every input is made at test time in a fresh temporary directory, which the
 * test enters so that error messages carry short, fixed file names and can be
 * compared as golden strings.  .npy files are written byte by byte from C
 * and, when /usr/bin/python3 has numpy, also by numpy itself (those checks
 * are reported as SKIP otherwise).  An allocator that fails after N
 * allocations checks that every failure point returns "out of memory" and
 * leaks nothing.  Large files are loaded and checked for their values; how
 * long that takes is printed as a comment, never asserted (load times are
 * measured by make bench, docs/benchmarks.md).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "datafile.h"
#include "tap.h"

#include <errno.h>
#include <float.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


/* ------------------------------------------------------------ helpers */

static void skip(int n, const char *why)
{
  for (int i = 0; i < n; i++)
    printf("ok %d # SKIP %s\n", ++tap_n, why);
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void write_bytes(const char *name, const void *p, size_t n)
{
  FILE *f = fopen(name, "wb");
  if (!f || fwrite(p, 1, n, f) != n || fclose(f))
    printf("# cannot write %s: %s\n", name, strerror(errno));
}

static void write_text(const char *name, const char *text)
{
  write_bytes(name, text, strlen(text));
}

/* A .npy file: header padded so the data starts at a multiple of 64 plus
 * skew (skew != 0 makes a misaligned file). */
static void write_npy(const char *name, int major, const char *dict, int skew,
                      const void *data, size_t n)
{
  size_t pre = major == 1 ? 10 : 12, len = strlen(dict) + 1;
  size_t pad = (64 - (pre + len) % 64) % 64 + (size_t)skew, hlen = len + pad;
  unsigned char *buf = malloc(pre + hlen + n);
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (unsigned char)major;
  buf[7] = 0;
  for (size_t i = 0; i < pre - 8; i++)
    buf[8 + i] = (unsigned char)(hlen >> (8 * i));
  memcpy(buf + pre, dict, len - 1);
  memset(buf + pre + len - 1, ' ', pad);
  buf[pre + hlen - 1] = '\n';
  if (n)
    memcpy(buf + pre + hlen, data, n);
  write_bytes(name, buf, pre + hlen + n);
  free(buf);
}

static int load(Rt *rt, const char *path, DataMatrix *m)
{
  RtStatus s = data_load(rt, path, m);
  if (s)
    printf("#   %s: %s\n", path, rt->msg);
  return s == RT_OK;
}

static int same_bits(const double *a, const double *b, size_t n)
{
  return memcmp(a, b, n * sizeof *a) == 0;
}

/* The data is the file's bytes where they were read (past the header),
 * not a converted copy at the start of its own block. */
static int as_read(const DataMatrix *m)
{
  return m->heap && (const char *)m->data != (const char *)m->heap;
}

static int is_zeroed(const DataMatrix *m)
{
  DataMatrix z;
  memset(&z, 0, sizeof z);
  return memcmp(m, &z, sizeof z) == 0;
}

/* Two checks: the status (and a zeroed result), then the exact message. */
static void expect_err(const char *path, RtStatus want, const char *msg)
{
  Rt rt;
  DataMatrix m;
  rt_init(&rt);
  memset(&m, 0xAB, sizeof m);
  RtStatus s = data_load(&rt, path, &m);
  ok(s == want && is_zeroed(&m), "%s: status %d, result zeroed (got %d)", path,
     want, s);
  ok_str(rt.msg, msg, "%s: message", path);
  data_free(&rt, &m);
}

/* ---------------------------------------------------------------- CSV */

/* Awkward doubles: random bit patterns plus the edges of the format. */
static void awkward_doubles(double *x, size_t n)
{
  static const double edge[] = { 0.1, -0.0, 5e-324, DBL_MAX, -DBL_MAX, DBL_MIN,
                                 1e-3, -0.5, 2.2250738585072009e-308, 1.0 / 3 };
  uint64_t s = 0x9E3779B97F4A7C15u;
  size_t i = 0;
  for (; i < n && i < sizeof edge / sizeof *edge; i++)
    x[i] = edge[i];
  while (i < n) {
    s = s * 6364136223846793005u + 1442695040888963407u;
    uint64_t u = s ^ (s >> 29);
    memcpy(&x[i], &u, sizeof u);
    i += isfinite(x[i]) != 0;
  }
}

static void test_csv_roundtrip(void)
{
  enum { R = 50, C = 7 };
  double want[R * C];
  Rt rt;
  DataMatrix m;
  FILE *f = fopen("roundtrip.csv", "w");
  awkward_doubles(want, R * C);
  for (int i = 0; i < R; i++)
    for (int j = 0; j < C; j++)
      fprintf(f, "%.17g%s", want[i * C + j], j + 1 < C ? "," : "\n");
  fclose(f);
  rt_init(&rt);
  ok(load(&rt, "roundtrip.csv", &m) && m.rows == R && m.cols == C && !m.is_vector &&
     !m.names, "CSV %dx%d of awkward doubles loads as a matrix, no header", R, C);
  ok(m.data && same_bits(m.data, want, R * C), "CSV %%.17g values read back bit-identical");
  data_free(&rt, &m);
  ok(is_zeroed(&m), "data_free leaves the struct zeroed");
  data_free(&rt, &m);
}

static void test_csv_syntax(void)
{
  Rt rt;
  DataMatrix m;
  rt_init(&rt);
  write_text("forms.csv", "1e-3, -.5 ,+2.,3E+2\n  7 ,\"8.25\",\" -9 \",0010\n");
  ok(load(&rt, "forms.csv", &m) && m.rows == 2 && m.cols == 4 && m.data[0] == 1e-3 &&
     m.data[1] == -.5 && m.data[2] == 2.0 && m.data[3] == 300.0 && m.data[4] == 7 &&
     m.data[5] == 8.25 && m.data[6] == -9 && m.data[7] == 10,
     "number forms, blanks around fields, quoted numbers");
  data_free(&rt, &m);

  write_text("crlf.csv", "a,b\r\n1,2\r\n3,4\r\n\r\n\r\n");
  ok(load(&rt, "crlf.csv", &m) && m.rows == 2 && m.cols == 2 && m.data[3] == 4 &&
     m.names && !strcmp(m.names[1], "b"), "CRLF line ends and trailing blank lines");
  data_free(&rt, &m);

  write_text("nonl.csv", "1,2\n3,4");
  ok(load(&rt, "nonl.csv", &m) && m.rows == 2 && m.data[3] == 4, "no final newline");
  data_free(&rt, &m);

  write_text("comments.csv", "# made by hand\n\n1,2\n   \n# more\n3,4\n\n");
  ok(load(&rt, "comments.csv", &m) && m.rows == 2 && m.cols == 2 && m.data[2] == 3,
     "'#' lines and blank lines are skipped anywhere");
  data_free(&rt, &m);

  write_text("bom.csv", "\xEF\xBB\xBFx,y\n1,2\n");
  ok(load(&rt, "bom.csv", &m) && m.names && !strcmp(m.names[0], "x"),
     "a UTF-8 BOM is skipped");
  data_free(&rt, &m);
}

static void test_csv_header(void)
{
  Rt rt;
  DataMatrix m;
  rt_init(&rt);
  write_text("header.csv", "a, b ,\"c,d\",\"e\"\"f\"\n1,2,3,4\n5,6,7,8\n");
  ok(load(&rt, "header.csv", &m) && m.rows == 2 && m.cols == 4 && m.names &&
     !strcmp(m.names[0], "a") && !strcmp(m.names[1], "b") &&
     !strcmp(m.names[2], "c,d") && !strcmp(m.names[3], "e\"f") && m.data[7] == 8,
     "header names: trimmed, quoted with a comma, with a doubled quote");
  data_free(&rt, &m);

  write_text("mixed.csv", "x,1\n2,3\n");
  ok(load(&rt, "mixed.csv", &m) && m.rows == 1 && m.names && !strcmp(m.names[1], "1"),
     "a first row with any non-number is a header");
  data_free(&rt, &m);

  write_text("pandas.csv", ",a,b\n0,1.5,2.5\n1,3.5,4.5\n");
  ok(load(&rt, "pandas.csv", &m) && m.rows == 2 && m.cols == 3 && m.names &&
     !strcmp(m.names[0], "") && m.data[5] == 4.5, "pandas header with an empty index name");
  data_free(&rt, &m);

  write_text("vector.csv", "y\n1\n2\n3\n");
  ok(load(&rt, "vector.csv", &m) && m.is_vector && m.rows == 3 && m.cols == 1 &&
     m.names && !strcmp(m.names[0], "y") && m.data[2] == 3,
     "one column is a vector (with its header name)");
  data_free(&rt, &m);

  write_text("onerow.csv", "1,2,3\n");
  ok(load(&rt, "onerow.csv", &m) && !m.is_vector && m.rows == 1 && m.cols == 3 &&
     !m.names, "one row is a 1x3 matrix");
  data_free(&rt, &m);
}

static void test_csv_separators(void)
{
  Rt rt;
  DataMatrix m;
  rt_init(&rt);
  write_text("tabs.tsv", "a b\tc\n 1\t2 \n");
  ok(load(&rt, "tabs.tsv", &m) && m.cols == 2 && m.names && !strcmp(m.names[0], "a b") &&
     m.data[1] == 2, ".tsv splits on tabs");
  data_free(&rt, &m);

  write_text("tabs.txt", "1\t2\t3\n4\t5\t6\n");
  ok(load(&rt, "tabs.txt", &m) && m.rows == 2 && m.cols == 3 && m.data[5] == 6,
     ".txt with tabs and no comma is tab-separated");
  data_free(&rt, &m);

  write_text("plainfile", "1,2\n3,4\n");
  ok(load(&rt, "plainfile", &m) && m.rows == 2 && m.data[3] == 4,
     "a name without extension and no NumPy magic is read as CSV");
  data_free(&rt, &m);

  if (!setlocale(LC_NUMERIC, "de_DE.UTF-8") && !setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
    skip(1, "no locale with a decimal comma installed");
    return;
  }
  ok(load(&rt, "forms.csv", &m) && m.data[5] == 8.25,
     "numbers read with '.' under a decimal-comma locale");
  data_free(&rt, &m);
  setlocale(LC_NUMERIC, "C");
}

static void write_hidden_csv(void)
{
  FILE *f = fopen("hidden.csv", "w");
  fprintf(f, "a,b,c\n");
  for (int i = 2; i < 1042; i++)
    fprintf(f, "%d,%d.5,%d\n", i, i, -i);
  fprintf(f, "1,2.5,\"1,2e\"\n");
  fclose(f);
}

static void test_csv_errors(void)
{
  write_hidden_csv();
  expect_err("hidden.csv", RT_EIO, "hidden.csv:1042:7: not a number: \"1,2e\"");

  FILE *f = fopen("count.csv", "w");
  fprintf(f, "# four columns\n1,2,3,4\n");
  for (int i = 3; i < 17; i++)
    fprintf(f, "%d,2,3,4\n", i);
  fprintf(f, "1,2,3\n");
  fclose(f);
  expect_err("count.csv", RT_EIO, "count.csv:17:1: row has 3 fields; expected 4 (as in line 2)");
  write_text("more.csv", "a,b\n1,2\n  3,4,5\n");
  expect_err("more.csv", RT_EIO, "more.csv:3:1: row has 3 fields; expected 2 (as in line 1)");

  write_text("empty.csv", "");
  expect_err("empty.csv", RT_EIO, "empty.csv: empty file (no rows)");
  write_text("blank.csv", "\n  \n# nothing\n\r\n");
  expect_err("blank.csv", RT_EIO, "blank.csv: empty file (no rows)");
  write_text("onlyhead.csv", "a,b\n\n");
  expect_err("onlyhead.csv", RT_EIO, "onlyhead.csv: no data rows (only a header)");

  write_bytes("nul.csv", "1,2\n3,4\n5,6\n7,8\n9,\0\n", 19);
  expect_err("nul.csv", RT_EIO, "nul.csv:5:3: NUL byte in file");
  write_bytes("nulutf8.csv", "x,y\n1,\"\xC3\xA9\"\0", 11);
  expect_err("nulutf8.csv", RT_EIO, "nulutf8.csv:2:6: NUL byte in file");

  write_text("unterminated.csv", "a,\"b\n1,2\n");
  expect_err("unterminated.csv", RT_EIO, "unterminated.csv:1:3: unterminated quoted field");
  write_text("afterquote.csv", "1,2\n\"3\"x,4\n");
  expect_err("afterquote.csv", RT_EIO, "afterquote.csv:2:4: unexpected text after a closing quote");

  write_text("nan.csv", "1,2\n3,nan\n");
  expect_err("nan.csv", RT_EIO, "nan.csv:2:3: NaN not allowed: \"nan\"");
  write_text("nanfirst.csv", "1, NaN\n3,4\n");
  expect_err("nanfirst.csv", RT_EIO, "nanfirst.csv:1:4: NaN not allowed: \"NaN\"");
  write_text("inf.csv", "1,2\n3,\"-Infinity\"\n");
  expect_err("inf.csv", RT_EIO, "inf.csv:2:3: Inf not allowed: \"-Infinity\"");
  write_text("range.csv", "1,2\n1e999,4\n");
  expect_err("range.csv", RT_EIO, "range.csv:2:1: number out of range: \"1e999\"");
  write_text("hex.csv", "1,2\n3,0x10\n");
  expect_err("hex.csv", RT_EIO, "hex.csv:2:3: not a number: \"0x10\"");
  write_text("emptyfield.csv", "1,2,3\n4,,6\n");
  expect_err("emptyfield.csv", RT_EIO, "emptyfield.csv:2:3: empty field");
  write_text("trailing.csv", "1,2,\n");
  expect_err("trailing.csv", RT_EIO, "trailing.csv:1:5: empty field");
  write_text("spaces.csv", "1,2\n3,4 5\n");
  expect_err("spaces.csv", RT_EIO, "spaces.csv:2:3: not a number: \"4 5\"");
}

/* ---------------------------------------------------------------- .npy */

static const char *F8_3x4 = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";

static void test_npy_float64(void)
{
  double c[12], fo[12];
  Rt rt;
  DataMatrix m;
  rt_init(&rt);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++) {
      c[i * 4 + j] = i * 4 + j + 0.25;
      fo[j * 3 + i] = i * 4 + j + 0.25;
    }
  write_npy("c.npy", 1, F8_3x4, 0, c, sizeof c);
  ok(load(&rt, "c.npy", &m) && m.rows == 3 && m.cols == 4 && !m.is_vector &&
     same_bits(m.data, c, 12), "v1.0 float64 C order 3x4");
  ok(as_read(&m), "little-endian float64 C order is used as read, not converted");
  data_free(&rt, &m);

  write_npy("f.npy", 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 4), }", 0,
            fo, sizeof fo);
  ok(load(&rt, "f.npy", &m) && m.rows == 3 && m.cols == 4 && same_bits(m.data, c, 12),
     "v1.0 float64 Fortran order is transposed into C order");
  data_free(&rt, &m);

  write_npy("skew.npy", 1, F8_3x4, 3, c, sizeof c);
  ok(load(&rt, "skew.npy", &m) && same_bits(m.data, c, 12) && !as_read(&m),
     "data at a misaligned offset is copied and still right");
  data_free(&rt, &m);

  write_npy("v2.npy", 2, F8_3x4, 0, c, sizeof c);
  write_npy("v3.npy", 3, "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (3L, 4L)}",
            0, c, sizeof c);
  ok(load(&rt, "v2.npy", &m) && same_bits(m.data, c, 12), "v2.0 header");
  data_free(&rt, &m);
  ok(load(&rt, "v3.npy", &m) && same_bits(m.data, c, 12),
     "v3.0 header, double quotes, no trailing comma, 3L");
  data_free(&rt, &m);

  write_npy("noext", 1, F8_3x4, 0, c, sizeof c);
  ok(load(&rt, "noext", &m) && m.rows == 3 && same_bits(m.data, c, 12),
     "NumPy magic is sniffed when the name has no known extension");
  data_free(&rt, &m);
}

static void test_npy_shapes(void)
{
  double v[5] = { -2, -1, 0, 1, 2.5 };
  unsigned char extra[sizeof v + 7];
  Rt rt;
  DataMatrix m;
  rt_init(&rt);
  write_npy("vec.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", 0,
            v, sizeof v);
  ok(load(&rt, "vec.npy", &m) && m.is_vector && m.rows == 5 && m.cols == 1 &&
     same_bits(m.data, v, 5), "shape (5,) is a vector: rows 5, cols 1");
  data_free(&rt, &m);

  write_npy("col.npy", 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (5, 1), }", 0,
            v, sizeof v);
  ok(load(&rt, "col.npy", &m) && !m.is_vector && m.rows == 5 && m.cols == 1 &&
     same_bits(m.data, v, 5) && as_read(&m), "shape (5, 1) is a matrix; Fortran column used as read");
  data_free(&rt, &m);

  memcpy(extra, v, sizeof v);
  memset(extra + sizeof v, 0x5A, 7);
  write_npy("extra.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", 0,
            extra, sizeof extra);
  ok(load(&rt, "extra.npy", &m) && m.rows == 5 && same_bits(m.data, v, 5),
     "bytes after the array are ignored, as numpy does");
  data_free(&rt, &m);
}

static void swap8(void *p)
{
  unsigned char *b = p;
  for (int i = 0; i < 4; i++) {
    unsigned char t = b[i];
    b[i] = b[7 - i];
    b[7 - i] = t;
  }
}

static void test_npy_dtypes(void)
{
  float f4[6] = { 0.5f, -1.25f, 3e-5f, 1e30f, 0, 7 };
  int32_t i4[4] = { -1, 2, INT32_MIN, INT32_MAX };
  int64_t i8[2] = { -((int64_t)1 << 53), 123456789012345 };
  uint8_t u1[3] = { 0, 200, 255 };
  double be[3] = { 1.5, -2.0 / 3, 1e-300 }, be_raw[3];
  Rt rt;
  DataMatrix m;
  rt_init(&rt);
  write_npy("f4.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0,
            f4, sizeof f4);
  ok(load(&rt, "f4.npy", &m) && m.rows == 2 && m.cols == 3 && m.data[0] == 0.5 &&
     m.data[1] == -1.25 && m.data[2] == (double)3e-5f && m.data[3] == (double)1e30f &&
     m.data[5] == 7, "float32 converted exactly to double");
  data_free(&rt, &m);

  write_npy("i4.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }", 0,
            i4, sizeof i4);
  ok(load(&rt, "i4.npy", &m) && m.is_vector && m.data[0] == -1 && m.data[2] == INT32_MIN &&
     m.data[3] == INT32_MAX, "int32 converted");
  data_free(&rt, &m);

  write_npy("i8.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 0,
            i8, sizeof i8);
  write_npy("u1.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 3), }", 0,
            u1, sizeof u1);
  ok(load(&rt, "i8.npy", &m) && m.data[0] == -9007199254740992.0 &&
     m.data[1] == 123456789012345.0, "int64 converted");
  data_free(&rt, &m);
  ok(load(&rt, "u1.npy", &m) && m.rows == 1 && m.cols == 3 && m.data[1] == 200 &&
     m.data[2] == 255, "uint8 ('|u1') converted");
  data_free(&rt, &m);

  memcpy(be_raw, be, sizeof be);
  for (int i = 0; i < 3; i++)
    swap8(&be_raw[i]);
  write_npy("be.npy", 1, "{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }", 0,
            be_raw, sizeof be_raw);
  ok(load(&rt, "be.npy", &m) && same_bits(m.data, be, 3) && !as_read(&m),
     "big-endian float64 byte-swapped");
  data_free(&rt, &m);
}

static void test_npy_nonfinite(void)
{
  double z[20 * 5] = { 0 }, fo[3 * 2] = { 1, 2, 3, 4, 5, 6 };
  float v[9] = { 0 };
  z[12 * 5 + 3] = NAN;
  z[19 * 5 + 4] = INFINITY;
  write_npy("W.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (20, 5), }", 0,
            z, sizeof z);
  expect_err("W.npy", RT_EIO, "W.npy: element [12, 3] is NaN");
  v[7] = -INFINITY;
  write_npy("inf.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (9,), }", 0,
            v, sizeof v);
  expect_err("inf.npy", RT_EIO, "inf.npy: element [7] is -Inf");
  fo[4] = INFINITY;   /* Fortran (3, 2): element 4 is row 1, column 1 */
  write_npy("finf.npy", 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 2), }", 0,
            fo, sizeof fo);
  expect_err("finf.npy", RT_EIO, "finf.npy: element [1, 1] is Inf");
}

static void npy_dict_err(const char *name, const char *dict, const char *msg)
{
  static const double d[8] = { 0 };
  write_npy(name, 1, dict, 0, d, sizeof d);
  expect_err(name, RT_EIO, msg);
}

static void test_npy_errors(void)
{
  static const unsigned char tiny[1000] = { 0 };
  unsigned char head[20];
  write_text("magic.npy", "hello, world\n");
  expect_err("magic.npy", RT_EIO, "magic.npy: not a NumPy file (bad magic)");
  write_text("zero.npy", "");
  expect_err("zero.npy", RT_EIO, "zero.npy: empty file");
  write_npy("trunc.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4096, 256), }",
            0, tiny, sizeof tiny);
  expect_err("trunc.npy", RT_EIO,
             "trunc.npy: truncated: header says 4096×256 float64 (8388608 bytes of data) "
             "but only 1000 bytes follow the header");
  write_npy("header.npy", 1, F8_3x4, 0, NULL, 0);
  FILE *f = fopen("header.npy", "rb");
  size_t got = fread(head, 1, sizeof head, f);
  fclose(f);
  write_bytes("cuthead.npy", head, got);
  expect_err("cuthead.npy", RT_EIO, "cuthead.npy: truncated header");
  head[6] = 4;
  write_bytes("v4.npy", head, got);
  expect_err("v4.npy", RT_EIO, "v4.npy: unsupported .npy format version 4.0");

  npy_dict_err("c16.npy", "{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }",
               "c16.npy: unsupported dtype '<c16'");
  npy_dict_err("rec.npy", "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }",
               "rec.npy: unsupported dtype (a structured array)");
  npy_dict_err("d3.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2, 2), }",
               "d3.npy: 3-dimensional array; expected a vector or a matrix");
  npy_dict_err("d0.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
               "d0.npy: 0-dimensional array; expected a vector or a matrix");
  npy_dict_err("e.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 5), }",
               "e.npy: empty array (0×5)");
  npy_dict_err("big.npy",
               "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }",
               "big.npy: array too large (1099511627776×1099511627776)");
  npy_dict_err("noshape.npy", "{'descr': '<f8', 'fortran_order': False}",
               "noshape.npy: malformed header: no 'shape'");
  npy_dict_err("key.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}",
               "key.npy: malformed header: unknown key 'x'");
  npy_dict_err("shape.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1 2)}",
               "shape.npy: malformed header: bad 'shape'");
  /* Each way the header dict can be malformed, with its own message. */
  npy_dict_err("list.npy", "['descr', '<f8']", "list.npy: malformed header: expected '{'");
  npy_dict_err("descr5.npy", "{'descr': 5, 'fortran_order': False, 'shape': (2,), }",
               "descr5.npy: malformed header: 'descr' is not a string");
  npy_dict_err("order0.npy", "{'descr': '<f8', 'fortran_order': 0, 'shape': (2,), }",
               "order0.npy: malformed header: 'fortran_order' is not True or False");
  npy_dict_err("shapelist.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': [2], }",
               "shapelist.npy: malformed header: 'shape' is not a tuple");
  npy_dict_err("nocomma.npy", "{'descr': '<f8' 'fortran_order': False, 'shape': (2,), }",
               "nocomma.npy: malformed header: expected ',' or '}'");
  npy_dict_err("nocolon.npy", "{'descr' '<f8', 'fortran_order': False, 'shape': (2,), }",
               "nocolon.npy: malformed header: expected 'key': value");
  npy_dict_err("nodescr.npy", "{'fortran_order': False, 'shape': (2,), }",
               "nodescr.npy: malformed header: no 'descr'");
  npy_dict_err("after.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), } 7",
               "after.npy: malformed header: text after the dict");
  write_text("arch.npz", "PK");
  expect_err("arch.npz", RT_EIO,
             "arch.npz: .npz archives are not supported; save one array with np.save");
}

/* ------------------------------------------------------- file system */

static void test_files(void)
{
  mkdir("adir.csv", 0755);
  mkdir("adir", 0755);
  expect_err("nope.npy", RT_EIO, "cannot open 'nope.npy': No such file or directory");
  expect_err("adir.csv", RT_EIO, "cannot open 'adir.csv': Is a directory");
  expect_err("adir", RT_EIO, "cannot open 'adir': Is a directory");
  expect_err("/dev/null", RT_EIO, "cannot open '/dev/null': not a regular file");
  write_text("secret.csv", "1\n");
  chmod("secret.csv", 0);
  if (geteuid() == 0) {
    skip(2, "running as root: permissions do not apply");
    return;
  }
  expect_err("secret.csv", RT_EIO, "cannot open 'secret.csv': Permission denied");
}

/* --------------------------------------------------- allocation failure */

typedef struct FailAlloc {
  long left;   /* allocations still allowed */
  long live;   /* blocks currently held */
} FailAlloc;

static void *fail_realloc(void *p, size_t n, void *ud)
{
  FailAlloc *fa = ud;
  if (n == 0) {
    fa->live -= p != NULL;
    free(p);
    return NULL;
  }
  if (fa->left-- <= 0)
    return NULL;
  void *q = realloc(p, n);
  fa->live += q && !p;
  return q;
}

/* Fails the 1st, 2nd, ... allocation until a load succeeds; every failure
 * must be RT_ENOMEM "out of memory" with nothing left allocated. */
static void sweep_failures(const char *path)
{
  int bad = 0, n;
  for (n = 0; n < 100; n++) {
    FailAlloc fa = { n, 0 };
    Rt rt;
    DataMatrix m;
    rt_init(&rt);
    rt.realloc_fn = fail_realloc;
    rt.alloc_ud = &fa;
    RtStatus s = data_load(&rt, path, &m);
    if (s && (s != RT_ENOMEM || strncmp(rt.msg, "out of memory", 13) || fa.live)) {
      printf("#   failing allocation %d: status %d, \"%s\", %ld live\n", n, s, rt.msg,
             fa.live);
      bad++;
    }
    data_free(&rt, &m);
    bad += fa.live != 0;
    if (!s)
      break;
  }
  ok(!bad && n < 100, "%s: each of %d allocation failures is clean", path, n);
}

static void test_alloc_failures(void)
{
  FILE *f = fopen("grow.csv", "w");
  fprintf(f, "a,b,c\n");
  for (int i = 0; i < 5000; i++)
    fprintf(f, "%d,%d,%d\n", i, 2 * i, 3 * i);
  fclose(f);
  sweep_failures("grow.csv");
  sweep_failures("f4.npy");
  sweep_failures("c.npy");
}

/* ------------------------------------------------------- large files */

enum { BIG_R = 4096, BIG_C = 256 };

static double big_value(size_t i, size_t j)
{
  return (double)(i * BIG_C + j) / 7.0;
}

static int big_ok(const DataMatrix *m)
{
  if (m->rows != BIG_R || m->cols != BIG_C)
    return 0;
  for (size_t i = 0; i < BIG_R; i += 97)
    for (size_t j = 0; j < BIG_C; j += 13)
      if (m->data[i * BIG_C + j] != big_value(i, j))
        return 0;
  return m->data[BIG_R * BIG_C - 1] == big_value(BIG_R - 1, BIG_C - 1);
}

static void timed_load(const char *path, const char *what)
{
  Rt rt;
  DataMatrix m;
  rt_init(&rt);
  double t = now();
  int loaded = load(&rt, path, &m);
  t = now() - t;
  printf("# %s 4096x256 loaded in %.1f ms\n", what, t * 1e3);
  ok(loaded && big_ok(&m), "%s 4096x256 values right", what);
  data_free(&rt, &m);
}

static void test_speed(void)
{
  FILE *f = fopen("big.csv", "w");
  double *row = malloc(BIG_R * BIG_C * sizeof *row);
  for (size_t i = 0; i < BIG_R; i++)
    for (size_t j = 0; j < BIG_C; j++) {
      row[i * BIG_C + j] = big_value(i, j);
      fprintf(f, "%.17g%c", big_value(i, j), j + 1 < BIG_C ? ',' : '\n');
    }
  fclose(f);
  write_npy("big.npy", 1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4096, 256), }", 0, row,
            BIG_R * BIG_C * sizeof *row);
  free(row);
  timed_load("big.csv", "CSV");
  timed_load("big.npy", ".npy (from C)");
}

/* --------------------------------------------------------------- numpy */

enum { NUMPY_CHECKS = 19 };

static const char *NUMPY_SCRIPT =
    "import numpy as np\n"
    "np.save(\"np_big.npy\", np.arange(4096 * 256, dtype=np.float64).reshape(4096, 256) / 7.0)\n"
    "np.save(\"np_f.npy\", np.asfortranarray(np.arange(12.0).reshape(3, 4) * 0.5))\n"
    "np.save(\"np_f4.npy\", np.arange(6, dtype=np.float32).reshape(2, 3) / np.float32(4))\n"
    "np.save(\"np_vec.npy\", np.arange(5.0) - 2)\n"
    "np.save(\"np_be.npy\", (np.arange(6.0).reshape(2, 3) / 3).astype(\">f8\"))\n"
    "np.save(\"np_i4.npy\", np.array([[-1, 2], [3, -2147483648]], dtype=np.int32))\n"
    "z = np.zeros((20, 5)); z[12, 3] = np.nan; np.save(\"np_nan.npy\", z)\n"
    "np.save(\"np_c16.npy\", np.zeros((2, 2), dtype=np.complex128))\n"
    "np.save(\"np_3d.npy\", np.zeros((2, 2, 2)))\n"
    "np.save(\"np_0d.npy\", np.float64(3))\n"
    "with open(\"np_v2.npy\", \"wb\") as f:\n"
    "    np.lib.format.write_array(f, np.arange(4.0).reshape(2, 2), version=(2, 0))\n"
    "np.savetxt(\"np_txt.csv\", np.arange(6.0).reshape(2, 3) / 7, fmt=\"%.17g\",\n"
    "           delimiter=\",\", header=\"a,b,c\", comments=\"\")\n";

static int have_numpy(void)
{
  return access("/usr/bin/python3", X_OK) == 0 &&
         system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

static int run_numpy_script(void)
{
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c '%s'", NUMPY_SCRIPT);
  return system(cmd) == 0;
}

static void test_numpy_small(Rt *rt)
{
  DataMatrix m;
  ok(load(rt, "np_f.npy", &m) && m.rows == 3 && m.cols == 4 && m.data[1] == 0.5 &&
     m.data[4] == 2.0 && m.data[11] == 5.5, "numpy Fortran-order array transposed");
  data_free(rt, &m);
  ok(load(rt, "np_f4.npy", &m) && m.data[1] == 0.25 && m.data[5] == 1.25, "numpy float32");
  data_free(rt, &m);
  ok(load(rt, "np_vec.npy", &m) && m.is_vector && m.rows == 5 && m.data[0] == -2,
     "numpy vector");
  data_free(rt, &m);
  ok(load(rt, "np_be.npy", &m) && m.data[1] == 1.0 / 3 && m.data[5] == 5.0 / 3,
     "numpy big-endian float64");
  data_free(rt, &m);
  ok(load(rt, "np_i4.npy", &m) && m.data[0] == -1 && m.data[3] == -2147483648.0,
     "numpy int32");
  data_free(rt, &m);
  ok(load(rt, "np_v2.npy", &m) && m.rows == 2 && m.data[3] == 3, "numpy format 2.0");
  data_free(rt, &m);
  ok(load(rt, "np_txt.csv", &m) && m.rows == 2 && m.cols == 3 && m.names &&
     !strcmp(m.names[2], "c") && m.data[4] == 4.0 / 7, "numpy savetxt CSV with header");
  data_free(rt, &m);
}

static void test_numpy(void)
{
  Rt rt;
  DataMatrix m;
  if (!have_numpy()) {
    skip(NUMPY_CHECKS, "python3 with numpy not available");
    return;
  }
  int start = tap_n;
  rt_init(&rt);
  ok(run_numpy_script(), "numpy wrote its test files");
  timed_load("np_big.npy", ".npy (from numpy)");
  ok(load(&rt, "np_big.npy", &m) && as_read(&m) && m.data[1234 * 256 + 56] == big_value(1234, 56),
     "numpy (4096, 256) float64 used as read; element [1234, 56] exact");
  data_free(&rt, &m);
  test_numpy_small(&rt);
  expect_err("np_nan.npy", RT_EIO, "np_nan.npy: element [12, 3] is NaN");
  expect_err("np_c16.npy", RT_EIO, "np_c16.npy: unsupported dtype '<c16'");
  expect_err("np_3d.npy", RT_EIO, "np_3d.npy: 3-dimensional array; expected a vector or a matrix");
  expect_err("np_0d.npy", RT_EIO, "np_0d.npy: 0-dimensional array; expected a vector or a matrix");
  ok(tap_n - start + 1 == NUMPY_CHECKS, "numpy section ran %d checks (NUMPY_CHECKS)", tap_n - start + 1);
}

/* ------------------------------------------------------------- I/O faults */

enum { RACE_R = 512, RACE_C = 64, RACE_LOADS = 400 };

static double race_value(size_t k)
{
  return (double)k / 3.0 + 1.0;
}

static void write_race_npy(const char *name)
{
  double *x = malloc(RACE_R * RACE_C * sizeof *x);
  for (size_t k = 0; k < RACE_R * RACE_C; k++)
    x[k] = race_value(k);
  write_npy(name, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (512, 64), }", 0, x,
            RACE_R * RACE_C * sizeof *x);
  free(x);
}

static int race_ok(const DataMatrix *m)
{
  if (m->rows != RACE_R || m->cols != RACE_C)
    return 0;
  for (size_t k = 0; k < RACE_R * RACE_C; k++)
    if (m->data[k] != race_value(k))
      return 0;
  return 1;
}

/* Another process cutting the file short (or emptying it) after the load
 * must not reach the loaded data: before files were read rather than
 * mapped, the sum below died of SIGBUS. */
static void test_truncated_after_load(void)
{
  Rt rt;
  DataMatrix m;
  rt_init(&rt);
  write_race_npy("cut.npy");
  int loaded = load(&rt, "cut.npy", &m);
  int cut = truncate("cut.npy", 0) == 0;
  ok(loaded && cut && race_ok(&m), "a .npy emptied by someone else after loading: data intact");
  data_free(&rt, &m);
  expect_err("cut.npy", RT_EIO, "cut.npy: empty file");
}

/* A writer that keeps cutting the file to half its data and restoring it,
 * while the loader loads it again and again: every load is either an array
 * of the right shape with finite values or the "truncated" error; never a
 * crash or a hang.  (The values themselves may mix old and new bytes: a
 * read racing a write of the same pages sees either, as any reader would;
 * the printed count says how many loads got exactly the original data.) */
typedef struct Racer {
  const char *path;
  size_t full, half;
  volatile int stop;
  long cycles;
} Racer;

static void *racer_main(void *arg)
{
  Racer *r = arg;
  int fd = open(r->path, O_RDWR);
  unsigned char *tail = malloc(r->full - r->half);
  if (fd < 0 || pread(fd, tail, r->full - r->half, (off_t)r->half) != (ssize_t)(r->full - r->half))
    r->stop = 1;
  while (!r->stop) {
    if (ftruncate(fd, (off_t)r->half))
      break;
    usleep(100);                  /* let some loads see each state */
    if (pwrite(fd, tail, r->full - r->half, (off_t)r->half) != (ssize_t)(r->full - r->half))
      break;
    usleep(100);
    r->cycles++;
  }
  free(tail);
  if (fd >= 0)
    close(fd);
  return NULL;
}

static void test_shrinking_during_reads(void)
{
  write_race_npy("race.npy");
  struct stat st;
  stat("race.npy", &st);
  Racer r = { "race.npy", (size_t)st.st_size, (size_t)st.st_size / 2, 0, 0 };
  pthread_t t;
  if (pthread_create(&t, NULL, racer_main, &r)) {
    skip(1, "cannot start a thread");
    return;
  }
  int whole = 0, mixed = 0, truncated = 0, wrong = 0;
  char first_wrong[RT_MSG_MAX + 64] = "";
  for (int i = 0; i < RACE_LOADS; i++) {
    Rt rt;
    DataMatrix m;
    rt_init(&rt);
    RtStatus s = data_load(&rt, "race.npy", &m);
    if (s == RT_OK && race_ok(&m))
      whole++;
    else if (s == RT_OK && m.rows == RACE_R && m.cols == RACE_C)
      mixed++;                    /* finite by data_load's own check */
    else if (s == RT_EIO && strncmp(rt.msg, "race.npy: truncated: ", 21) == 0)
      truncated++;
    else if (!wrong++)
      snprintf(first_wrong, sizeof first_wrong, "status %d: %s", s, rt.msg);
    data_free(&rt, &m);
  }
  r.stop = 1;
  pthread_join(t, NULL);
  printf("# %d loads of the original data, %d mixing old and new bytes, %d truncated, "
         "writer cycles %ld\n", whole, mixed, truncated, r.cycles);
  ok(wrong == 0 && whole + mixed + truncated == RACE_LOADS,
     "a .npy cut and restored during %d loads: each load a 512x64 array or 'truncated' "
     "(%d were not: %s)", RACE_LOADS, wrong, first_wrong);
}

/* A FIFO would block open() and read() until a writer comes; it is refused
 * before anything waits.  (If this hangs, the test harness's timeout says.) */
static void test_fifo(void)
{
  if (mkfifo("pipe.csv", 0600)) {
    skip(2, "cannot make a FIFO here");
    return;
  }
  expect_err("pipe.csv", RT_EIO, "cannot open 'pipe.csv': not a regular file");
}

/* Permissions do not stop root, so the unreadable-file check runs in a
 * child that has given up root for nobody. */
static void test_unreadable_as_nobody(void)
{
  write_text("locked.csv", "1,2\n");
  chmod("locked.csv", 0);
  if (geteuid() != 0)
    return;                       /* test_files checked it as this user */
  char dir[4096];
  if (!getcwd(dir, sizeof dir) || chmod(dir, 0711)) {
    skip(1, "cannot open the test directory to nobody");
    return;
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(65534) || setuid(65534))
      _exit(3);
    Rt rt;
    DataMatrix m;
    rt_init(&rt);
    RtStatus s = data_load(&rt, "locked.csv", &m);
    _exit(s == RT_EIO && strcmp(rt.msg, "cannot open 'locked.csv': Permission denied") == 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  chmod(dir, 0700);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
    skip(1, "cannot become nobody");
    return;
  }
  ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
     "a file nobody may read: \"cannot open 'locked.csv': Permission denied\" (status %d)", status);
}

static void test_io_faults(void)
{
  test_truncated_after_load();
  test_shrinking_during_reads();
  test_fifo();
  test_unreadable_as_nobody();
}

/* -------------------------------------------------------------- main */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st, (void)flag, (void)ftw;
  chmod(path, 0700);
  return remove(path);
}

int main(void)
{
  char dir[] = "/tmp/moe_datafile_XXXXXX", old[4096];
  if (!mkdtemp(dir) || !getcwd(old, sizeof old) || chdir(dir)) {
    printf("Bail out! cannot make a temporary directory: %s\n", strerror(errno));
    return 1;
  }
  test_csv_roundtrip();
  test_csv_syntax();
  test_csv_header();
  test_csv_separators();
  test_csv_errors();
  test_npy_float64();
  test_npy_shapes();
  test_npy_dtypes();
  test_npy_nonfinite();
  test_npy_errors();
  test_files();
  test_io_faults();
  test_alloc_failures();
  test_speed();
  test_numpy();
  if (chdir(old) || nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS))
    printf("# could not remove %s\n", dir);
  return tap_done();
}
