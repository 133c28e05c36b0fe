/*
 * api_internal.h — the inside of a moe_State, for the files that implement
 * the public API (api.c, api_hostfn.c).  Nothing here is installed.
 */
#ifndef MOE_API_INTERNAL_H
#define MOE_API_INTERNAL_H

#include "interp.h"
#include "moe.h"

struct moe_State {
  Interp I;
  moe_Config cfg;
  moe_Error last;
  char *last_msg, *last_file, *last_hint;   /* owned copies behind `last` */
  int running;           /* inside moe_run_*: diagnostics go to `last` */
};

/* Clears the last error, then checks a name argument and an output
 * pointer (NULL: the message says so); MOE_OK or MOE_EUSAGE. */
int api_check_args(moe_State *S, const char *fn, const char *name, const void *out);

/* Records an error of the API (no position) as the last error and returns
 * code. */
int api_fail(moe_State *S, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Binds v (consumed) to the global `name`, unless that holds another kind
 * (`fn` names the API function in the message). */
int api_define(moe_State *S, const char *fn, const char *name, Value v);

#endif
