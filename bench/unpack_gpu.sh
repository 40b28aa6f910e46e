#!/usr/bin/env bash
# Unpacks .gpu/*.xz (from bench/build_for_gpu.sh) next to themselves, once;
# Python's lzma module where there is no xz command.
set -euo pipefail
cd "$(dirname "$0")/.."
for packed in .gpu/*.xz; do
  [ -e "$packed" ] || continue
  plain="${packed%.xz}"
  [ -x "$plain" ] && continue
  python3 -c 'import lzma, shutil, sys
with lzma.open(sys.argv[1]) as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)' "$packed" "$plain"
  chmod +x "$plain"
done
