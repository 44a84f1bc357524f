"""The upstream cache (issue 12 item 4), measured with huggingface_hub's own client: a model of `--mb`
megabytes (one LFS file) on an upstream Podium, read through a second Podium that caches it
(PODIUM_HUB_UPSTREAM): its first load (fetched from the upstream), a second load (a client with an empty
cache of its own, served from the cache), and a direct read of the upstream, side by side.

    .venv/bin/python benchmarks/model_cache.py [--mb 100] [--rounds 3]

Everything runs on 127.0.0.1; the upstream is reached through the tests' counting relay, which also shows
that the cache asked it for the file once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from huggingface_hub import hf_hub_download

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.models.cache_fixtures import CountingUpstream, publish_model  # noqa: E402
from tests.support.podium_server import PodiumServer  # noqa: E402
from tests.support.process_spaces import free_port  # noqa: E402


def timed_download(server: PodiumServer, repo_id: str, cache: Path) -> float:
    started = time.perf_counter()
    hf_hub_download(repo_id, "model.safetensors", endpoint=server.url, token=server.token, cache_dir=cache)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="model-cache-bench-"))
    limit = {"PODIUM_LIMITS__MAX_FILE_SIZE": str((args.mb + 1) * 1024 * 1024)}  # the default is 50 MiB
    origin = PodiumServer(root / "origin", free_port(), free_port(), limit).start()
    relay = CountingUpstream(origin.url)
    edge = PodiumServer(root / "edge", free_port(), free_port(), {"PODIUM_HUB_UPSTREAM": relay.url}).start()
    rows: dict[str, list[float]] = {"first load through the cache": [], "second load": [], "direct from upstream": []}
    try:
        for round_ in range(args.rounds):
            repo_id = f"bench/model-{round_}"
            publish_model(origin.api(), repo_id, {"model.safetensors": os.urandom(args.mb * 1024 * 1024)})
            rows["first load through the cache"].append(timed_download(edge, repo_id, root / f"c{round_}a"))
            rows["second load"].append(timed_download(edge, repo_id, root / f"c{round_}b"))
            rows["direct from upstream"].append(timed_download(origin, repo_id, root / f"c{round_}c"))
            assert relay.file_downloads(repo_id, "model.safetensors") == 1
        print(f"{args.mb} MB model, {args.rounds} rounds, median seconds (MB/s):")
        for label, times in rows.items():
            median = statistics.median(times)
            print(f"  {label:32} {median:7.2f} s  ({args.mb / median:7.1f} MB/s)")
        print("the upstream sent each model's file once:", dict(relay.downloads))
    finally:
        edge.stop()
        origin.stop()
        relay.go_away()


if __name__ == "__main__":
    main()
