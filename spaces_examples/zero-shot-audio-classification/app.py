"""Classify sounds into labels chosen at run time with the zero-shot-audio-classification pipeline (CLAP).

Audio is decoded with soundfile and resampled to CLAP's rate with numpy (no ffmpeg or torchaudio).
"""

import os

import gradio as gr
import numpy as np
import soundfile
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "laion/clap-htsat-unfused")
classifier = pipeline("zero-shot-audio-classification", model=MODEL_ID)  # loaded once, at start
RATE = classifier.feature_extractor.sampling_rate


def load_audio(path: str) -> np.ndarray:
    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    positions = np.arange(0, len(mono), rate / RATE)
    return np.interp(positions, np.arange(len(mono)), mono).astype(np.float32)


def classify(path, labels):
    if path is None:
        raise gr.Error("Record or upload a clip first.")
    candidates = [label.strip() for label in labels.split(",") if label.strip()]
    if not candidates:
        raise gr.Error("Type at least one label, such as: a whistle, a dog barking, speech")
    return {p["label"]: p["score"] for p in classifier(load_audio(path), candidate_labels=candidates)}


demo = gr.Interface(
    classify,
    [gr.Audio(type="filepath", label="Clip"),
     gr.Textbox("a whistle, a dog barking, speech", label="Labels, comma separated")],
    gr.Label(label="Scores"),
    examples=[["examples/chirp.wav", "a whistle, a dog barking, speech"]],
    title="🎼 Zero-shot audio classification", description=f"Model: `{MODEL_ID}`", api_name="predict",
)
demo.launch()
