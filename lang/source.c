/*
 * source.c — reading script text and finding lines in it (see source.h).
 */
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

Source *source_new(Rt *rt, const char *name, const char *text, size_t len)
{
  Source *s = rt_calloc(rt, 1, sizeof *s);
  if (!s)
    return NULL;
  s->name = rt_strdup(rt, name);
  s->text = rt_alloc(rt, len + 1);
  if (!s->name || !s->text) {
    source_free_all(rt, s);
    return NULL;
  }
  memcpy(s->text, text, len);
  s->text[len] = '\0';
  s->len = len;
  return s;
}

/* Reads f to the end into a growing buffer, so pipes and /dev/stdin work. */
static RtStatus slurp(Rt *rt, FILE *f, const char *path, char **buf, size_t *len)
{
  size_t cap = 4096, n = 0;
  char *b = rt_alloc(rt, cap);
  if (!b)
    return RT_ENOMEM;
  for (;;) {
    n += fread(b + n, 1, cap - n, f);
    if (n > SOURCE_MAX_BYTES) {
      rt_free(rt, b);
      return rt_error(rt, RT_EIO, "'%s' is larger than %u MiB: scripts are read whole (keep "
                      "data in .npy or CSV files and load() them)", path, SOURCE_MAX_BYTES >> 20);
    }
    if (n < cap)
      break;
    char *nb = cap > SIZE_MAX / 2 ? NULL : rt_realloc(rt, b, cap * 2);
    if (!nb) {
      rt_free(rt, b);
      return rt_error(rt, RT_ENOMEM, "out of memory reading '%s'", path);
    }
    b = nb;
    cap *= 2;
  }
  if (ferror(f)) {
    rt_free(rt, b);
    char why[256];
    return rt_error(rt, RT_EIO, "cannot read '%s': %s", path, strerror_r(errno, why, sizeof why));
  }
  *buf = b;
  *len = n;
  return RT_OK;
}

RtStatus source_read(Rt *rt, const char *path, Source **out)
{
  struct stat st;
  *out = NULL;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return rt_error(rt, RT_EIO, "cannot open '%s': Is a directory", path);
  FILE *f = fopen(path, "rb");
  char why[256];
  if (!f)
    return rt_error(rt, RT_EIO, "cannot open '%s': %s", path, strerror_r(errno, why, sizeof why));
  char *buf = NULL;
  size_t len = 0;
  RtStatus st2 = slurp(rt, f, path, &buf, &len);
  fclose(f);
  if (st2)
    return st2;
  *out = source_new(rt, path, buf, len);
  rt_free(rt, buf);
  return *out ? RT_OK : RT_ENOMEM;
}

void source_free_all(Rt *rt, Source *s)
{
  while (s) {
    Source *next = s->next;
    rt_free(rt, s->name);
    rt_free(rt, s->text);
    rt_free(rt, s);
    s = next;
  }
}

const char *source_line(const Source *s, uint32_t line, size_t *len)
{
  const char *p = s->text, *end = s->text + s->len;
  for (uint32_t l = 1; l < line && p < end; p++)
    if (*p == '\n')
      l++;
  const char *e = p;
  while (e < end && *e != '\n')
    e++;
  if (e > p && e[-1] == '\r')
    e--;
  *len = (size_t)(e - p);
  return p;
}
