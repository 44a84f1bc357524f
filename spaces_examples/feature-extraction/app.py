"""Sentence similarity from feature-extraction embeddings (mean pooled, L2 normalised)."""

import os

import numpy as np
import pandas as pd
import streamlit as st
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "sentence-transformers/all-MiniLM-L6-v2")


@st.cache_resource  # one model per process, shared by every visitor
def embedder():
    return pipeline("feature-extraction", model=MODEL_ID)


def embed(sentences: list[str]) -> np.ndarray:
    # One vector per sentence: the mean of its token vectors, normalised, as sentence-transformers does.
    vectors = np.stack([np.asarray(tokens[0]).mean(axis=0) for tokens in embedder()(sentences)])
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


st.title("🧭 Sentence similarity")
st.caption(f"Model: `{MODEL_ID}`")
text = st.text_area(
    "One sentence per line",
    "A man is eating food.\nA man is eating a piece of bread.\nThe stock market fell sharply today.",
)
if st.button("Compare", type="primary"):
    sentences = [line.strip() for line in text.splitlines() if line.strip()]
    if len(sentences) < 2:
        st.error("Type at least two sentences, one per line.")
    else:
        vectors = embed(sentences)
        st.write(f"{len(sentences)} sentences, {vectors.shape[1]} dimensions each. Cosine similarity:")
        labels = [sentence[:30] for sentence in sentences]
        st.table(pd.DataFrame(vectors @ vectors.T, index=labels, columns=labels).round(3))
