#!/bin/sh
# run.sh — builds the libFuzzer target with clang (ASan + UBSan + coverage)
# and runs it: `make fuzz` (FUZZ_SECONDS, default 60) calls this.
#
#   run.sh SRCDIR SECONDS "CPPFLAGS" "LIBS" [libFuzzer options...]
#
# Everything goes under ./fuzz of the build directory: objects, the binary,
# the working corpus (kept between runs), crash artifacts and the log.  The
# seed corpus is every .moe file of tests/ and examples/.  Exits non-zero if
# the fuzzer found a crash, a leak, a timeout or an out-of-memory.
set -eu
src=$1; seconds=$2; cppflags=$3; libs=$4
shift 4
CC=${FUZZ_CC:-clang}
command -v "$CC" >/dev/null || { echo "make fuzz needs clang (Debian: clang, libclang-rt-14-dev)" >&2; exit 1; }
mkdir -p fuzz/obj fuzz/corpus fuzz/seed fuzz/artifacts
flags="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -std=gnu11 -D_GNU_SOURCE -pthread -DMOE_STDLIB_DIR=\"\""
objs=""
for f in "$src"/runtime/*.c "$src"/lang/*.c "$src"/stdlib/prelude.c "$src"/tests/fuzz/harness.c "$src"/tests/fuzz/fuzz_moe.c; do
  case "$f" in */lang/main.c|*/lang/repl.c) continue ;; esac
  o=fuzz/obj/$(echo "$f" | sed "s|^$src/||; s|/|_|g; s|\.c$|.o|")
  if [ ! -f "$o" ] || [ "$f" -nt "$o" ] || [ fuzz/obj -ot "$src/configure" ]; then
    # shellcheck disable=SC2086
    $CC $flags $cppflags -I"$src/tests/fuzz" -c "$f" -o "$o"
  fi
  objs="$objs $o"
done
# shellcheck disable=SC2086
$CC -fsanitize=fuzzer,address,undefined $objs $libs -ldl -lm -pthread -o fuzz/fuzz_moe
python3 "$src/tests/fuzz/make_dict.py" "$src" > fuzz/moe.dict
find "$src/tests" "$src/examples" -name '*.moe' -size -16k -exec cp {} fuzz/seed/ \; 2>/dev/null || true
export OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
exec ./fuzz/fuzz_moe fuzz/corpus fuzz/seed -dict=fuzz/moe.dict -max_total_time="$seconds" \
  -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
  -artifact_prefix=fuzz/artifacts/ "$@"
