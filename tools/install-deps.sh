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
    libcurl4-openssl-dev libhivex-dev libgcab-dev \
    cabextract gcab libarchive-tools zstd xz-utils bzip2 zip unzip python3 sqlite3 \
    libevtx-utils time libhivex-bin libwin-hivex-perl openssl \
    gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 wine64 >/dev/null

# Chromium, for the HTML report's browser tests (tests/report/browser_test.py).
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null

# Azurite, the Azure Storage emulator, for the upload tests (tests/upload/).
# Debian 12 brings nodejs 18 and npm; Azurite is pinned to the last release
# that runs on node 18 (3.36 wants node 21).  It goes into its own prefix,
# where tests/upload/azlib.py looks first.
AZURITE_VERSION=3.35.0
AZURITE_PREFIX=/usr/local/lib/apdiag-azurite
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
	$SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
have=$(node -p "require('$AZURITE_PREFIX/node_modules/azurite/package.json').version" 2>/dev/null || true)
if [ "$have" != "$AZURITE_VERSION" ]; then
	$SUDO mkdir -p "$AZURITE_PREFIX"
	for try in 1 2 3; do
		if $SUDO npm install --prefix "$AZURITE_PREFIX" --no-audit --no-fund --loglevel=error \
		    "azurite@$AZURITE_VERSION" >/dev/null; then
			break
		fi
		[ "$try" = 3 ] && { echo "install-deps: npm could not install azurite@$AZURITE_VERSION" >&2; exit 1; }
		sleep 5
	done
fi
