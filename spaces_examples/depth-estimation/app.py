"""Monocular depth with the depth-estimation pipeline, shown beside the input in an ImageSlider."""

import os

import gradio as gr
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "vinvino02/glpn-kitti")
estimator = pipeline("depth-estimation", model=MODEL_ID)  # loaded once, at start


def depth(image):
    result = estimator(image)
    return image, result["depth"].convert("RGB").resize(image.size)


demo = gr.Interface(
    depth, gr.Image(type="pil", label="Image"), gr.ImageSlider(label="Image | depth", type="pil"),
    examples=[["examples/shapes.png"]], title="🏔️ Depth estimation", description=f"Model: `{MODEL_ID}`",
    api_name="predict",
)
demo.launch()
