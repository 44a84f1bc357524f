"""Uploading a large file to Podium with huggingface_hub's own client, each way it can go, side by side:
through Xet (hf_xet installed, its default; podium.xet), through the LFS batch API (HF_HUB_DISABLE_XET=1),
and inline in the commit (a path `.gitattributes` does not track, which Podium moves into LFS itself).
Then the same file with one MiB changed in its middle, uploaded again: Xet sends only the chunks it has not
sent before, the others the whole file.

    .venv/bin/python benchmarks/hub_uploads.py [--mb 40] [--rounds 3]

Each upload is `HfApi.upload_file` in a fresh Python process (huggingface_hub reads HF_HUB_DISABLE_XET when
imported), timed from the call to its return, medians of the rounds. "sent" is what reached Podium's
stores: the new xorbs' chunks for Xet (data/xet), the object for the others (inline, the commit carries
it base64, a third more). On loopback, time is CPU: Xet's chunking and hashing on both sides cost more
than sending the bytes; across a network the bytes sent decide.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.podium_server import PodiumServer  # noqa: E402
from tests.support.process_spaces import free_port  # noqa: E402

MiB = 1024 * 1024
UPLOAD = """
import sys, time
from huggingface_hub import HfApi
api = HfApi()
started = time.perf_counter()
api.upload_file(path_or_fileobj=sys.argv[1], path_in_repo=sys.argv[2], repo_id=sys.argv[3])
print(time.perf_counter() - started)
"""
# (name, path in the repository, environment): *.safetensors is tracked by the Hub's .gitattributes.
WAYS = (
    ("Xet", "model.safetensors", {}),
    ("LFS batch API", "model.safetensors", {"HF_HUB_DISABLE_XET": "1"}),
    ("inline", "model.raw", {}),
)


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) if folder.exists() else 0


def xorb_maps(data: Path) -> set[Path]:
    return set((data / "xet" / "maps").rglob("*.json"))


def mapped_bytes(maps: set[Path]) -> int:
    """The bytes of the chunks of these xorbs (podium.xet.xorbs keeps a xorb as a map once its every chunk
    is in a rebuilt file, and drops the xorb itself)."""
    return sum(length for path in maps for _, _, length in json.loads(path.read_text())["chunks"])


def upload(server: PodiumServer, work: Path, file: Path, path: str, repo_id: str, env: dict[str, str]) -> float:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HF_")}
    environment |= {
        "HF_ENDPOINT": server.url,
        "HF_TOKEN": server.token,
        "HF_HOME": str(work / "hf-home"),
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(UPLOAD), str(file), path, repo_id],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the upload failed:\n{done.stderr[-3000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=40, help="size of the file (Podium's default limit is 50 MiB)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.mb <= 10:
        parser.error(
            "--mb must be over 10: a file that small sent inline stays in git, not in LFS, where this counts it"
        )
    tmp = Path(tempfile.mkdtemp(prefix="podium-bench-uploads-"))
    size = args.mb * MiB
    env = {"PODIUM_LIMITS__MAX_FILE_SIZE": str(2 * size), "PODIUM_LIMITS__MAX_UPLOAD_SIZE": str(4 * size)}
    server = PodiumServer(tmp / "data", free_port(), free_port(), env).start()
    results: dict[tuple[str, str], list[tuple[float, int]]] = {}
    try:
        for round_index in range(args.rounds):
            for name, path, way_env in WAYS:
                # Content of its own for each way: the stores keep one copy per content.
                first = tmp / f"first-{round_index}.bin"
                content = bytearray(os.urandom(size))
                first.write_bytes(content)
                content[size // 2 : size // 2 + MiB] = os.urandom(MiB)
                second = tmp / f"second-{round_index}.bin"
                second.write_bytes(content)
                repo_id = f"bench/{name.split()[0].lower()}-{round_index}"
                server.api().create_repo(repo_id)
                work = tmp / f"{name.split()[0]}-{round_index}"
                for label, file in (("first upload", first), ("1 MiB changed", second)):
                    maps, objects_before = xorb_maps(tmp / "data"), folder_bytes(tmp / "data" / "lfs" / "objects")
                    seconds = upload(server, work, file, path, repo_id, way_env)
                    xorbs = mapped_bytes(xorb_maps(tmp / "data") - maps)
                    objects = folder_bytes(tmp / "data" / "lfs" / "objects") - objects_before
                    results.setdefault((name, label), []).append((seconds, xorbs if name == "Xet" else objects))
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # rounds of uploaded files: a GiB and more

    print(f"\nhuggingface_hub upload_file of a {args.mb} MiB file of random bytes, medians of {args.rounds} rounds")
    header = f"{'way':<14} | {'first upload s':>14} {'sent MiB':>9} | {'1 MiB changed s':>15} {'sent MiB':>9}"
    print(header + f" {'sent x Xet':>10}")
    xet_changed = statistics.median(sent for _, sent in results["Xet", "1 MiB changed"])
    for name, _, _ in WAYS:
        cells = []
        for label in ("first upload", "1 MiB changed"):
            seconds = statistics.median(s for s, _ in results[name, label])
            sent = statistics.median(b for _, b in results[name, label]) / MiB
            cells.append((seconds, sent))
        (first_s, first_sent), (changed_s, changed_sent) = cells
        print(
            f"{name:<14} | {first_s:>14.2f} {first_sent:>9.1f} | {changed_s:>15.2f} {changed_sent:>9.1f}"
            f" {changed_sent * MiB / xet_changed:>10.1f}"
        )


if __name__ == "__main__":
    main()
