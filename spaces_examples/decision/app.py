"""Yes/no, choice and score questions about a text with the decision pipeline (new in transformers 5).

The pipeline reads the answer from one forward pass: the next-token probabilities of `Yes`/`No` or of
the choice letters. Models whose type transformers maps to a dedicated decision head (qwen2, qwen3_5,
gemma4) must be passed as loaded objects, or the pipeline builds an untrained default head.
"""

import json
import os

import pandas as pd
import streamlit as st
from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

MODEL_ID = os.environ.get("MODEL_ID", "HuggingFaceTB/SmolLM2-360M-Instruct")
QUESTIONS = {
    "is_positive": {"type": "noul", "instructions": "Is the review positive?"},
    "mood": {"type": "choice", "instructions": "Which mood does the review show?",
             "criteria": {"happy": "The writer enjoyed it", "sad": None, "angry": None}},
}


@st.cache_resource  # one model per process, shared by every visitor
def decide():
    return pipeline("decision", model=AutoModelForCausalLM.from_pretrained(MODEL_ID),
                    tokenizer=AutoTokenizer.from_pretrained(MODEL_ID))


st.title("⚖️ Decisions")
st.caption(f"Model: `{MODEL_ID}`")
state = st.text_area("Text to judge", "I loved this movie, the acting was great but the ending was sad.")
questions = st.text_area("Questions (JSON)", json.dumps(QUESTIONS, indent=2), height=220)
if st.button("Decide", type="primary"):
    try:
        asked = json.loads(questions)
    except json.JSONDecodeError as exc:
        st.error(f"The questions are not valid JSON: {exc}")
    else:
        result = decide()({"state": state, "questions": asked})
        rows = []
        for name, answer in result.items():
            value = answer.get(answer["type"])
            rows.append({"question": name, "type": answer["type"], "answer": str(value),
                         "confidence": answer.get("confidence", value if answer["type"] == "noul" else None)})
        st.table(pd.DataFrame(rows))
