"""Speech to text with the automatic-speech-recognition pipeline.

Audio is decoded with soundfile and resampled with numpy, so neither ffmpeg nor torchaudio is needed.
"""

import os

import gradio as gr
import numpy as np
import soundfile
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "facebook/wav2vec2-base-960h")
recognizer = pipeline("automatic-speech-recognition", model=MODEL_ID)  # loaded once, at start
RATE = recognizer.feature_extractor.sampling_rate


def load_audio(path: str) -> np.ndarray:
    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    positions = np.arange(0, len(mono), rate / RATE)
    return np.interp(positions, np.arange(len(mono)), mono).astype(np.float32)


def transcribe(path):
    if path is None:
        raise gr.Error("Record or upload a clip first.")
    return recognizer({"raw": load_audio(path), "sampling_rate": RATE})["text"]


demo = gr.Interface(
    transcribe, gr.Audio(sources=["microphone", "upload"], type="filepath", label="Speech"),
    gr.Textbox(label="Transcript"),
    examples=[["examples/chirp.wav"]], title="🎙️ Speech recognition", description=f"Model: `{MODEL_ID}`",
    api_name="predict",
)
demo.launch()
