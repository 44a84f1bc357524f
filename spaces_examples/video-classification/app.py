"""Action recognition with the video-classification pipeline (frames decoded with PyAV)."""

import os

import gradio as gr
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "MCG-NJU/videomae-base-finetuned-kinetics")
classifier = pipeline("video-classification", model=MODEL_ID)  # loaded once, at start


def classify(path):
    if path is None:
        raise gr.Error("Upload a video first.")
    return {p["label"]: p["score"] for p in classifier(path, top_k=5)}


demo = gr.Interface(
    classify, gr.Video(label="Video"), gr.Label(num_top_classes=5, label="Actions"),
    examples=[["examples/moving_square.mp4"]], title="🎬 Video classification",
    description=f"Model: `{MODEL_ID}`", api_name="predict",
)
demo.launch()
