/*
 * simd.h — wide clones for the hot kernels.
 *
 * A function marked KERNEL is compiled three times (AVX-512, AVX2 and
 * baseline x86-64) and the loader picks the widest the CPU has, so one
 * portable binary still gets wide vectors.  Kernels marked KERNEL use only
 * IEEE operations (no FMA contraction where it would change results), so
 * every clone computes the same bits and results do not depend on the
 * machine's vector width.  -DKERNEL= drops the clones; TSan builds drop them
 * because TSan crashes in the clones' ifunc resolver.
 */
#ifndef MOE_SIMD_H
#define MOE_SIMD_H

#if !defined(KERNEL) && defined(__x86_64__) && defined(__GNUC__) && \
    !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#elif !defined(KERNEL)
#define KERNEL
#endif

#endif
