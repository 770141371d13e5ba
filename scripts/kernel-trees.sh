#!/usr/bin/env bash
# Installs the Debian kernel source packages (if missing) and unpacks them into .cache/kernel/,
# which git ignores. Prints the tree paths. Used by the benchmarks and test/kernel/.
#   scripts/kernel-trees.sh            # both 6.12 and 6.1
#   scripts/kernel-trees.sh 6.12       # one
set -euo pipefail
cd "$(dirname "$0")/.."
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(6.12 6.1)
mkdir -p .cache/kernel
for v in "${versions[@]}"; do
  tarball=/usr/src/linux-source-$v.tar.xz
  if [ ! -f "$tarball" ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "kernel-trees: $tarball is missing; install it with: sudo apt-get install -y linux-source-$v" >&2
      exit 1
    fi
    echo "kernel-trees: installing linux-source-$v from Debian" >&2
    (apt-get install -y "linux-source-$v" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "linux-source-$v" >/dev/null; }) \
      || { echo "kernel-trees: could not install linux-source-$v" >&2; exit 1; }
  fi
  dest=.cache/kernel/linux-source-$v
  if [ ! -f "$dest/.unpacked" ]; then
    echo "kernel-trees: unpacking $tarball" >&2
    rm -rf "$dest"
    tar -C .cache/kernel -xf "$tarball"
    touch "$dest/.unpacked"
  fi
  echo "$PWD/$dest"
done
