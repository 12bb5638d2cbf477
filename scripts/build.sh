#!/bin/sh
# Installs what is missing (Debian packages), then configures and builds relais in place.
# Extra arguments go to ./configure (e.g. --enable-sanitizers).
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then ./scripts/install-deps.sh; fi
[ -x configure ] || ./autogen.sh
if [ ! -f Makefile ] || [ "$#" -gt 0 ]; then ./configure -q "$@"; fi
make -j"$(nproc)" >/dev/null
