/*
 * fuzz_moe.c — the libFuzzer target: arbitrary bytes as a moe script
 * (`make fuzz`; see tests/fuzz/run.sh).
 */
#include <stdlib.h>

#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const FuzzLimits lim = FUZZ_LIMITS;
  fuzz_one(data, size, &lim);
  return 0;
}
