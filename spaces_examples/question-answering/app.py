"""Extractive question answering without the pipeline transformers 5 removed.

The model scores every token as a possible start and end of the answer; the best span inside the
context (at most MAX_ANSWER_TOKENS long) is mapped back to characters through the offsets.
"""

import os

import pandas as pd
import streamlit as st
import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

MODEL_ID = os.environ.get("MODEL_ID", "distilbert/distilbert-base-cased-distilled-squad")
MAX_ANSWER_TOKENS = 15


@st.cache_resource  # one model per process, shared by every visitor
def load():
    return AutoTokenizer.from_pretrained(MODEL_ID), AutoModelForQuestionAnswering.from_pretrained(MODEL_ID)


def answers(question: str, context: str, top_k: int = 3) -> list[dict]:
    tokenizer, model = load()
    enc = tokenizer(question, context, return_offsets_mapping=True, truncation="only_second",
                    return_tensors="pt")
    offsets = enc.pop("offset_mapping")[0]
    in_context = torch.tensor([sid == 1 for sid in enc.sequence_ids(0)])
    with torch.no_grad():
        out = model(**{k: v for k, v in enc.items() if k in ("input_ids", "attention_mask")})
    start = out.start_logits[0].masked_fill(~in_context, -1e4).softmax(-1)
    end = out.end_logits[0].masked_fill(~in_context, -1e4).softmax(-1)
    # score[i, j] = P(start=i) * P(end=j), for i <= j < i + MAX_ANSWER_TOKENS
    scores = torch.triu(start[:, None] * end[None, :]).tril(MAX_ANSWER_TOKENS - 1)
    best = scores.flatten().topk(top_k)
    found = []
    for score, index in zip(best.values, best.indices):
        i, j = divmod(int(index), scores.shape[1])
        begin, finish = int(offsets[i][0]), int(offsets[j][1])
        found.append({"answer": context[begin:finish], "score": float(score), "start": begin, "end": finish})
    return found


st.title("❓ Extractive question answering")
st.caption(f"Model: `{MODEL_ID}`")
context = st.text_area("Context", "My name is Sarah and I live in London with my cat.")
question = st.text_input("Question", "Where does Sarah live?")
if st.button("Answer", type="primary"):
    found = answers(question, context)
    st.subheader(found[0]["answer"] or "(no answer)")
    st.table(pd.DataFrame(found, columns=["answer", "score", "start", "end"]))
