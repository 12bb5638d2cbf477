#!/bin/sh
# Installs, from Debian 12 packages, everything relais needs to build, test and run its demo.
# Run as root. Idempotent: packages already present are left as they are.
set -eu
export DEBIAN_FRONTEND=noninteractive
PACKAGES="
 build-essential autoconf automake libtool pkg-config make
 libssl-dev openssl libxml2-dev libxml2-utils libxmlsec1-dev libxmlsec1-openssl xmlsec1
 libcurl4-openssl-dev libpq-dev libmicrohttpd-dev libgnutls28-dev zlib1g-dev libinih-dev libjansson-dev
 libcmocka-dev libpoppler-glib-dev
 postgresql postgresql-client dnsmasq-base busybox curl procps python3
 clang libclang-rt-14-dev
 openjdk-17-jdk-headless libxml-security-java libslf4j-java libsaxonhe-java
"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
fi
