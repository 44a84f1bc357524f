"""The libraries' own round trips with HF_ENDPOINT set to Podium: `transformers`' push_to_hub and
from_pretrained of a tiny BERT and its tokenizer, `datasets`' load_dataset of an uploaded parquet file. Each runs in
a Python process of its own, as a user's script does: huggingface_hub reads HF_ENDPOINT when imported."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.podium_server import PodiumServer

pytestmark = pytest.mark.timeout(300)

ROUND_TRIP_TIMEOUT_S = 240

PUSH_AND_LOAD_BERT = """
import torch
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel, BertTokenizerFast

vocab = "vocab.txt"
with open(vocab, "w") as file:
    file.write("\\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world"]))
torch.manual_seed(0)
config = BertConfig(
    vocab_size=7, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37
)
model = BertModel(config)
tokenizer = BertTokenizerFast(vocab_file=vocab)
model.push_to_hub("alice/tiny-bert")
tokenizer.push_to_hub("alice/tiny-bert")

loaded = AutoModel.from_pretrained("alice/tiny-bert", cache_dir="fresh-cache")
for name, tensor in model.state_dict().items():
    assert torch.equal(tensor, loaded.state_dict()[name]), name
again = AutoTokenizer.from_pretrained("alice/tiny-bert", cache_dir="fresh-cache")
assert again.get_vocab() == tokenizer.get_vocab() and again("hello world") == tokenizer("hello world")
print("bert round trip ok", loaded.config.hidden_size, loaded.config.num_hidden_layers)
"""

UPLOAD_AND_LOAD_DATASET = """
from datasets import Dataset, load_dataset
from huggingface_hub import HfApi

Dataset.from_dict({"text": ["hello", "world", "again"], "label": [1, 0, 1]}).to_parquet("train.parquet")
api = HfApi()
api.create_repo("alice/tiny-ds", repo_type="dataset")
api.upload_file(
    path_or_fileobj="train.parquet", path_in_repo="data/train-00000-of-00001.parquet",
    repo_id="alice/tiny-ds", repo_type="dataset",
)
loaded = load_dataset("alice/tiny-ds", split="train", cache_dir="fresh-cache")
assert loaded["text"] == ["hello", "world", "again"] and loaded["label"] == [1, 0, 1], loaded
print("dataset round trip ok", loaded.num_rows)
"""

# datasets' own push_to_hub uploads each shard ahead of its commit (preupload_lfs_files, through Xet where
# hf_xet is installed) and deletes the shard's file before committing: only a Hub that takes those
# uploads has the shards to commit.
PUSH_AND_LOAD_DATASET = """
from datasets import Dataset, load_dataset

Dataset.from_dict({"text": ["one", "two", "three", "four"], "label": [0, 1, 0, 1]}).push_to_hub("alice/pushed-ds")
loaded = load_dataset("alice/pushed-ds", split="train", cache_dir="fresh-cache")
assert loaded["text"] == ["one", "two", "three", "four"] and loaded["label"] == [0, 1, 0, 1], loaded
print("push_to_hub round trip ok", loaded.num_rows)
"""


def _run_against(hub: PodiumServer, token: str, script: str, folder: Path) -> str:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("HF_", "HUGGINGFACE_", "TRANSFORMERS_"))
    }
    env |= {
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": token,
        "HF_HOME": str(folder / "hf-home"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "NO_PROXY": "127.0.0.1",
    }
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=ROUND_TRIP_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def test_transformers_pushes_a_model_and_its_tokenizer_and_loads_them_back(
    hub: PodiumServer, hub_api, tokens, tmp_path: Path
) -> None:
    pytest.importorskip("transformers")
    assert "bert round trip ok 32 2" in _run_against(hub, tokens["alice"], PUSH_AND_LOAD_BERT, tmp_path)
    files = set(hub_api(False).list_repo_files("alice/tiny-bert"))
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= files
    [weights] = hub_api(False).get_paths_info("alice/tiny-bert", ["model.safetensors"])
    assert weights.lfs is not None  # *.safetensors goes to LFS, as the Hub's .gitattributes says


def test_load_dataset_reads_a_dataset_uploaded_to_podium(hub: PodiumServer, hub_api, tokens, tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    assert "dataset round trip ok 3" in _run_against(hub, tokens["alice"], UPLOAD_AND_LOAD_DATASET, tmp_path)
    assert hub_api(False).dataset_info("alice/tiny-ds").id == "alice/tiny-ds"


def test_datasets_push_to_hub_uploads_its_shards_and_loads_them_back(
    hub: PodiumServer, hub_api, tokens, tmp_path: Path
) -> None:
    pytest.importorskip("datasets")
    assert "push_to_hub round trip ok 4" in _run_against(hub, tokens["alice"], PUSH_AND_LOAD_DATASET, tmp_path)
    parquet = [path for path in hub_api(False).list_repo_files("alice/pushed-ds", repo_type="dataset")]
    [shard] = [path for path in parquet if path.endswith(".parquet")]
    [info] = hub_api(False).get_paths_info("alice/pushed-ds", [shard], repo_type="dataset")
    assert info.lfs is not None  # uploaded ahead, committed as an LFS pointer
