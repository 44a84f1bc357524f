"""Chat about images with the image-text-to-text pipeline in a multimodal ChatInterface."""

import os

import gradio as gr
from PIL import Image
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "llava-hf/llava-interleave-qwen-0.5b-hf")
chat = pipeline("image-text-to-text", model=MODEL_ID)  # loaded once, at start


def user_turn(message) -> dict:
    content = [{"type": "image", "image": Image.open(path).convert("RGB")} for path in message["files"]]
    content.append({"type": "text", "text": message["text"]})
    return {"role": "user", "content": content}


def reply(message, history):
    if not message["files"]:
        raise gr.Error("Attach an image to ask about.")
    # Earlier turns go in as text: each new question is about the image attached to it.
    messages = [{"role": t["role"], "content": t["content"]} for t in history if isinstance(t["content"], str)]
    messages.append(user_turn(message))
    out = chat(text=messages, max_new_tokens=48, do_sample=False, return_full_text=False)
    return out[0]["generated_text"]


demo = gr.ChatInterface(
    reply, multimodal=True,
    examples=[{"text": "What shapes are in the picture?", "files": ["examples/shapes.png"]}],
    title="💬 Chat about an image", description=f"Model: `{MODEL_ID}`", api_name="chat",
)
demo.launch()
