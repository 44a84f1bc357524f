"""Semantic segmentation with the image-segmentation pipeline, one overlay per class."""

import os

import gradio as gr
import numpy as np
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "nvidia/segformer-b0-finetuned-ade-512-512")
segmenter = pipeline("image-segmentation", model=MODEL_ID)  # loaded once, at start


def segment(image):
    segments = segmenter(image)
    return image, [(np.asarray(s["mask"]) > 0, s["label"]) for s in segments]


demo = gr.Interface(
    segment, gr.Image(type="pil", label="Image"), gr.AnnotatedImage(label="Segments"),
    examples=[["examples/shapes.png"]], title="🗺️ Image segmentation", description=f"Model: `{MODEL_ID}`",
    api_name="predict",
)
demo.launch()
