/*
 * diag.c — recording and rendering diagnostics (see diag.h).
 */
#include "diag.h"

#include <stdio.h>
#include <string.h>

void diag_init(DiagList *d, Rt *rt)
{
  memset(d, 0, sizeof *d);
  d->rt = rt;
}

void diag_clear(DiagList *d)
{
  for (int i = 0; i < d->n; i++) {
    rt_free(d->rt, d->v[i].msg);
    rt_free(d->rt, d->v[i].hint);
  }
  rt_free(d->rt, d->v);
  Rt *rt = d->rt;
  diag_init(d, rt);
}

/* Diagnostics must survive an allocation failure of the interpreter, so they
 * allocate through the same hook but degrade to counting when it fails. */
static Diag *append(DiagList *d)
{
  if (d->n >= DIAG_MAX) {
    d->dropped++;
    return NULL;
  }
  if (d->n == d->cap) {
    int cap = d->cap ? d->cap * 2 : 8;
    Diag *v = rt_realloc(d->rt, d->v, (size_t)cap * sizeof *v);
    if (!v) {
      d->dropped++;
      d->oom = 1;
      return NULL;
    }
    d->v = v;
    d->cap = cap;
  }
  Diag *g = &d->v[d->n++];
  memset(g, 0, sizeof *g);
  return g;
}

void diag_verror(DiagList *d, Pos pos, uint32_t span, const char *fmt, va_list ap)
{
  Diag *g = append(d);
  if (!g)
    return;
  StrBuf b;
  sb_init(&b, d->rt);
  sb_vprintf(&b, fmt, ap);
  g->pos = pos;
  g->span = span ? span : 1;
  g->msg = sb_take(&b);
  if (!g->msg) {
    d->n--;
    d->dropped++;
    d->oom = 1;
  }
}

void diag_error(DiagList *d, Pos pos, uint32_t span, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  diag_verror(d, pos, span, fmt, ap);
  va_end(ap);
}

void diag_hint(DiagList *d, const char *fmt, ...)
{
  if (d->n == 0)
    return;
  Diag *g = &d->v[d->n - 1];
  StrBuf b;
  va_list ap;
  sb_init(&b, d->rt);
  va_start(ap, fmt);
  sb_vprintf(&b, fmt, ap);
  va_end(ap);
  rt_free(d->rt, g->hint);
  g->hint = sb_take(&b);
}

/* The caret line copies the source line's tabs so the caret lines up in any
 * tab setting; other bytes become spaces (UTF-8 continuation bytes none). */
#define DIAG_WINDOW 160

static void caret(StrBuf *b, const char *line, size_t len, uint32_t col, uint32_t span)
{
  for (uint32_t i = 0; i + 1 < col && i < len; i++) {
    unsigned char c = (unsigned char)line[i];
    if (c == '\t')
      sb_putc(b, '\t');
    else if ((c & 0xC0) != 0x80)
      sb_putc(b, ' ');
  }
  sb_putc(b, '^');
  size_t room = col <= len ? len - (col - 1) : 1;
  for (uint32_t i = 1; i < span && i < room; i++)
    sb_putc(b, '~');
}

void diag_render(StrBuf *b, const Diag *g)
{
  const Source *s = g->pos.src;
  sb_printf(b, "%s:%u:%u: error: %s\n", s ? s->name : "<input>", g->pos.line,
            g->pos.col, g->msg);
  if (s && g->pos.line > 0) {
    size_t len;
    const char *line = source_line(s, g->pos.line, &len);
    uint32_t col = g->pos.col;
    /* A long line is shown as a window of DIAG_WINDOW bytes around the
     * column, cut at UTF-8 character boundaries and marked with "...". */
    size_t from = 0, to = len;
    if (len > DIAG_WINDOW) {
      size_t c = col > 0 ? col - 1 : 0;
      from = c > DIAG_WINDOW / 3 ? c - DIAG_WINDOW / 3 : 0;
      while (from > 0 && ((unsigned char)line[from] & 0xC0) == 0x80)
        from--;
      to = from + DIAG_WINDOW < len ? from + DIAG_WINDOW : len;
      while (to < len && ((unsigned char)line[to] & 0xC0) == 0x80)
        to++;
    }
    char gutter[16];
    int w = snprintf(gutter, sizeof gutter, "%5u", g->pos.line);
    sb_printf(b, "%s | %s", gutter, from > 0 ? "..." : "");
    sb_putn(b, line + from, to - from);
    sb_printf(b, "%s\n%*s | %s", to < len ? "..." : "", w, "", from > 0 ? "   " : "");
    caret(b, line + from, to - from, col > from ? col - (uint32_t)from : 1, g->span);
    sb_putc(b, '\n');
  }
  if (g->hint)
    sb_printf(b, "hint: %s\n", g->hint);
}

void diag_render_all(StrBuf *b, const DiagList *d)
{
  for (int i = 0; i < d->n; i++)
    diag_render(b, &d->v[i]);
  /* An error that could not be recorded was lost to an allocation failure:
   * say that, not just how many are missing. */
  if (d->oom)
    sb_printf(b, "error: out of memory (%d error%s could not be shown)\n", d->dropped,
              d->dropped == 1 ? "" : "s");
  else if (d->dropped)
    sb_printf(b, "%d more error%s not shown\n", d->dropped, d->dropped == 1 ? "" : "s");
}

/* Levenshtein distance with an early cap; names are short. */
static int distance(const char *a, const char *b)
{
  size_t n = strlen(a), m = strlen(b);
  if (n > 40 || m > 40)
    return 99;
  int row[41];
  for (size_t j = 0; j <= m; j++)
    row[j] = (int)j;
  for (size_t i = 1; i <= n; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= m; j++) {
      int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      diag = up;
      row[j] = best;
    }
  }
  return row[m];
}

const char *diag_suggest(const char *name, const char *const *cands, int n)
{
  const char *best = NULL;
  int bestd = 99, len = (int)strlen(name);
  int limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
  for (int i = 0; i < n; i++) {
    if (!cands[i] || strcmp(cands[i], name) == 0)
      continue;
    int dd = distance(name, cands[i]);
    if (dd < bestd) {
      bestd = dd;
      best = cands[i];
    }
  }
  return bestd <= limit ? best : NULL;
}
