#!/usr/bin/env bash
# Installs the Debian packages faultline needs to build and test, when any is missing.
# Sourced by tools/stories and tools/test; safe to run again (it only installs what is absent).
set -euo pipefail

FAULTLINE_PACKAGES=(g++ cmake make pkg-config catch2 libfmt-dev libspdlog-dev nlohmann-json3-dev
                    libboost-dev python3 python3-jsonschema chromium
                    libopenmpi-dev openmpi-bin)

# Only for `tools/test --fuzz` (libFuzzer; clang-14 cannot build faultline).
FAULTLINE_FUZZ_PACKAGES=(clang-16 libclang-rt-16-dev)

faultline_install_deps() {
  local missing=()
  for p in "${FAULTLINE_PACKAGES[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "faultline: installing Debian packages: ${missing[*]}" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# faultline_install_web: the HTML report's front-end pieces from the npm registry, pinned by
# web/package-lock.json (uPlot, embedded into the binary at build time, and playwright-core,
# which drives Debian's chromium in the report's browser tests). Node.js and npm come from
# Debian when the machine has none.
faultline_install_web() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    faultline_install_deps nodejs npm
  fi
  # Again only when the lock file changed since the last install (a copy is kept beside it).
  if ! cmp -s "$root/web/package-lock.json" "$root/web/node_modules/.faultline-installed-lock" 2>/dev/null; then
    echo "faultline: npm ci in web/" >&2
    (cd "$root/web" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$root/web/package-lock.json" "$root/web/node_modules/.faultline-installed-lock"
  fi
}

# faultline_build BUILD_DIR [cmake args...]: configure (once) and build with both cores.
faultline_build() {
  local dir=$1
  shift
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  cmake -S "$root" -B "$root/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFAULTLINE_WERROR=ON "$@" >/dev/null
  cmake --build "$root/$dir" -j"$(nproc 2>/dev/null || echo 2)"
}
