"""Uploads through Xet, Hugging Face's storage protocol (https://huggingface.co/docs/hub/xet), as
huggingface_hub 1 and later send every LFS file when `hf_xet` is installed (its default).

The client cuts a file into content-defined chunks, packs new chunks into xorbs and uploads them
(`xorbs`), then uploads a shard that says how each file is rebuilt from chunk ranges of xorbs and
what its sha256 is (`shards`). Podium rebuilds each file into its LFS store, where the commit that
follows finds it by that sha256, as if it had come through the LFS batch API. Downloads stay plain
HTTP: Podium's answers carry no Xet headers, so clients never ask it for reconstructions.
"""
