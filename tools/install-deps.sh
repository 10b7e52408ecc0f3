#!/bin/sh
# Install what apdiag needs to build and test on Debian 12 (bookworm).
# Runs apt-get directly as root, through sudo otherwise.
set -eu
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    gcc libc6-dev meson ninja-build pkg-config \
    libarchive-dev libpcre2-dev libxml2-dev libsqlite3-dev libjson-c-dev libssl-dev zlib1g-dev check \
    cabextract gcab libarchive-tools zstd xz-utils bzip2 zip unzip python3 sqlite3 \
    libevtx-utils time >/dev/null
