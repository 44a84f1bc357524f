"""Image captioning, the transformers 5 way: image-to-text is served by the image-text-to-text pipeline.

Captioning models (BLIP, GIT) are called with `text=""`, or with the start of a caption to complete;
an image alone raises an error in transformers 5.
"""

import os

import gradio as gr
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "Salesforce/blip-image-captioning-base")
captioner = pipeline("image-text-to-text", model=MODEL_ID)  # loaded once, at start


def caption(image, prefix):
    out = captioner(images=image, text=prefix, max_new_tokens=24)
    return out[0]["generated_text"].strip()


demo = gr.Interface(
    caption,
    [gr.Image(type="pil", label="Image"), gr.Textbox("", label="Start of the caption (optional)")],
    gr.Textbox(label="Caption"),
    examples=[["examples/shapes.png", "a picture of"]], title="📝 Image captioning",
    description=f"Model: `{MODEL_ID}`", api_name="predict",
)
demo.launch()
