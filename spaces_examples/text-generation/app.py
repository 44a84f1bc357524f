"""Chat with an instruction model through the text-generation pipeline."""

import os

import gradio as gr
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "HuggingFaceTB/SmolLM2-135M-Instruct")
chat = pipeline("text-generation", model=MODEL_ID)  # loaded once, at start


def reply(message, history):
    messages = [{"role": turn["role"], "content": turn["content"]} for turn in history]
    messages.append({"role": "user", "content": message})
    out = chat(messages, max_new_tokens=64, do_sample=False, return_full_text=False)
    return out[0]["generated_text"]


demo = gr.ChatInterface(
    reply, examples=["What is the capital of France?"], title="🤖 Chat", description=f"Model: `{MODEL_ID}`",
    api_name="chat",
)
demo.launch()
