/*
 * api.c — the public libmoe API of moe.h on top of the interpreter.
 *
 * A moe_State wraps an Interp and remembers the last diagnostic it emitted
 * (message and position) for moe_last_error.
 */
#define MOE_BUILDING 1
#include "moe.h"

#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "config.h"

static void *std_realloc(void *ptr, size_t size, void *ud)
{
  (void)ud;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, size);
}

void moe_config_init(moe_Config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
}

static void to_writer(void *ud, const char *s, size_t n)
{
  moe_State *S = ud;
  if (S->cfg.write)
    S->cfg.write(S->cfg.write_ud, s, n);
}

static void to_error(void *ud, const char *s, size_t n)
{
  moe_State *S = ud;
  if (S->cfg.error)
    S->cfg.error(S->cfg.error_ud, s, n);
}

moe_State *moe_open(const moe_Config *cfg)
{
  moe_Config c;
  if (cfg)
    c = *cfg;
  else
    moe_config_init(&c);
  if (!c.realloc_fn)
    c.realloc_fn = std_realloc;
  moe_State *S = c.realloc_fn(NULL, sizeof *S, c.alloc_ud);
  if (!S)
    return NULL;
  memset(S, 0, sizeof *S);
  S->cfg = c;
  interp_init(&S->I, to_writer, S, to_error, S);
  S->I.rt.realloc_fn = c.realloc_fn;
  S->I.rt.alloc_ud = c.alloc_ud;
  if (c.threads > 0)
    S->I.set.threads = c.threads;
  S->I.no_ffi = c.no_ffi;
  return S;
}

void moe_close(moe_State *S)
{
  if (!S)
    return;
  interp_free(&S->I);
  rt_free(&S->I.rt, S->last_msg);
  rt_free(&S->I.rt, S->last_file);
  S->cfg.realloc_fn(S, 0, S->cfg.alloc_ud);
}

static int run(moe_State *S, Source *src)
{
  int st = interp_run(&S->I, src, 0, 0, NULL);
  return st ? MOE_ERROR : MOE_OK;
}

int moe_run_string(moe_State *S, const char *text, const char *name)
{
  if (!S || !text)
    return MOE_EUSAGE;
  Source *src = source_new(&S->I.rt, name ? name : "<string>", text, strlen(text));
  if (!src)
    return MOE_ERROR;
  return run(S, src);
}

int moe_run_file(moe_State *S, const char *path)
{
  if (!S || !path)
    return MOE_EUSAGE;
  Source *src;
  if (source_read(&S->I.rt, path, &src)) {
    rt_clear(&S->I.rt);
    return MOE_EIO;
  }
  return run(S, src);
}

const moe_Error *moe_last_error(const moe_State *S)
{
  return S ? &S->last : NULL;
}

const char *moe_version(void) { return PACKAGE_VERSION; }
