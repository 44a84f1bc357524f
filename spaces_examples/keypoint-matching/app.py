"""Keypoint matches between two views with the keypoint-matching pipeline, drawn side by side."""

import os

import gradio as gr
from PIL import Image, ImageDraw
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "magic-leap-community/superglue_outdoor")
matcher = pipeline("keypoint-matching", model=MODEL_ID)  # loaded once, at start


def match(first, second, threshold):
    matches = matcher([first, second], threshold=threshold)
    canvas = Image.new("RGB", (first.width + second.width, max(first.height, second.height)), "white")
    canvas.paste(first, (0, 0))
    canvas.paste(second, (first.width, 0))
    draw = ImageDraw.Draw(canvas)
    rows = []
    for m in matches:
        a, b = m["keypoint_image_0"], m["keypoint_image_1"]
        draw.line((a["x"], a["y"], b["x"] + first.width, b["y"]), fill=(255, 160, 0), width=1)
        rows.append([a["x"], a["y"], b["x"], b["y"], m["score"]])
    return canvas, rows


demo = gr.Interface(
    match,
    [gr.Image(type="pil", label="First view"), gr.Image(type="pil", label="Second view"),
     gr.Slider(0.0, 1.0, value=0.0, step=0.01, label="Match score threshold")],
    [gr.Image(label="Matches"), gr.Dataframe(headers=["x0", "y0", "x1", "y1", "score"], label="Matches")],
    examples=[["examples/shapes.png", "examples/shapes_moved.png", 0.0]],
    title="🔗 Keypoint matching", description=f"Model: `{MODEL_ID}`", api_name="predict",
)
demo.launch()
