"""Visual question answering with ViLT, without the pipeline transformers 5 removed.

ViLT's head is multi-label over a fixed answer vocabulary: a sigmoid per answer, the top ones shown.
"""

import os

import gradio as gr
import torch
from transformers import AutoModelForVisualQuestionAnswering, AutoProcessor

MODEL_ID = os.environ.get("MODEL_ID", "dandelin/vilt-b32-finetuned-vqa")
processor = AutoProcessor.from_pretrained(MODEL_ID)  # loaded once, at start
model = AutoModelForVisualQuestionAnswering.from_pretrained(MODEL_ID)


def answer(image, question):
    if not question.strip():
        raise gr.Error("Type a question about the image.")
    with torch.no_grad():
        logits = model(**processor(images=image, text=question, return_tensors="pt")).logits[0]
    best = logits.sigmoid().topk(min(5, logits.numel()))
    return {model.config.id2label[int(i)]: float(p) for p, i in zip(best.values, best.indices)}


demo = gr.Interface(
    answer,
    [gr.Image(type="pil", label="Image"), gr.Textbox("What color is the square?", label="Question")],
    gr.Label(num_top_classes=5, label="Answers"),
    examples=[["examples/shapes.png", "What color is the square?"]], title="🧐 Visual question answering",
    description=f"Model: `{MODEL_ID}`", api_name="predict",
)
demo.launch()
