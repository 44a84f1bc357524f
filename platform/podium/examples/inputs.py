"""Writes the small example inputs the example spaces ship (images, audio, video, a table).

They are made by code so that nothing is downloaded and the files stay a few KiB; the output is
committed under each space's `examples/` folder. Rerun after changing a drawing:
`python platform/podium/examples/inputs.py spaces_examples` (needs numpy, pillow, soundfile and av,
which the examples' environment has).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image, ImageDraw

IMAGE_TASKS = (
    "depth-estimation",
    "image-classification",
    "image-feature-extraction",
    "image-segmentation",
    "image-text-to-text",
    "image-to-text",
    "keypoint-matching",
    "mask-generation",
    "object-detection",
    "visual-question-answering",
    "zero-shot-image-classification",
    "zero-shot-object-detection",
)
AUDIO_TASKS = (
    "any-to-any",
    "audio-classification",
    "automatic-speech-recognition",
    "zero-shot-audio-classification",
)
SAMPLE_RATE = 16000


def shapes(offset: int = 0) -> Image.Image:
    """A red square, a blue circle and a green triangle on white, 160x120 pixels."""
    image = Image.new("RGB", (160, 120), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((10 + offset, 20, 60 + offset, 70), fill=(220, 40, 40))
    draw.ellipse((80 + offset, 15, 130 + offset, 65), fill=(40, 80, 220))
    draw.polygon([(40 + offset, 110), (75 + offset, 75), (110 + offset, 110)], fill=(40, 170, 60))
    return image


def chirp(seconds: float = 1.0) -> np.ndarray:
    """A rising tone with a little noise: audio-shaped, deterministic, 16 kHz mono."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    rng = np.random.default_rng(0)
    wave = 0.4 * np.sin(2 * np.pi * (220 + 330 * t) * t) + 0.02 * rng.standard_normal(t.size)
    return wave.astype(np.float32)


def moving_square_video(path: Path, frames: int = 16, size: int = 64) -> None:
    import av  # only this writer needs it

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=8)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            image = Image.new("RGB", (size, size), "white")
            ImageDraw.Draw(image).rectangle((i * 3, 20, i * 3 + 16, 36), fill=(220, 40, 40))
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_all(root: Path) -> None:
    for task in IMAGE_TASKS:
        folder = root / task / "examples"
        folder.mkdir(parents=True, exist_ok=True)
        shapes().save(folder / "shapes.png")
    shapes(offset=12).save(root / "keypoint-matching" / "examples" / "shapes_moved.png")
    for task in AUDIO_TASKS:
        folder = root / task / "examples"
        folder.mkdir(parents=True, exist_ok=True)
        soundfile.write(folder / "chirp.wav", chirp(), SAMPLE_RATE, subtype="PCM_16")
    video = root / "video-classification" / "examples"
    video.mkdir(parents=True, exist_ok=True)
    moving_square_video(video / "moving_square.mp4")


if __name__ == "__main__":
    write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "spaces_examples"))
