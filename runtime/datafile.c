/*
 * datafile.c — the .npy and CSV readers behind data_load (see datafile.h).
 *
 * Three parts: file access (open, read whole), the .npy reader (a
 * small parser for the header's Python dict literal, then either the read
 * bytes are used as they are or each element is converted), and the CSV
 * reader (a hand-rolled scanner over the file read into one NUL-terminated
 * buffer; numbers go through strtod_l in the C locale after a strict syntax
 * check, with no allocation per field).  A final pass refuses NaN and Inf.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* strtod_l, newlocale, the GNU strerror_r */
#endif
#include "datafile.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_ORDER '>'
#else
#define HOST_ORDER '<'
#endif

/* ---------------------------------------------------------------- errors */

/* "path: what" — the form of every error about a whole file. */
static RtStatus ferr(Rt *rt, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static RtStatus ferr(Rt *rt, const char *path, const char *fmt, ...)
{
  char what[RT_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return rt_error(rt, RT_EIO, "%s: %s", path, what);
}

/* "cannot VERB 'path': strerror" with the thread-safe GNU strerror_r. */
static RtStatus syserr(Rt *rt, const char *verb, const char *path, int err)
{
  char buf[256];
  return rt_error(rt, RT_EIO, "cannot %s '%s': %s", verb, path,
                  strerror_r(err, buf, sizeof buf));
}

/* ----------------------------------------------------------- file access */

/* The bytes of one file, read into a block from the hook.  Files are read,
 * never mapped: a mapping turns another process truncating the file into
 * SIGBUS at some later access, and a library must not die of that. */
typedef struct Bytes {
  const unsigned char *p;
  size_t n;
  void *heap;
} Bytes;

static void bytes_release(Rt *rt, Bytes *b)
{
  rt_free(rt, b->heap);
  memset(b, 0, sizeof *b);
}

/* Opens a regular file for reading; directories, FIFOs and devices are
 * refused here so that every later read is of a plain file of known size.
 * O_NONBLOCK keeps open() itself from waiting for a FIFO's writer; it
 * changes nothing for the regular files that get past the check. */
static RtStatus open_file(Rt *rt, const char *path, int *fd, size_t *size)
{
  struct stat st;
  *fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (*fd < 0)
    return syserr(rt, "open", path, errno);
  int err = fstat(*fd, &st) ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
  if (!err && (uintmax_t)st.st_size >= SIZE_MAX)
    err = EFBIG;
  if (err || !S_ISREG(st.st_mode)) {
    close(*fd);
    return err ? syserr(rt, "open", path, err)
               : rt_error(rt, RT_EIO, "cannot open '%s': not a regular file", path);
  }
  *size = (size_t)st.st_size;
  return RT_OK;
}

/* Reads the whole file into one block with a NUL after the last byte, so
 * text parsing may call strtod on fields in place. */
static RtStatus read_all(Rt *rt, const char *path, int fd, size_t size, Bytes *b)
{
  unsigned char *buf = rt_alloc(rt, size + 1);
  size_t got = 0;
  if (!buf)
    return rt->status;
  while (got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int err = errno;
      rt_free(rt, buf);
      return syserr(rt, "read", path, err);
    }
    if (r == 0)
      break;   /* the file shrank meanwhile: take what is there */
    got += (size_t)r;
  }
  buf[got] = '\0';
  *b = (Bytes){ .p = buf, .n = got, .heap = buf };
  return RT_OK;
}

/* ------------------------------------------------------- finite check */

/* Index of the first NaN or infinity in x, or n.  Blocks are tested
 * branch-free (adding one to an all-ones exponent carries into bit 63) so
 * the usual all-finite case runs at memory speed. */
static size_t first_nonfinite(const double *x, size_t n)
{
  const uint64_t expo = 0x7ff0000000000000u, one = 0x0010000000000000u;
  for (size_t b = 0; b < n; b += 4096) {
    size_t e = n - b < 4096 ? n : b + 4096;
    uint64_t bad = 0;
    for (size_t k = b; k < e; k++) {
      uint64_t u;
      memcpy(&u, &x[k], sizeof u);
      bad |= (u & expo) + one;
    }
    if (bad >> 63)
      for (size_t k = b; k < e; k++)
        if (!isfinite(x[k]))
          return k;
  }
  return n;
}

static const char *nonfinite_name(double v)
{
  return isnan(v) ? "NaN" : v > 0 ? "Inf" : "-Inf";
}

/* The .npy NaN policy: report the first non-finite element by index. */
static RtStatus check_finite(Rt *rt, const char *path, const DataMatrix *m)
{
  size_t n = m->rows * m->cols, k = first_nonfinite(m->data, n);
  if (k == n)
    return RT_OK;
  if (m->is_vector)
    return ferr(rt, path, "element [%zu] is %s", k, nonfinite_name(m->data[k]));
  return ferr(rt, path, "element [%zu, %zu] is %s", k / m->cols, k % m->cols,
              nonfinite_name(m->data[k]));
}

/* ------------------------------------------------------------------ .npy */

/* What the header says. */
typedef struct Npy {
  char order;          /* '<' or '>' (host order for '|' and '=') */
  char kind;           /* 'f', 'i' or 'u' */
  size_t itemsize;
  int fortran;
  int ndim;
  size_t dim[2];
  size_t offset;       /* of the data from the start of the file */
  size_t rows, cols, count;
  int seen;            /* bit 1 descr, 2 fortran_order, 4 shape */
} Npy;

/* A cursor over the header text; nothing there is NUL-terminated. */
typedef struct Cur {
  const char *p, *end;
} Cur;

static void skip_ws(Cur *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' ||
                           *c->p == '\r'))
    c->p++;
}

static int eat(Cur *c, char ch)
{
  skip_ws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}

/* A Python string literal without escapes: '...' or "...". */
static int read_str(Cur *c, const char **s, size_t *n)
{
  skip_ws(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    return 0;
  const char *q = memchr(c->p + 1, *c->p, (size_t)(c->end - c->p - 1));
  if (!q)
    return 0;
  *s = c->p + 1;
  *n = (size_t)(q - *s);
  c->p = q + 1;
  return 1;
}

static int is_word_char(char ch)
{
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || ch == '_';
}

/* A bare word such as True, not a prefix of a longer one. */
static int read_word(Cur *c, const char *w)
{
  size_t n = strlen(w);
  skip_ws(c);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) ||
      (c->p + n < c->end && is_word_char(c->p[n])))
    return 0;
  c->p += n;
  return 1;
}

/* A non-negative integer that fits size_t, with Python 2's 'L' allowed. */
static int read_size(Cur *c, size_t *v)
{
  skip_ws(c);
  if (c->p >= c->end || *c->p < '0' || *c->p > '9')
    return 0;
  for (*v = 0; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++) {
    size_t d = (size_t)(*c->p - '0');
    if (*v > (SIZE_MAX - d) / 10)
      return 0;
    *v = *v * 10 + d;
  }
  if (c->p < c->end && *c->p == 'L')
    c->p++;
  return 1;
}

static RtStatus malformed(Rt *rt, const char *path, const char *what)
{
  return ferr(rt, path, "malformed header: %s", what);
}

/* "'<f8'" and the like: byte order, kind, item size. */
static int parse_descr(const char *s, size_t n, Npy *h)
{
  if (n < 3 || !strchr("<>|=", s[0]) || !strchr("fiu", s[1]))
    return 0;
  Cur c = { s + 2, s + n };
  size_t size;
  if (!read_size(&c, &size) || c.p != c.end || c.p[-1] == 'L')
    return 0;
  int ok = s[1] == 'f' ? size == 4 || size == 8
                       : size == 1 || size == 2 || size == 4 || size == 8;
  if (!ok || (s[0] == '|' && size != 1))
    return 0;
  h->order = s[0] == '<' || s[0] == '>' ? s[0] : HOST_ORDER;
  h->kind = s[1];
  h->itemsize = size;
  return 1;
}

static RtStatus parse_descr_value(Rt *rt, const char *path, Cur *c, Npy *h)
{
  const char *s;
  size_t n;
  skip_ws(c);
  if (c->p < c->end && *c->p == '[')
    return ferr(rt, path, "unsupported dtype (a structured array)");
  if (!read_str(c, &s, &n))
    return malformed(rt, path, "'descr' is not a string");
  if (!parse_descr(s, n, h))
    return ferr(rt, path, "unsupported dtype '%.*s'", (int)(n > 40 ? 40 : n), s);
  return RT_OK;
}

/* "(4096, 256)", "(10,)", "()": counts every axis, keeps the first two. */
static RtStatus parse_shape(Rt *rt, const char *path, Cur *c, Npy *h)
{
  h->ndim = 0;
  if (!eat(c, '('))
    return malformed(rt, path, "'shape' is not a tuple");
  while (!eat(c, ')')) {
    size_t v;
    if (h->ndim > 64 || !read_size(c, &v))
      return malformed(rt, path, "bad 'shape'");
    if (h->ndim < 2)
      h->dim[h->ndim] = v;
    h->ndim++;
    if (!eat(c, ',') && !eat(c, ')'))
      return malformed(rt, path, "bad 'shape'");
    else if (c->p[-1] == ')')
      break;
  }
  return RT_OK;
}

/* One "'key': value" of the header dict. */
static RtStatus parse_item(Rt *rt, const char *path, Cur *c, Npy *h)
{
  const char *k;
  size_t n;
  if (!read_str(c, &k, &n) || !eat(c, ':'))
    return malformed(rt, path, "expected 'key': value");
  if (n == 5 && !memcmp(k, "descr", 5)) {
    h->seen |= 1;
    return parse_descr_value(rt, path, c, h);
  }
  if (n == 13 && !memcmp(k, "fortran_order", 13)) {
    h->seen |= 2;
    h->fortran = read_word(c, "True");
    if (!h->fortran && !read_word(c, "False"))
      return malformed(rt, path, "'fortran_order' is not True or False");
    return RT_OK;
  }
  if (n == 5 && !memcmp(k, "shape", 5)) {
    h->seen |= 4;
    return parse_shape(rt, path, c, h);
  }
  return ferr(rt, path, "malformed header: unknown key '%.*s'",
              (int)(n > 40 ? 40 : n), k);
}

/* The header's dict literal: "{'descr': '<f8', 'fortran_order': False,
 * 'shape': (3, 4), }" in any key order, padded with blanks. */
static RtStatus parse_dict(Rt *rt, const char *path, Cur *c, Npy *h)
{
  if (!eat(c, '{'))
    return malformed(rt, path, "expected '{'");
  while (!eat(c, '}')) {
    RtStatus s = parse_item(rt, path, c, h);
    if (s)
      return s;
    if (!eat(c, ',')) {
      if (!eat(c, '}'))
        return malformed(rt, path, "expected ',' or '}'");
      break;
    }
  }
  skip_ws(c);
  if (c->p != c->end)
    return malformed(rt, path, "text after the dict");
  if (h->seen != 7)
    return malformed(rt, path, !(h->seen & 1)   ? "no 'descr'"
                               : !(h->seen & 2) ? "no 'fortran_order'"
                                                : "no 'shape'");
  return RT_OK;
}

/* Magic, version and header length; then the dict. */
static RtStatus npy_header(Rt *rt, const char *path, const Bytes *b, Npy *h)
{
  const unsigned char *p = b->p;
  if (b->n == 0)
    return ferr(rt, path, "empty file");
  if (b->n < 6 || memcmp(p, "\x93NUMPY", 6))
    return ferr(rt, path, "not a NumPy file (bad magic)");
  if (b->n >= 8 && (p[6] < 1 || p[6] > 3))
    return ferr(rt, path, "unsupported .npy format version %d.%d", p[6], p[7]);
  size_t pre = b->n >= 8 && p[6] == 1 ? 10 : 12;
  if (b->n < pre)
    return ferr(rt, path, "truncated header");
  size_t hlen = p[8] | (size_t)p[9] << 8;
  if (pre == 12)
    hlen |= (size_t)p[10] << 16 | (size_t)p[11] << 24;
  if (hlen > b->n - pre)
    return ferr(rt, path, "truncated header");
  h->offset = pre + hlen;
  Cur c = { (const char *)p + pre, (const char *)p + pre + hlen };
  return parse_dict(rt, path, &c, h);
}

static const char *type_name(const Npy *h, char *buf, size_t n)
{
  snprintf(buf, n, "%s%zu", h->kind == 'f' ? "float" : h->kind == 'i' ? "int" : "uint",
           h->itemsize * 8);
  return buf;
}

static void shape_text(const Npy *h, char *buf, size_t n)
{
  if (h->ndim == 1)
    snprintf(buf, n, "%zu", h->dim[0]);
  else
    snprintf(buf, n, "%zu×%zu", h->dim[0], h->dim[1]);
}

/* Rank, emptiness, size overflow and truncation: all before any data read. */
static RtStatus npy_check_size(Rt *rt, const char *path, size_t avail, Npy *h)
{
  char shape[64], type[16];
  size_t bytes;
  if (h->ndim != 1 && h->ndim != 2)
    return ferr(rt, path, "%d-dimensional array; expected a vector or a matrix",
                h->ndim);
  h->rows = h->dim[0];
  h->cols = h->ndim == 2 ? h->dim[1] : 1;
  shape_text(h, shape, sizeof shape);
  if (h->rows == 0 || h->cols == 0)
    return ferr(rt, path, "empty array (%s)", shape);
  if (__builtin_mul_overflow(h->rows, h->cols, &h->count) ||
      __builtin_mul_overflow(h->count, h->itemsize, &bytes) ||
      h->count > SIZE_MAX / sizeof(double))
    return ferr(rt, path, "array too large (%s)", shape);
  if (bytes > avail)
    return ferr(rt, path,
                "truncated: header says %s %s (%zu bytes of data) but only %zu bytes "
                "follow the header",
                shape, type_name(h, type, sizeof type), bytes, avail);
  return RT_OK;
}

/* One element of any supported dtype, byte-swapped as needed. */
static double element(const unsigned char *p, const Npy *h)
{
  unsigned char b[8];
  memcpy(b, p, h->itemsize);
  if (h->order != HOST_ORDER)
    for (size_t i = 0; i < h->itemsize / 2; i++) {
      unsigned char t = b[i];
      b[i] = b[h->itemsize - 1 - i];
      b[h->itemsize - 1 - i] = t;
    }
  union { double f8; float f4; int8_t i1; int16_t i2; int32_t i4; int64_t i8;
          uint8_t u1; uint16_t u2; uint32_t u4; uint64_t u8; } v;
  memcpy(&v, b, h->itemsize);
  switch (h->kind * 16 + (int)h->itemsize) {
  case 'f' * 16 + 8: return v.f8;
  case 'f' * 16 + 4: return v.f4;
  case 'i' * 16 + 1: return v.i1;
  case 'i' * 16 + 2: return v.i2;
  case 'i' * 16 + 4: return v.i4;
  case 'i' * 16 + 8: return (double)v.i8;
  case 'u' * 16 + 1: return v.u1;
  case 'u' * 16 + 2: return v.u2;
  case 'u' * 16 + 4: return v.u4;
  default:           return (double)v.u8;
  }
}

/* Converts into a new C-order block; Fortran order is transposed here. */
static RtStatus npy_convert(Rt *rt, const unsigned char *src, const Npy *h,
                            DataMatrix *out)
{
  double *dst = rt_array(rt, h->count, sizeof *dst);
  if (!dst)
    return rt->status;
  if (!h->fortran)
    for (size_t k = 0; k < h->count; k++)
      dst[k] = element(src + k * h->itemsize, h);
  else
    for (size_t j = 0, k = 0; j < h->cols; j++)
      for (size_t i = 0; i < h->rows; i++, k++)
        dst[i * h->cols + j] = element(src + k * h->itemsize, h);
  out->heap = dst;
  out->data = dst;
  return RT_OK;
}

/* Little-endian float64 in C order (or one row or column, where Fortran
 * order is the same thing) at an aligned address is used where it lies. */
static int npy_direct(const Npy *h, const unsigned char *src)
{
  return h->kind == 'f' && h->itemsize == 8 && h->order == HOST_ORDER &&
         (!h->fortran || h->rows == 1 || h->cols == 1) &&
         (uintptr_t)src % _Alignof(double) == 0;
}

/* Hands the file's bytes to *out (no copy) or converts them. */
static RtStatus npy_data(Rt *rt, Bytes *b, const Npy *h, DataMatrix *out)
{
  const unsigned char *src = b->p + h->offset;
  out->rows = h->rows;
  out->cols = h->cols;
  out->is_vector = h->ndim == 1;
  if (!npy_direct(h, src))
    return npy_convert(rt, src, h, out);
  out->data = (const double *)(const void *)src;
  out->heap = b->heap;
  memset(b, 0, sizeof *b);
  return RT_OK;
}

static RtStatus load_npy(Rt *rt, const char *path, int fd, size_t size,
                         DataMatrix *out)
{
  Bytes b;
  Npy h = { 0 };
  RtStatus s = read_all(rt, path, fd, size, &b);
  if (s)
    return s;
  s = npy_header(rt, path, &b, &h);
  if (!s)
    s = npy_check_size(rt, path, b.n - h.offset, &h);
  if (!s)
    s = npy_data(rt, &b, &h, out);
  bytes_release(rt, &b);
  if (!s && h.kind == 'f')
    s = check_finite(rt, path, out);
  return s;
}

/* ------------------------------------------------------------------- CSV */

typedef struct Csv {
  Rt *rt;
  const char *path;
  const char *text, *end;  /* the file after any BOM; *end is NUL */
  char sep;                /* ',' or '\t'; 0 until sniffed */
  locale_t loc;
  size_t rows, cols, cap;  /* cap: rows the data block has room for */
  const char *first;       /* the row that fixed cols */
  double *data;
  char **names;
} Csv;

/* A field: content [s, e) without quotes or surrounding blanks; at is
 * where it starts (its quote, if any) for error columns. */
typedef struct Field {
  const char *s, *e, *at;
  int quoted;
} Field;

/* 1-based line and column (in UTF-8 characters) of at; only on errors. */
static void locate(const Csv *c, const char *at, size_t *line, size_t *col)
{
  const char *ls = c->text;
  *line = 1;
  for (const char *q = c->text; q < at; q++)
    if (*q == '\n') {
      ++*line;
      ls = q + 1;
    }
  *col = 1;
  for (const char *q = ls; q < at; q++)
    *col += ((unsigned char)*q & 0xC0) != 0x80;
}

/* "path:line:col: what". */
static RtStatus csv_err(Csv *c, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static RtStatus csv_err(Csv *c, const char *at, const char *fmt, ...)
{
  char what[RT_MSG_MAX];
  size_t line, col;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  locate(c, at, &line, &col);
  return rt_error(c->rt, RT_EIO, "%s:%zu:%zu: %s", c->path, line, col, what);
}

static int is_blank(const Csv *c, char ch)
{
  return ch == ' ' || (ch == '\t' && c->sep != '\t');
}

static const char *scan_plain(const Csv *c, const char *p, Field *f)
{
  const char sep = c->sep, *e;
  f->s = p;
  while (p < c->end && *p != sep && *p != '\n')
    p++;
  for (e = p; e > f->s && (is_blank(c, e[-1]) || e[-1] == '\r'); e--)
    ;
  f->e = e;
  return p;
}

static const char *scan_quoted(Csv *c, const char *p, Field *f)
{
  const char *q = p + 1;
  f->s = q;
  for (;;) {
    q = memchr(q, '"', (size_t)(c->end - q));
    if (!q) {
      csv_err(c, f->at, "unterminated quoted field");
      return NULL;
    }
    if (q + 1 < c->end && q[1] == '"')
      q += 2;   /* "" stands for one quote */
    else
      break;
  }
  f->e = q++;
  while (q < c->end && (is_blank(c, *q) || *q == '\r'))
    q++;
  if (q < c->end && *q != c->sep && *q != '\n') {
    csv_err(c, q, "unexpected text after a closing quote");
    return NULL;
  }
  return q;
}

/* Reads the field at *pp and moves *pp past its separator or line end;
 * *more says whether another field follows on the row.  0 after an error. */
static int next_field(Csv *c, const char **pp, Field *f, int *more)
{
  const char *p = *pp;
  while (p < c->end && is_blank(c, *p))
    p++;
  f->at = p;
  f->quoted = p < c->end && *p == '"';
  p = f->quoted ? scan_quoted(c, p, f) : scan_plain(c, p, f);
  if (!p)
    return 0;
  *more = p < c->end && *p == c->sep;
  *pp = p < c->end ? p + 1 : p;
  return 1;
}

/* The start of the next row at or after p, skipping blank and '#' lines;
 * NULL at the end of the text. */
static const char *next_row(const Csv *c, const char *p)
{
  while (p < c->end) {
    const char *q = p;
    while (q < c->end && (*q == ' ' || *q == '\t' || *q == '\r'))
      q++;
    if (q < c->end && *q != '\n' && *q != '#')
      return p;
    q = memchr(q, '\n', (size_t)(c->end - q));
    if (!q)
      return NULL;
    p = q + 1;
  }
  return NULL;
}

/* Comma unless the row has a tab and no comma outside quotes. */
static char sniff_sep(const Csv *c, const char *p)
{
  int inq = 0, tab = 0;
  for (; p < c->end && (inq || *p != '\n'); p++) {
    if (*p == '"')
      inq = !inq;
    else if (!inq && *p == ',')
      return ',';
    else if (!inq && *p == '\t')
      tab = 1;
  }
  return tab ? '\t' : ',';
}

/* Length of the decimal number at the start of [s, e), or 0: sign, digits
 * with an optional point, optional exponent.  Stricter than strtod: no hex,
 * inf, nan or leading blanks. */
static size_t number_len(const char *s, const char *e)
{
  const char *p = s + (s < e && (*s == '+' || *s == '-'));
  size_t digits = 0;
  for (; p < e && *p >= '0' && *p <= '9'; p++)
    digits++;
  if (p < e && *p == '.')
    for (p++; p < e && *p >= '0' && *p <= '9'; p++)
      digits++;
  if (digits == 0)
    return 0;
  if (p < e && (*p == 'e' || *p == 'E')) {
    const char *x = p + 1, *d;
    x += x < e && (*x == '+' || *x == '-');
    for (d = x; x < e && *x >= '0' && *x <= '9'; x++)
      ;
    if (x == d)
      return 0;
    p = x;
  }
  return (size_t)(p - s);
}

/* 'n' for a NaN spelling, 'i' for an infinity, else 0 (any case, signed). */
static int nonfinite_word(const char *s, const char *e)
{
  size_t n;
  s += s < e && (*s == '+' || *s == '-');
  n = (size_t)(e - s);
  if ((n == 3 || (n > 4 && s[3] == '(' && e[-1] == ')')) && !strncasecmp(s, "nan", 3))
    return 'n';
  if ((n == 3 && !strncasecmp(s, "inf", 3)) || (n == 8 && !strncasecmp(s, "infinity", 8)))
    return 'i';
  return 0;
}

/* Trims the blanks a quoted field may hold inside its quotes. */
static void trim_inside(const Csv *c, Field *f)
{
  if (!f->quoted)
    return;
  while (f->s < f->e && is_blank(c, *f->s))
    f->s++;
  while (f->e > f->s && is_blank(c, f->e[-1]))
    f->e--;
}

/* Could the field be data?  Empty fields and NaN/Inf spellings could: they
 * are then reported as errors instead of turning the row into a header. */
static int could_be_data(const Csv *c, Field f)
{
  trim_inside(c, &f);
  return f.s == f.e || number_len(f.s, f.e) == (size_t)(f.e - f.s) ||
         nonfinite_word(f.s, f.e);
}

static void bad_number(Csv *c, const Field *f)
{
  int len = (int)(f->e - f->s), shown = len > 60 ? 60 : len;
  const char *more = len > 60 ? "..." : "";
  int w = nonfinite_word(f->s, f->e);
  if (w)
    csv_err(c, f->at, "%s not allowed: \"%.*s\"", w == 'n' ? "NaN" : "Inf", shown, f->s);
  else
    csv_err(c, f->at, "not a number: \"%.*s%s\"", shown, f->s, more);
}

/* Parses one data field.  The syntax check runs first, so strtod_l (which
 * stops at the quote, blank or separator after the field, or the final NUL)
 * only ever sees a plain decimal number. */
static int field_number(Csv *c, Field f, double *out)
{
  char *stop;
  trim_inside(c, &f);
  if (f.s == f.e) {
    csv_err(c, f.at, "empty field");
    return 0;
  }
  if (number_len(f.s, f.e) != (size_t)(f.e - f.s)) {
    bad_number(c, &f);
    return 0;
  }
  *out = strtod_l(f.s, &stop, c->loc);
  if (stop != f.e || isinf(*out)) {
    csv_err(c, f.at, "number out of range: \"%.*s\"", (int)(f.e - f.s), f.s);
    return 0;
  }
  return 1;
}

/* Counts the fields of the first row and tells whether all could be data. */
static const char *survey_row(Csv *c, const char *p, size_t *n, int *numeric)
{
  Field f;
  int more;
  *n = 0;
  *numeric = 1;
  do {
    if (!next_field(c, &p, &f, &more))
      return NULL;
    ++*n;
    *numeric &= could_be_data(c, f);
  } while (more);
  return p;
}

/* Copies a field's text, turning "" into ", and returns the end. */
static char *copy_name(const Field *f, char *dst)
{
  for (const char *q = f->s; q < f->e; q++) {
    *dst++ = *q;
    q += f->quoted && *q == '"';
  }
  *dst++ = '\0';
  return dst;
}

/* Stores the header's fields in one block: cols pointers, then the text. */
static const char *read_header(Csv *c, const char *row, const char *after)
{
  size_t bytes = (size_t)(after - row) + 1, j = 0;
  Field f;
  int more;
  if (c->cols > (SIZE_MAX - bytes) / sizeof(char *)) {
    rt_error(c->rt, RT_ENOMEM, "out of memory");
    return NULL;
  }
  c->names = rt_alloc(c->rt, c->cols * sizeof(char *) + bytes);
  if (!c->names)
    return NULL;
  char *dst = (char *)(c->names + c->cols);
  do {
    if (!next_field(c, &row, &f, &more))
      return NULL;   /* not reached: survey_row read this row already */
    c->names[j++] = dst;
    dst = copy_name(&f, dst);
  } while (more);
  return row;
}

/* Decides header or data from the first row and fixes the column count;
 * returns where data rows start. */
static const char *first_row(Csv *c, const char *p)
{
  int numeric;
  const char *after = survey_row(c, p, &c->cols, &numeric);
  c->first = p;
  if (!after)
    return NULL;
  return numeric ? p : read_header(c, p, after);
}

/* Makes room for one more row, doubling; a product that would not fit
 * size_t is an error, never a wrapped size. */
static int grow(Csv *c)
{
  size_t cap = c->cap ? c->cap * 2 : 1 + 4096 / c->cols, n;
  if (c->rows < c->cap)
    return 1;
  if (cap < c->cap || __builtin_mul_overflow(cap, c->cols, &n) ||
      n > SIZE_MAX / sizeof(double)) {
    ferr(c->rt, c->path, "too large: %zu rows × %zu columns", cap, c->cols);
    return 0;
  }
  double *d = rt_realloc(c->rt, c->data, n * sizeof *d);
  if (!d)
    return 0;
  c->data = d;
  c->cap = cap;
  return 1;
}

static const char *data_row(Csv *c, const char *p)
{
  double *dst = c->data + c->rows * c->cols;
  const char *row = p;
  size_t n = 0, line, col;
  Field f;
  int more;
  do {
    if (!next_field(c, &p, &f, &more) ||
        (n < c->cols && !field_number(c, f, &dst[n])))
      return NULL;
    n++;
  } while (more);
  if (n == c->cols)
    return p;
  locate(c, c->first, &line, &col);
  csv_err(c, row, "row has %zu field%s; expected %zu (as in line %zu)", n,
          n == 1 ? "" : "s", c->cols, line);
  return NULL;
}

static RtStatus parse_csv(Csv *c)
{
  const char *nul = memchr(c->text, '\0', (size_t)(c->end - c->text));
  if (nul)
    return csv_err(c, nul, "NUL byte in file");
  const char *p = next_row(c, c->text);
  if (!p)
    return ferr(c->rt, c->path, "empty file (no rows)");
  if (!c->sep)
    c->sep = sniff_sep(c, p);
  if (!(p = first_row(c, p)))
    return c->rt->status;
  while ((p = next_row(c, p))) {
    if (!grow(c) || !(p = data_row(c, p)))
      return c->rt->status;
    c->rows++;
  }
  if (c->rows == 0)
    return ferr(c->rt, c->path, "no data rows (only a header)");
  double *d = rt_realloc(c->rt, c->data, c->rows * c->cols * sizeof *d);
  if (!d)
    return c->rt->status;
  c->data = d;
  return RT_OK;
}

static RtStatus load_csv(Rt *rt, const char *path, int fd, size_t size, char sep,
                         DataMatrix *out)
{
  Bytes b;
  RtStatus s = read_all(rt, path, fd, size, &b);
  if (s)
    return s;
  const char *text = (const char *)b.p;
  Csv c = { .rt = rt, .path = path, .text = text, .end = text + b.n, .sep = sep };
  if (b.n >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
    c.text += 3;
  c.loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  s = c.loc ? parse_csv(&c) : rt_error(rt, RT_ENOMEM, "out of memory (C locale)");
  if (c.loc)
    freelocale(c.loc);
  bytes_release(rt, &b);
  if (s) {
    rt_free(rt, c.data);
    rt_free(rt, c.names);
    return s;
  }
  *out = (DataMatrix){ .rows = c.rows, .cols = c.cols, .is_vector = c.cols == 1,
                       .data = c.data, .names = c.names, .heap = c.data };
  return RT_OK;
}

/* ------------------------------------------------------------- dispatch */

typedef enum Format { FMT_SNIFF, FMT_NPY, FMT_CSV, FMT_TSV, FMT_NPZ } Format;

static Format by_extension(const char *path)
{
  const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
  if (!dot || (slash && dot < slash))
    return FMT_SNIFF;
  return !strcasecmp(dot, ".npy")   ? FMT_NPY
         : !strcasecmp(dot, ".npz") ? FMT_NPZ
         : !strcasecmp(dot, ".tsv") ? FMT_TSV
         : !strcasecmp(dot, ".csv") || !strcasecmp(dot, ".txt") ? FMT_CSV
                                                                 : FMT_SNIFF;
}

/* For a name that does not tell: NumPy when the magic is there. */
static Format sniff(int fd)
{
  char magic[6];
  ssize_t n;
  do
    n = pread(fd, magic, sizeof magic, 0);
  while (n < 0 && errno == EINTR);
  return n == 6 && !memcmp(magic, "\x93NUMPY", 6) ? FMT_NPY : FMT_CSV;
}

RtStatus data_load(Rt *rt, const char *path, DataMatrix *out)
{
  int fd;
  size_t size = 0;
  memset(out, 0, sizeof *out);
  Format f = by_extension(path);
  if (f == FMT_NPZ)
    return ferr(rt, path, ".npz archives are not supported; save one array with np.save");
  RtStatus s = open_file(rt, path, &fd, &size);
  if (s)
    return s;
  if (f == FMT_SNIFF)
    f = sniff(fd);
  s = f == FMT_NPY ? load_npy(rt, path, fd, size, out)
                   : load_csv(rt, path, fd, size, f == FMT_TSV ? '\t' : 0, out);
  close(fd);
  if (s)
    data_free(rt, out);
  return s;
}

void data_free(Rt *rt, DataMatrix *m)
{
  if (!m)
    return;
  rt_free(rt, m->heap);
  rt_free(rt, m->names);
  memset(m, 0, sizeof *m);
}
