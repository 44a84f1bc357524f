"""What each example must answer to its shipped input: the output's type and shape for its task.

The models are random stand-ins, so values mean nothing; the checks pin what a user's client relies
on instead: which keys, how many items, what kind of file. Gradio examples are called as a client
would, with `gradio_client`; Streamlit examples are used in a browser, by typing and clicking.
"""

from __future__ import annotations

import math
import re
import wave
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from gradio_client import Client, handle_file
from PIL import Image
from playwright.sync_api import Page
from podium.examples import EXAMPLES_DIR


def example_file(task: str, name: str) -> dict:
    return handle_file(str(EXAMPLES_DIR / task / "examples" / name))


def approx(value: float) -> object:
    return pytest.approx(value, abs=1e-3)


def is_probability(value: object) -> bool:
    return isinstance(value, float) and 0.0 <= value <= 1.0 and not math.isnan(value)


def assert_label(output: dict, at_least: int = 1) -> None:
    """A Label: the top class and per-class confidences in [0, 1], best first."""
    confidences = output["confidences"]
    assert len(confidences) >= at_least, output
    assert all(isinstance(c["label"], str) and is_probability(c["confidence"]) for c in confidences), output
    assert output["label"] == confidences[0]["label"]
    assert [c["confidence"] for c in confidences] == sorted((c["confidence"] for c in confidences), reverse=True)


def assert_image_file(path: str, size: tuple[int, int] | None = None) -> Image.Image:
    image = Image.open(path)
    image.load()
    if size is not None:
        assert image.size == size, (image.size, size)
    return image


def assert_annotated_image(output: dict, at_least: int = 1) -> list[dict]:
    """An AnnotatedImage: the base image and one mask image and label per annotation."""
    assert_image_file(output["image"], (160, 120))
    annotations = output["annotations"]
    assert len(annotations) >= at_least, output
    for annotation in annotations:
        assert isinstance(annotation["label"], str)
        assert_image_file(annotation["image"])
    return annotations


def assert_text(output: object) -> str:
    assert isinstance(output, str), output
    return output


# Gradio ------------------------------------------------------------------------------------------------


def any_to_any(client: Client) -> None:
    assert_text(client.predict(example_file("any-to-any", "chirp.wav"), "What do you hear?", api_name="/predict"))


def audio_classification(client: Client) -> None:
    assert_label(client.predict(example_file("audio-classification", "chirp.wav"), api_name="/predict"), 5)


def automatic_speech_recognition(client: Client) -> None:
    text = assert_text(client.predict(example_file("automatic-speech-recognition", "chirp.wav"), api_name="/predict"))
    # The CTC vocabulary is capital letters, the word separator, an apostrophe and <special> tokens.
    assert set(re.sub(r"<[a-z/]+>", "", text)) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ' "), text


def depth_estimation(client: Client) -> None:
    before, after = client.predict(example_file("depth-estimation", "shapes.png"), api_name="/predict")
    assert_image_file(before, (160, 120))
    assert_image_file(after, (160, 120))


def document_question_answering(client: Client) -> None:
    document = "INVOICE 1042\nCustomer: Alice Martin\nTotal: 42 dollars"
    answers, page = client.predict(document, "What is the total?", api_name="/predict")
    assert_label(answers)
    words = set(document.split())
    assert all(set(c["label"].split()) <= words for c in answers["confidences"]), answers
    assert assert_image_file(page["image"]).width == 480
    assert len(page["annotations"]) >= 1


def image_classification(client: Client) -> None:
    assert_label(client.predict(example_file("image-classification", "shapes.png"), api_name="/predict"), 5)


def image_feature_extraction(client: Client) -> None:
    image = example_file("image-feature-extraction", "shapes.png")
    similarity, head = client.predict(image, image, api_name="/predict")
    assert similarity == approx(1.0)
    assert head["headers"] == ["dimension", "first", "second"]
    assert len(head["data"]) == 8 and all(row[1] == approx(row[2]) for row in head["data"])


def image_segmentation(client: Client) -> None:
    assert_annotated_image(client.predict(example_file("image-segmentation", "shapes.png"), api_name="/predict"))


def image_text_to_text(client: Client) -> None:
    message = {
        "text": "What shapes are in the picture?",
        "files": [example_file("image-text-to-text", "shapes.png")],
    }
    assert_text(client.predict(message, api_name="/chat"))


def image_to_text(client: Client) -> None:
    assert_text(client.predict(example_file("image-to-text", "shapes.png"), "a picture of", api_name="/predict"))


def keypoint_matching(client: Client) -> None:
    drawing, matches = client.predict(
        example_file("keypoint-matching", "shapes.png"),
        example_file("keypoint-matching", "shapes_moved.png"),
        0.0,
        api_name="/predict",
    )
    assert_image_file(drawing, (320, 120))
    assert matches["headers"] == ["x0", "y0", "x1", "y1", "score"]
    assert all(len(row) == 5 for row in matches["data"])


def mask_generation(client: Client) -> None:
    annotations = assert_annotated_image(
        client.predict(example_file("mask-generation", "shapes.png"), api_name="/predict")
    )
    assert [a["label"] for a in annotations] == [f"mask {i + 1}" for i in range(len(annotations))]


def object_detection(client: Client) -> None:
    # Random weights score low: threshold 0 keeps every detection token's box.
    annotations = assert_annotated_image(
        client.predict(example_file("object-detection", "shapes.png"), 0.0, api_name="/predict")
    )
    assert len(annotations) == 10  # the stand-in has 10 detection tokens


def text_generation(client: Client) -> None:
    assert_text(client.predict("What is the capital of France?", api_name="/chat"))


def text_to_audio(client: Client) -> None:
    with wave.open(client.predict("Podium runs machine learning demos.", api_name="/predict")) as speech:
        assert speech.getframerate() == 16000 and speech.getnchannels() == 1
        assert speech.getnframes() > 1000


def text2text_generation(client: Client) -> None:
    assert_text(client.predict("Paris is the <mask> of France.", 12, api_name="/predict"))


def token_classification(client: Client) -> None:
    text = "My name is Sarah and I live in London with my cat."
    spans = client.predict(text, api_name="/predict")
    # HighlightedText splits the text into (span, entity or None) pieces that join back to the text.
    assert "".join(span["token"] for span in spans) == text
    assert any(span["class_or_confidence"] for span in spans), spans


def video_classification(client: Client) -> None:
    video = example_file("video-classification", "moving_square.mp4")
    assert_label(client.predict(video, api_name="/predict"), 4)


def visual_question_answering(client: Client) -> None:
    answers = client.predict(
        example_file("visual-question-answering", "shapes.png"),
        "What color is the square?",
        api_name="/predict",
    )
    assert_label(answers, 5)


def zero_shot_audio_classification(client: Client) -> None:
    labels = "a whistle, a dog barking, speech"
    scores = client.predict(example_file("zero-shot-audio-classification", "chirp.wav"), labels, api_name="/predict")
    assert_label(scores, 3)
    assert {c["label"] for c in scores["confidences"]} == {"a whistle", "a dog barking", "speech"}
    assert sum(c["confidence"] for c in scores["confidences"]) == approx(1.0)


def zero_shot_image_classification(client: Client) -> None:
    scores = client.predict(
        example_file("zero-shot-image-classification", "shapes.png"),
        "shapes, a cat, a landscape",
        api_name="/predict",
    )
    assert_label(scores, 3)
    assert {c["label"] for c in scores["confidences"]} == {"shapes", "a cat", "a landscape"}


def zero_shot_object_detection(client: Client) -> None:
    annotations = assert_annotated_image(
        client.predict(
            example_file("zero-shot-object-detection", "shapes.png"),
            "a red square, a blue circle",
            0.0,
            api_name="/predict",
        )
    )
    assert {a["label"].rsplit(" ", 1)[0] for a in annotations} <= {"a red square", "a blue circle"}


GRADIO_CHECKS: dict[str, Callable[[Client], None]] = {
    "any-to-any": any_to_any,
    "audio-classification": audio_classification,
    "automatic-speech-recognition": automatic_speech_recognition,
    "depth-estimation": depth_estimation,
    "document-question-answering": document_question_answering,
    "image-classification": image_classification,
    "image-feature-extraction": image_feature_extraction,
    "image-segmentation": image_segmentation,
    "image-text-to-text": image_text_to_text,
    "image-to-text": image_to_text,
    "keypoint-matching": keypoint_matching,
    "mask-generation": mask_generation,
    "object-detection": object_detection,
    "text-generation": text_generation,
    "text-to-audio": text_to_audio,
    "text2text-generation": text2text_generation,
    "token-classification": token_classification,
    "video-classification": video_classification,
    "visual-question-answering": visual_question_answering,
    "zero-shot-audio-classification": zero_shot_audio_classification,
    "zero-shot-image-classification": zero_shot_image_classification,
    "zero-shot-object-detection": zero_shot_object_detection,
}


# Streamlit ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamlitCheck:
    """Type into fields (by label), press a button, then read what the app renders.

    With `columns`, the output is the first st.table, read as rows of column -> cell text; without,
    it is the st.text block, read as one row {"text": ...}. `valid` says whether the rows make sense.
    """

    typed: dict[str, str]
    button: str
    columns: list[str]
    rows: int | None  # None: any number, the stand-in decides
    valid: Callable[[list[dict[str, str]]], bool]


def read_table(page: Page, timeout_ms: float) -> list[dict[str, str]]:
    """The rows of the first st.table on the page, as column -> cell text (a named index is column "")."""
    table = page.locator('[data-testid="stTable"] table').first
    table.wait_for(timeout=timeout_ms)
    headers = [header.strip() for header in table.locator("thead th").all_inner_texts()]
    rows = [row.locator("th, td").all_inner_texts() for row in table.locator("tbody tr").all()]
    # An empty frame renders one placeholder cell spanning the row.
    return [dict(zip(headers, cells, strict=True)) for cells in rows if len(cells) == len(headers)]


def read_text(page: Page, timeout_ms: float) -> list[dict[str, str]]:
    block = page.locator('[data-testid="stText"]').first
    block.wait_for(timeout=timeout_ms)
    return [{"text": block.inner_text()}]


def use_streamlit_app(page: Page, url: str, check: StreamlitCheck, timeout_ms: float = 180_000) -> list[dict[str, str]]:
    # The first visit runs the script, which imports transformers and loads the model: slow on a busy CPU.
    page.set_default_timeout(timeout_ms)
    page.goto(url)
    for label, text in check.typed.items():
        page.get_by_label(label, exact=True).fill(text)
    page.get_by_role("button", name=check.button).click()
    rows = read_table(page, timeout_ms) if check.columns else read_text(page, timeout_ms)
    if check.columns and rows:
        assert list(rows[0]) == check.columns, rows
    if check.rows is not None:
        assert len(rows) == check.rows, rows
    assert check.valid(rows), rows
    return rows


def scores_of(rows: list[dict[str, str]], column: str = "score") -> list[float]:
    """The column's values, checked to be probabilities."""
    scores = [float(row[column]) for row in rows]
    assert all(is_probability(score) for score in scores), rows
    return scores


def sentence_similarities(rows: list[dict[str, str]]) -> bool:
    matrix = [[float(value) for column, value in row.items() if column] for row in rows]
    # Real all-MiniLM-L6-v2 weights: the two sentences about eating are far closer than the stock market.
    return all(matrix[i][i] == approx(1.0) for i in range(3)) and matrix[0][1] > 0.5 > matrix[0][2]


QA_CONTEXT = "My name is Sarah and I live in London with my cat."
STREAMLIT_CHECKS: dict[str, StreamlitCheck] = {
    "text-classification": StreamlitCheck(
        {"Sentence": "I loved this film."},
        "Classify",
        ["label", "score"],
        2,
        lambda rows: scores_of(rows) and {row["label"] for row in rows} == {"NEGATIVE", "POSITIVE"},
    ),
    "fill-mask": StreamlitCheck(
        {"Sentence with [MASK]": "The weather today is [MASK]."},
        "Fill",
        ["token_str", "score", "sequence"],
        5,
        lambda rows: scores_of(rows) and all(row["sequence"].startswith("the weather today is") for row in rows),
    ),
    "zero-shot-classification": StreamlitCheck(
        {"Labels, comma separated": "weather, sports, politics, music"},
        "Classify",
        ["label", "score"],
        4,
        lambda rows: (
            {row["label"] for row in rows} == {"weather", "sports", "politics", "music"}
            and sum(scores_of(rows)) == approx(1.0)
        ),
    ),
    "feature-extraction": StreamlitCheck(
        {},
        "Compare",
        ["", "A man is eating food.", "A man is eating a piece of bre", "The stock market fell sharply"],
        3,
        sentence_similarities,
    ),
    "table-question-answering": StreamlitCheck(
        {"Question": "How many pears did Bob buy?"},
        "Ask",
        ["cell", "row", "column"],
        None,
        lambda rows: all(row["column"] in {"fruit", "bought by", "count"} for row in rows),
    ),
    "summarization": StreamlitCheck(
        {"Article": "The committee met on Tuesday and agreed on a new budget."},
        "Summarize",
        [],
        1,
        lambda rows: len(rows[0]["text"].split()) <= 40,
    ),
    "translation": StreamlitCheck(
        {"English text": "The house is wonderful."},
        "Translate",
        [],
        1,
        lambda rows: len(rows[0]["text"].split()) <= 64,
    ),
    "question-answering": StreamlitCheck(
        {"Context": QA_CONTEXT, "Question": "Where does Sarah live?"},
        "Answer",
        ["answer", "score", "start", "end"],
        3,
        lambda rows: all(QA_CONTEXT[int(r["start"]) : int(r["end"])] == r["answer"] for r in rows) and scores_of(rows),
    ),
    "decision": StreamlitCheck(
        {"Text to judge": "The food was cold and the waiter was rude."},
        "Decide",
        ["question", "type", "answer", "confidence"],
        2,
        lambda rows: [(row["question"], row["type"]) for row in rows] == [("is_positive", "noul"), ("mood", "choice")],
    ),
}
