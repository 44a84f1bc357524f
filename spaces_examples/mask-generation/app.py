"""Segment everything in an image with SAM.

The mask-generation pipeline needs torchvision (its NMS). When torchvision is not installed, as in
Podium's shared example environment, the app prompts SAM with a grid of points through SamModel and
keeps the best-scoring masks that do not overlap much, which is what the pipeline does in bulk.
"""

import importlib.util
import os

import gradio as gr
import numpy as np
import torch
from transformers import SamModel, SamProcessor, pipeline

MODEL_ID = os.environ.get("MODEL_ID", "facebook/sam-vit-base")
GRID = 4  # points per side of the prompt grid
MAX_OVERLAP = 0.7  # intersection over union above which a lower-scoring mask is dropped

if importlib.util.find_spec("torchvision"):
    generator = pipeline("mask-generation", model=MODEL_ID)  # loaded once, at start
else:
    processor, model = SamProcessor.from_pretrained(MODEL_ID), SamModel.from_pretrained(MODEL_ID)


def masks_from_points(image) -> list[np.ndarray]:
    xs = (np.arange(GRID) + 0.5) * image.width / GRID
    ys = (np.arange(GRID) + 0.5) * image.height / GRID
    points = [[[[float(x), float(y)]] for x in xs for y in ys]]
    inputs = processor(images=image, input_points=points, return_tensors="pt")
    with torch.no_grad():
        out = model(**inputs, multimask_output=False)
    masks = processor.post_process_masks(out.pred_masks, inputs["original_sizes"], inputs["reshaped_input_sizes"])
    candidates = sorted(zip(out.iou_scores[0, :, 0].tolist(), masks[0][:, 0].numpy()), key=lambda c: -c[0])
    kept: list[np.ndarray] = []
    for _, mask in candidates:
        if not mask.any():
            continue
        overlaps = [(mask & k).sum() / (mask | k).sum() for k in kept]
        if all(o < MAX_OVERLAP for o in overlaps):
            kept.append(mask)
    return kept


def segment(image):
    if importlib.util.find_spec("torchvision"):
        masks = [np.asarray(m) for m in generator(image, points_per_batch=16, points_per_crop=8)["masks"]]
    else:
        masks = masks_from_points(image)
    return image, [(mask, f"mask {i + 1}") for i, mask in enumerate(masks)]


demo = gr.Interface(
    segment, gr.Image(type="pil", label="Image"), gr.AnnotatedImage(label="Masks"),
    examples=[["examples/shapes.png"]], title="✂️ Segment anything", description=f"Model: `{MODEL_ID}`",
    api_name="predict",
)
demo.launch()
