"""Sentiment of a sentence with the text-classification pipeline."""

import os

import pandas as pd
import streamlit as st
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "distilbert/distilbert-base-uncased-finetuned-sst-2-english")


@st.cache_resource  # one model per process, shared by every visitor
def classifier():
    return pipeline("text-classification", model=MODEL_ID)


st.title("😊 Sentiment")
st.caption(f"Model: `{MODEL_ID}`")
text = st.text_area("Sentence", "I loved this movie, the acting was great but the ending was sad.")
if st.button("Classify", type="primary"):
    scores = classifier()(text, top_k=None)
    st.table(pd.DataFrame(scores, columns=["label", "score"]))
