"""Keyword spotting with the audio-classification pipeline.

Audio is decoded with soundfile and resampled with numpy, so neither ffmpeg nor torchaudio is needed.
"""

import os

import gradio as gr
import numpy as np
import soundfile
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "superb/wav2vec2-base-superb-ks")
classifier = pipeline("audio-classification", model=MODEL_ID)  # loaded once, at start
RATE = classifier.feature_extractor.sampling_rate


def load_audio(path: str) -> np.ndarray:
    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    positions = np.arange(0, len(mono), rate / RATE)
    return np.interp(positions, np.arange(len(mono)), mono).astype(np.float32)


def classify(path):
    if path is None:
        raise gr.Error("Record or upload a clip first.")
    return {p["label"]: p["score"] for p in classifier(load_audio(path), top_k=5)}


demo = gr.Interface(
    classify, gr.Audio(type="filepath", label="Clip"), gr.Label(num_top_classes=5, label="Keywords"),
    examples=[["examples/chirp.wav"]], title="🔊 Audio classification", description=f"Model: `{MODEL_ID}`",
    api_name="predict",
)
demo.launch()
