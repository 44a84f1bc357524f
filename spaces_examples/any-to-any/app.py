"""Ask about an audio clip with the any-to-any pipeline (an audio-language chat model).

Audio is decoded with soundfile and resampled with numpy, so neither ffmpeg nor torchaudio is needed.
"""

import os

import gradio as gr
import numpy as np
import soundfile
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "Qwen/Qwen2-Audio-7B-Instruct")
chat = pipeline("any-to-any", model=MODEL_ID)  # loaded once, at start
RATE = chat.processor.feature_extractor.sampling_rate


def load_audio(path: str) -> np.ndarray:
    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    positions = np.arange(0, len(mono), rate / RATE)
    return np.interp(positions, np.arange(len(mono)), mono).astype(np.float32)


def ask(path, question):
    if path is None:
        raise gr.Error("Record or upload a clip first.")
    messages = [{"role": "user", "content": [{"type": "audio", "audio": load_audio(path)},
                                             {"type": "text", "text": question}]}]
    out = chat(text=messages, max_new_tokens=48, do_sample=False, return_full_text=False)
    return out[0]["generated_text"]


demo = gr.Interface(
    ask,
    [gr.Audio(type="filepath", label="Clip"), gr.Textbox("What do you hear?", label="Question")],
    gr.Textbox(label="Answer"),
    examples=[["examples/chirp.wav", "What do you hear?"]], title="🎧 Ask about audio",
    description=f"Model: `{MODEL_ID}`", api_name="predict",
)
demo.launch()
