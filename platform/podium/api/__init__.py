"""Podium's HTTP API, with Hugging Face's paths and JSON shapes so huggingface_hub works unchanged."""
