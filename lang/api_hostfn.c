/*
 * api_hostfn.c — moe_register_fn: a host C function as an expert, target,
 * router or plain function of a state (see moe.h).
 *
 * A host function is a Foreign (foreign.h) with the batched signature, so
 * it is evaluated like `extern fn f(X: block[in_dim])`: once per block of
 * samples, possibly on several worker threads at once.  The function value
 * or object is bound in the state's globals; the state frees it on close.
 */
#define MOE_BUILDING 1
#include "moe.h"

#include <string.h>

#include "api_internal.h"
#include "check.h"
#include "foreign.h"

#define NAME_MAX_LEN 256

/* A name a script can write: an identifier that is not a keyword. */
static int valid_name(const char *name)
{
  size_t n = strlen(name);
  if (n == 0 || n > NAME_MAX_LEN || (name[0] >= '0' && name[0] <= '9'))
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9')))
      return 0;
  }
  for (const char *const *kw = check_keywords(); *kw; kw++)
    if (strcmp(*kw, name) == 0)
      return 0;
  return 1;
}

/* Whether the dimensions fit the kind. */
static int valid_dims(int kind, int in_dim, int out_dim)
{
  if (in_dim < 1 || in_dim > FFI_MAX_DIM || out_dim < 1 || out_dim > FFI_MAX_DIM)
    return 0;
  switch (kind) {
  case MOE_FN_EXPERT:
  case MOE_FN_TARGET: return out_dim == 1;
  case MOE_FN_ROUTER: return out_dim >= 2;
  case MOE_FN_PLAIN: return 1;
  default: return 0;
  }
}

int moe_register_fn(moe_State *S, const char *name, int kind, int in_dim, int out_dim,
                    moe_HostFn fn, void *ud)
{
  if (!S)
    return MOE_EUSAGE;
  int st = api_check_args(S, "moe_register_fn", name, "");
  if (st)
    return st;
  if (!fn)
    return api_fail(S, MOE_EUSAGE, "moe_register_fn: fn is NULL");
  if (!valid_name(name))
    return api_fail(S, MOE_EUSAGE, "moe_register_fn: '%s' is not a name a script can use "
                    "(letters, digits and _, not a keyword)", name);
  if (kind < MOE_FN_EXPERT || kind > MOE_FN_PLAIN)
    return api_fail(S, MOE_EUSAGE, "moe_register_fn: kind %d is not one of MOE_FN_EXPERT, "
                    "MOE_FN_TARGET, MOE_FN_ROUTER, MOE_FN_PLAIN", kind);
  if (!valid_dims(kind, in_dim, out_dim))
    return api_fail(S, MOE_EUSAGE, "moe_register_fn: %s '%s' cannot have in_dim %d and "
                    "out_dim %d (1 to %d inputs; experts and targets give 1 value, routers "
                    "at least 2)", kind == MOE_FN_EXPERT ? "expert" : kind == MOE_FN_TARGET
                    ? "target" : kind == MOE_FN_ROUTER ? "router" : "function", name, in_dim,
                    out_dim, FFI_MAX_DIM);
  Interp *I = &S->I;
  Rt *rt = &I->rt;
  int as_vec = kind == MOE_FN_ROUTER || out_dim > 1;
  Foreign *F = ffi_host(rt, name, in_dim, out_dim, as_vec, fn, ud);
  Value v = F ? val_func(rt, NULL) : val_nil();
  if (v.kind == V_NIL) {
    ffi_unref(rt, F);
    rt_clear(rt);
    return api_fail(S, MOE_ERROR, "out of memory");
  }
  as_func(v)->ext = F;
  if (kind != MOE_FN_PLAIN) {
    static const VKind kinds[] = {V_NIL, V_EXPERT, V_TARGET, V_ROUTER};
    Value o;
    RtStatus st = ffi_new_object(rt, F, kinds[kind], &o);
    val_drop(rt, v);
    if (st) {
      rt_clear(rt);
      return api_fail(S, MOE_ERROR, "out of memory");
    }
    v = o;
  }
  return api_define(S, "moe_register_fn", name, v);
}
