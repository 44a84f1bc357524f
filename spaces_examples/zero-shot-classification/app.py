"""Classify text into labels chosen at run time, with the zero-shot-classification pipeline."""

import os

import pandas as pd
import streamlit as st
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "typeform/distilbert-base-uncased-mnli")


@st.cache_resource  # one model per process, shared by every visitor
def classifier():
    return pipeline("zero-shot-classification", model=MODEL_ID)


st.title("🎯 Zero-shot text classification")
st.caption(f"Model: `{MODEL_ID}`")
text = st.text_area("Text", "The weather today is sunny, warm and perfect for a walk in the park.")
labels = st.text_input("Labels, comma separated", "weather, sports, politics")
if st.button("Classify", type="primary"):
    candidates = [label.strip() for label in labels.split(",") if label.strip()]
    if not candidates:
        st.error("Type at least one label.")
    else:
        result = classifier()(text, candidate_labels=candidates)
        st.table(pd.DataFrame({"label": result["labels"], "score": result["scores"]}))
