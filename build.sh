#!/usr/bin/env bash
# build.sh — set up a fresh Debian machine, build moe, and run something.
#
#   ./build.sh example   install build dependencies, build, run examples/quickstart.moe
#   ./build.sh test      the same set-up, then the whole test suite ("N passed, N failed")
#   ./build.sh deps      only install the build dependencies
#
# Dependencies come from Debian's packages (apt-get, as root or through sudo)
# and are only installed when missing.
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES="build-essential autoconf automake libtool pkg-config re2c lemon libffi-dev
libopenblas-dev liblapacke-dev librandom123-dev libjansson-dev libedit-dev python3
python3-numpy"

install_deps() {
  local missing=()
  for p in $PACKAGES; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "build.sh: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

configure_and_build() {
  [ -x configure ] && [ configure -nt configure.ac ] && [ Makefile.in -nt Makefile.am ] || ./autogen.sh
  [ -f Makefile ] && [ config.status -nt configure ] || ./configure --quiet
  make -j"$(nproc)" >/dev/null
}

# Counts the results of every test log (.trs) under a directory.
summary() {
  local pass fail
  pass=$(cat $(find "${1:-.}" -name '*.trs') 2>/dev/null | grep -c '^:test-result: \(PASS\|XFAIL\|SKIP\)' || true)
  fail=$(cat $(find "${1:-.}" -name '*.trs') 2>/dev/null | grep -c '^:test-result: \(FAIL\|XPASS\|ERROR\)' || true)
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}

case "${1:-example}" in
  deps)
    install_deps ;;
  example)
    install_deps
    configure_and_build
    ./moe examples/quickstart.moe ;;
  test)
    install_deps
    configure_and_build
    find . -name '*.trs' -delete
    status=0
    make -j"$(nproc)" check >/dev/null 2>&1 || status=$?
    if [ $status -ne 0 ]; then
      grep -h -B1 -A12 '^not ok\|^ERROR' tests/*.log tests/unit/*.log 2>/dev/null | head -200 || true
    fi
    summary . ;;
  summary)
    summary "${2:-.}" ;;
  *)
    echo "usage: ./build.sh [example|test|deps]" >&2
    exit 2 ;;
esac
