"""Text to speech with the text-to-audio pipeline."""

import os

import gradio as gr
import numpy as np
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "facebook/mms-tts-eng")
speaker = pipeline("text-to-audio", model=MODEL_ID)  # loaded once, at start


def speak(text):
    if not text.strip():
        raise gr.Error("Type something to say.")
    out = speaker(text)
    return out["sampling_rate"], np.asarray(out["audio"], dtype=np.float32).reshape(-1)


demo = gr.Interface(
    speak, gr.Textbox("Podium runs machine learning demos.", label="Text"), gr.Audio(label="Speech"),
    examples=[["Podium runs machine learning demos."]], title="🗣️ Text to speech",
    description=f"Model: `{MODEL_ID}`", api_name="predict",
)
demo.launch()
