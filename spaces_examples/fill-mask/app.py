"""The words that best fill a [MASK], with the fill-mask pipeline."""

import os

import pandas as pd
import streamlit as st
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "google-bert/bert-base-uncased")


@st.cache_resource  # one model per process, shared by every visitor
def unmasker():
    return pipeline("fill-mask", model=MODEL_ID)


st.title("🎭 Fill the mask")
st.caption(f"Model: `{MODEL_ID}`")
fill = unmasker()
text = st.text_input(f"Sentence with {fill.tokenizer.mask_token}", f"Paris is the {fill.tokenizer.mask_token} of France.")
if st.button("Fill", type="primary"):
    if fill.tokenizer.mask_token not in text:
        st.error(f"Put {fill.tokenizer.mask_token} where the missing word goes.")
    else:
        guesses = fill(text, top_k=5)
        st.table(pd.DataFrame(guesses, columns=["token_str", "score", "sequence"]))
