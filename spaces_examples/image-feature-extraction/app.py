"""Image similarity from image-feature-extraction embeddings."""

import os

import gradio as gr
import numpy as np
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "google/vit-base-patch16-224-in21k")
extractor = pipeline("image-feature-extraction", model=MODEL_ID)  # loaded once, at start


def embed(image) -> np.ndarray:
    vector = np.asarray(extractor(image, pool=True)).reshape(-1)
    return vector / np.linalg.norm(vector)


def compare(first, second):
    a, b = embed(first), embed(second)
    head = [[i, float(x), float(y)] for i, (x, y) in enumerate(zip(a[:8], b[:8]))]
    return float(a @ b), head


demo = gr.Interface(
    compare,
    [gr.Image(type="pil", label="First image"), gr.Image(type="pil", label="Second image")],
    [gr.Number(label="Cosine similarity"),
     gr.Dataframe(headers=["dimension", "first", "second"], label="First embedding values")],
    examples=[["examples/shapes.png", "examples/shapes.png"]],
    title="🧩 Image features", description=f"Model: `{MODEL_ID}`", api_name="predict",
)
demo.launch()
