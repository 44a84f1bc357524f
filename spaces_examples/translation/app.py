"""Translation with a chat model through the text-generation pipeline (transformers 5 removed `translation`)."""

import os

import streamlit as st
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "HuggingFaceTB/SmolLM2-360M-Instruct")
LANGUAGES = ["French", "German", "Spanish", "Italian", "Portuguese"]


@st.cache_resource  # one model per process, shared by every visitor
def chat():
    return pipeline("text-generation", model=MODEL_ID)


def translate(text: str, language: str) -> str:
    messages = [
        {"role": "system", "content": "You are a translator. Reply with the translation only."},
        {"role": "user", "content": f"Translate into {language}:\n{text}"},
    ]
    out = chat()(messages, max_new_tokens=64, do_sample=False, return_full_text=False)
    return out[0]["generated_text"].strip()


st.title("🌍 Translation")
st.caption(f"Model: `{MODEL_ID}`")
text = st.text_area("English text", "The house is wonderful.")
language = st.selectbox("Into", LANGUAGES)
if st.button("Translate", type="primary"):
    st.subheader(language)
    st.text(translate(text, language))
