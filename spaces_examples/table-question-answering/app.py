"""Questions about a table with the table-question-answering pipeline (TAPAS)."""

import os

import pandas as pd
import streamlit as st
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "google/tapas-base-finetuned-wtq")
EXAMPLE = pd.DataFrame(
    {"fruit": ["apples", "pears", "plums"], "bought by": ["Alice", "Bob", "Alice"], "count": [12, 7, 30]}
)


@st.cache_resource  # one model per process, shared by every visitor
def table_qa():
    return pipeline("table-question-answering", model=MODEL_ID)


st.title("📊 Table question answering")
st.caption(f"Model: `{MODEL_ID}`")
table = st.data_editor(EXAMPLE, num_rows="dynamic")
question = st.text_input("Question", "How many apples did Alice buy?")
if st.button("Ask", type="primary"):
    # TAPAS tokenizes every cell as text; numbers must be strings.
    result = table_qa()(table=table.astype(str), query=question)
    st.subheader(f"Answer: {result['answer']}")
    st.table(pd.DataFrame({
        "cell": result["cells"],
        "row": [row for row, _ in result["coordinates"]],
        "column": [table.columns[col] for _, col in result["coordinates"]],
    }))
    st.write(f"Aggregation: {result.get('aggregator', 'NONE')}")
