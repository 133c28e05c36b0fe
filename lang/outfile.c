/*
 * outfile.c — `--output FILE` written through a temporary file and an
 * atomic rename (see outfile.h for the guarantees).
 */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *path, int err)
{
  fprintf(stderr, "moe: cannot write '%s': %s\n", path, strerror(err));
  return 1;
}

/* dir/.base.moe-XXXXXX for path dir/base. */
static char *tmp_name(const char *path)
{
  const char *slash = strrchr(path, '/');
  size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
  size_t n = strlen(path) + 16;
  char *t = malloc(n);
  if (t)
    snprintf(t, n, "%.*s.%s.moe-XXXXXX", (int)dir, path, path + dir);
  return t;
}

int outfile_open(OutFile *o, const char *path)
{
  memset(o, 0, sizeof *o);
  o->path = path;
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return fail(path, EISDIR);
  o->tmp = tmp_name(path);
  if (!o->tmp)
    return fail(path, ENOMEM);
  int fd = mkstemp(o->tmp);
  if (fd < 0) {
    int err = errno;
    free(o->tmp);
    o->tmp = NULL;
    return fail(path, err);
  }
  /* mkstemp makes 0600; the result should look like any file we create. */
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  o->f = fdopen(fd, "w");
  if (!o->f) {
    int err = errno;
    close(fd);
    unlink(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
    return fail(path, err);
  }
  return 0;
}

int outfile_commit(OutFile *o, int keep)
{
  if (!o->f)
    return 0;
  int err = 0;
  errno = 0;
  if (fflush(o->f) || ferror(o->f) || fsync(fileno(o->f)))
    err = errno ? errno : EIO;
  keep |= ftell(o->f) > 0;
  if (fclose(o->f) && !err)
    err = errno;
  o->f = NULL;
  if (!err && keep && rename(o->tmp, o->path))
    err = errno;
  if (err || !keep)
    unlink(o->tmp);
  free(o->tmp);
  o->tmp = NULL;
  return err ? fail(o->path, err) : 0;
}
