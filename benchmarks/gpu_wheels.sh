#!/usr/bin/env bash
# What benchmarks/gpu_check.sh needs on a GPU machine without network: wheels (for Python 3.12, which has
# torch, aiohttp, pyyaml, typer and jinja2 but not these) and, for the sandboxed checks, Debian's packages of
# the sandbox's tools and their libraries (an Ubuntu 24.04 GPU image lacked them). Run here on Debian, then
# carry .gpu-wheels/ along.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/.gpu-wheels"
mkdir -p "$DEST"
# pydantic (podium_runner.spec), uv (podium_runner.process imports it), pyseccomp (the sandbox's filter),
# docker + requests (the docker backend, used where that machine has an engine).
python3 -m pip download --quiet --dest "$DEST" --only-binary=:all: \
    --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
    --platform any \
    pydantic pydantic-core annotated-types typing-inspection typing-extensions uv pyseccomp \
    docker requests urllib3 certifi charset-normalizer idna
mkdir -p "$DEST/debs"
# apt-get writes where it runs; names keep no '%3a' (an epoch's colon) for the copy to the other machine.
(cd "$DEST/debs" && apt-get download -q bubblewrap slirp4netns libslirp0 libglib2.0-0 iproute2 libmnl0 libbpf1 \
    libxtables12 libtirpc3 libelf1 libcap2 libdb5.3 libselinux1 libpcre2-8-0 libseccomp2 2>&1 | grep -v '^W:' || true
    for deb in *%3a*; do [ -e "$deb" ] && mv "$deb" "${deb//%3a/_}"; done)
ls -1 "$DEST" "$DEST/debs"
echo "carry $DEST to the GPU machine (next to benchmarks/), then run benchmarks/gpu_check.sh there"
