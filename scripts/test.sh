#!/bin/sh
# Sets up everything (packages, build) and runs the whole test suite: `make check`.
# Extra arguments go to ./configure (e.g. --enable-sanitizers).
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh "$@"
make -j"$(nproc)" check
