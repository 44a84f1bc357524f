"""Text-to-text generation with an encoder-decoder model, the transformers 5 way.

The `text2text-generation` pipeline is gone; AutoModelForSeq2SeqLM.generate does the same work.
"""

import os

import gradio as gr
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

MODEL_ID = os.environ.get("MODEL_ID", "facebook/bart-base")
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)  # loaded once, at start
model = AutoModelForSeq2SeqLM.from_pretrained(MODEL_ID)


def generate(text, max_new_tokens):
    ids = model.generate(**tokenizer(text, return_tensors="pt"), max_new_tokens=int(max_new_tokens), num_beams=2)
    return tokenizer.decode(ids[0], skip_special_tokens=True)


demo = gr.Interface(
    generate,
    [gr.Textbox("Paris is the <mask> of France.", label="Input"),
     gr.Slider(4, 64, value=24, step=1, label="Longest output (tokens)")],
    gr.Textbox(label="Output"),
    examples=[["Paris is the <mask> of France.", 24]], title="🔁 Text-to-text generation",
    description=f"Model: `{MODEL_ID}`", api_name="predict",
)
demo.launch()
