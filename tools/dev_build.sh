#!/usr/bin/env bash
# Incremental developer build: compiles the extension into python/hpnn/ so that
# `PYTHONPATH=python python -m pytest` runs the working tree without reinstalling.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
# Several people (and helpers) share this tree: one build at a time.
exec 9>build/.dev_build.lock
flock 9
if [ ! -f build/dev/build.ninja ]; then
  cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$PWD/python/hpnn" \
    -Dpybind11_DIR="$(python -m pybind11 --cmakedir)" -DSKBUILD_PROJECT_VERSION=0.1.0.dev0 >/dev/null
fi
cmake --build build/dev
