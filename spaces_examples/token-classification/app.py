"""Named entities with the token-classification pipeline, highlighted in the text."""

import os

import gradio as gr
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "dslim/bert-base-NER")
tagger = pipeline("token-classification", model=MODEL_ID, aggregation_strategy="simple")  # loaded once


def tag(text):
    entities = [{"entity": e["entity_group"], "start": e["start"], "end": e["end"], "score": float(e["score"])}
                for e in tagger(text)]
    return {"text": text, "entities": entities}


demo = gr.Interface(
    tag, gr.Textbox("My name is Sarah and I live in London with my cat.", label="Text"),
    gr.HighlightedText(label="Entities"),
    examples=[["My name is Sarah and I live in London with my cat."]], title="🏷️ Named entities",
    description=f"Model: `{MODEL_ID}`", api_name="predict",
)
demo.launch()
