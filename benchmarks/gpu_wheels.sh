#!/usr/bin/env bash
# Wheels that benchmarks/gpu_check.sh needs on a GPU machine without network (Python 3.12, which has
# torch, aiohttp, pyyaml, typer and jinja2 but not these): run here, then carry .gpu-wheels/ along.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/.gpu-wheels"
mkdir -p "$DEST"
# pydantic (podium_runner.spec), uv (podium_runner.process imports it), docker + requests (the docker
# backend, used where that machine has an engine).
python3 -m pip download --quiet --dest "$DEST" --only-binary=:all: \
    --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
    --platform any \
    pydantic pydantic-core annotated-types typing-inspection typing-extensions uv \
    docker requests urllib3 certifi charset-normalizer idna
ls -1 "$DEST"
echo "carry $DEST to the GPU machine (next to benchmarks/), then run benchmarks/gpu_check.sh there"
