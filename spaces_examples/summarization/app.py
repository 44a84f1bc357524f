"""Summarization with an encoder-decoder model, the transformers 5 way (no summarization pipeline).

`pipeline("text-generation", model=<bart>)` would load BartForCausalLM, the decoder only, so the app
keeps AutoModelForSeq2SeqLM and calls generate itself.
"""

import os

import streamlit as st
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

MODEL_ID = os.environ.get("MODEL_ID", "sshleifer/distilbart-cnn-12-6")


@st.cache_resource  # one model per process, shared by every visitor
def load():
    return AutoTokenizer.from_pretrained(MODEL_ID), AutoModelForSeq2SeqLM.from_pretrained(MODEL_ID)


def summarize(article: str, max_new_tokens: int) -> str:
    tokenizer, model = load()
    inputs = tokenizer(article, return_tensors="pt", truncation=True)
    ids = model.generate(**inputs, max_new_tokens=max_new_tokens, num_beams=2)
    return tokenizer.decode(ids[0], skip_special_tokens=True)


st.title("📰 Summarization")
st.caption(f"Model: `{MODEL_ID}`")
article = st.text_area(
    "Article",
    "The committee met on Tuesday and agreed on a new budget for schools. Teachers welcomed the plan, "
    "which adds money for books and repairs, while parents asked for smaller classes.",
    height=160,
)
length = st.slider("Longest summary (tokens)", 8, 120, 40)
if st.button("Summarize", type="primary"):
    summary = summarize(article, length)
    st.subheader("Summary")
    st.text(summary)
    st.caption(f"{len(summary.split())} words from {len(article.split())}")
