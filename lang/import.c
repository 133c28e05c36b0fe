/*
 * import.c — finding, loading and running imported files, and the prelude
 * (see import.h).
 */
#include "import.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "eval.h"
#include "exec.h"
#include "parse.h"

extern const char prelude_text_of_moe[];

/* The directory part of a source name ("." for none or a pseudo-name). */
static void dir_of(const Source *src, char *buf, size_t n)
{
  const char *name = src ? src->name : "";
  const char *slash = strrchr(name, '/');
  if (!slash || name[0] == '<') {
    snprintf(buf, n, ".");
    return;
  }
  snprintf(buf, n, "%.*s", (int)(slash - name), name);
}

static int readable(const char *path) { return access(path, R_OK) == 0; }

/* Tries dir/name; on success *out gets the canonical path (malloc'ed by
 * realpath, copied into rt memory by the caller). */
static int try_dir(const char *dir, const char *name, char *out, size_t n)
{
  char cand[PATH_MAX];
  if ((size_t)snprintf(cand, sizeof cand, "%s/%s", dir, name) >= sizeof cand)
    return 0;
  if (!readable(cand) || !realpath(cand, out))
    return 0;
  (void)n;
  return 1;
}

/* The search: beside the importer, MOE_PATH, the installed stdlib.  Also
 * collects the directories tried, for the error message. */
static int resolve(const Stmt *s, char *out, StrBuf *tried)
{
  char dir[PATH_MAX];
  const char *name = s->path;
  if (name[0] == '/') {
    sb_printf(tried, "%s", name);
    return readable(name) && realpath(name, out);
  }
  dir_of(s->pos.src, dir, sizeof dir);
  sb_printf(tried, "%s", dir);
  if (try_dir(dir, name, out, PATH_MAX))
    return 1;
  const char *mp = getenv("MOE_PATH");
  while (mp && *mp) {
    const char *colon = strchr(mp, ':');
    size_t len = colon ? (size_t)(colon - mp) : strlen(mp);
    if (len > 0 && len < sizeof dir) {
      memcpy(dir, mp, len);
      dir[len] = '\0';
      sb_printf(tried, ", %s", dir);
      if (try_dir(dir, name, out, PATH_MAX))
        return 1;
    }
    mp = colon ? colon + 1 : NULL;
  }
  sb_printf(tried, ", %s", MOE_STDLIB_DIR);
  return try_dir(MOE_STDLIB_DIR, name, out, PATH_MAX);
}

static Import *find(Interp *I, const char *path)
{
  for (int i = 0; i < I->nimports; i++)
    if (strcmp(I->imports[i]->path, path) == 0)
      return I->imports[i];
  return NULL;
}

static Import *add(Interp *I, const char *path)
{
  if (I->nimports == I->imports_cap) {
    int cap = I->imports_cap ? I->imports_cap * 2 : 8;
    Import **v = rt_realloc(&I->rt, I->imports, (size_t)cap * sizeof *v);
    if (!v)
      return NULL;
    I->imports = v;
    I->imports_cap = cap;
  }
  Import *im = rt_calloc(&I->rt, 1, sizeof *im);
  if (!im || !(im->path = rt_strdup(&I->rt, path))) {
    rt_free(&I->rt, im);
    return NULL;
  }
  I->imports[I->nimports++] = im;
  return im;
}

/* Reads and parses a file found for an import; syntax errors are reported
 * like the importer's own. */
static int parse_file(Interp *I, const Stmt *s, Import *im)
{
  Source *src;
  if (source_read(&I->rt, im->path, &src)) {
    eval_error_at(I, s->path_pos, (uint32_t)strlen(s->path) + 2, "%s", I->rt.msg);
    rt_clear(&I->rt);
    return 1;
  }
  interp_keep_source(I, src);
  Program *p = parse_program(&I->rt, src, &I->diags, NULL);
  if (!p || interp_keep_program(I, p)) {
    program_free(&I->rt, p);
    return eval_error_at(I, s->path_pos, 1, "out of memory");
  }
  im->prog = p;
  return I->diags.n > 0;
}

Import *import_load(Interp *I, const Stmt *s)
{
  if (I->limits.no_files) {
    eval_error_at(I, s->path_pos, (uint32_t)strlen(s->path) + 2,
                  "cannot import '%s': this session may not read files", s->path);
    return NULL;
  }
  char path[PATH_MAX];
  StrBuf tried;
  sb_init(&tried, &I->rt);
  int found = resolve(s, path, &tried);
  if (!found) {
    eval_error_at(I, s->path_pos, (uint32_t)strlen(s->path) + 2, "cannot find '%s' to import",
                  s->path);
    diag_hint(&I->diags, "looked in %s (set MOE_PATH to add directories)", sb_str(&tried));
    sb_free(&tried);
    return NULL;
  }
  sb_free(&tried);
  Import *im = find(I, path);
  if (im)
    return im;
  im = add(I, path);
  if (!im) {
    eval_error_at(I, s->path_pos, 1, "out of memory");
    return NULL;
  }
  if (parse_file(I, s, im)) {
    /* Forget it (it is the last added), so a second import of the same
     * file tries again rather than finding a half-made entry. */
    if (!im->prog) {
      I->nimports--;
      rt_free(&I->rt, im->path);
      rt_free(&I->rt, im);
    }
    return NULL;
  }
  return im;
}

static const char *base(const char *path)
{
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

void import_cycle(Interp *I, const Stmt *s, const Import *im)
{
  StrBuf b;
  sb_init(&b, &I->rt);
  int start = 0;
  for (int i = 0; i < I->nchain; i++)
    if (I->chain[i] == im)
      start = i;
  for (int i = start; i < I->nchain; i++)
    sb_printf(&b, "%s imports ", base(I->chain[i]->path));
  sb_printf(&b, "%s", base(im->path));
  eval_error_at(I, s->path_pos, (uint32_t)strlen(s->path) + 2, "import cycle: %s", sb_str(&b));
  sb_free(&b);
}

void import_push(Interp *I, Import *im)
{
  if (I->nchain == I->chain_cap) {
    int cap = I->chain_cap ? I->chain_cap * 2 : 8;
    Import **v = rt_realloc(&I->rt, I->chain, (size_t)cap * sizeof *v);
    if (!v)
      return;
    I->chain = v;
    I->chain_cap = cap;
  }
  I->chain[I->nchain++] = im;
}

void import_pop(Interp *I)
{
  if (I->nchain > 0)
    I->nchain--;
}

int import_run(Interp *I, const Stmt *s)
{
  Import *im = import_load(I, s);
  if (!im)
    return 1;
  if (im->state == IMPORT_RAN)
    return 0;
  im->state = IMPORT_RAN;
  return exec_program(I, im->prog);
}

int import_prelude(Interp *I)
{
  Source *src = source_new(&I->rt, "<prelude>", prelude_text_of_moe, strlen(prelude_text_of_moe));
  if (!src)
    return 1;
  int st = interp_run(I, src, 0, 0, NULL);
  I->prelude_names = I->globals.n;
  return st;
}

void import_free_all(Interp *I)
{
  for (int i = 0; i < I->nimports; i++) {
    rt_free(&I->rt, I->imports[i]->path);
    rt_free(&I->rt, I->imports[i]);
  }
  rt_free(&I->rt, I->imports);
  rt_free(&I->rt, I->chain);
  I->imports = NULL;
  I->chain = NULL;
  I->nimports = I->nchain = 0;
}
