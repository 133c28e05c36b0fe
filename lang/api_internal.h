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
  char *last_msg, *last_file;
};

#endif
