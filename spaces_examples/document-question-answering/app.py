"""Questions about a document page with the document-question-answering pipeline (LayoutLM).

The app renders the typed document into a page image itself, so it knows each word's box and passes
them as `word_boxes`: no OCR engine (tesseract) is needed.
"""

import os

import gradio as gr
from PIL import Image, ImageDraw, ImageFont
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "impira/layoutlm-document-qa")
reader = pipeline("document-question-answering", model=MODEL_ID)  # loaded once, at start
PAGE_WIDTH, MARGIN, LINE_HEIGHT = 480, 16, 22
EXAMPLE = "INVOICE 1042\nCustomer: Alice Martin\nDate: Monday 3 March\nTotal: 42 dollars"


def render(text: str) -> tuple[Image.Image, list[tuple[str, list[int]]]]:
    """The text as a page image and each word with its box, scaled 0-1000 as LayoutLM expects."""
    lines = text.splitlines() or [""]
    height = 2 * MARGIN + LINE_HEIGHT * len(lines)
    page = Image.new("RGB", (PAGE_WIDTH, height), "white")
    draw, font = ImageDraw.Draw(page), ImageFont.load_default(size=16)
    words = []
    for row, line in enumerate(lines):
        x, y = MARGIN, MARGIN + row * LINE_HEIGHT
        for word in line.split():
            x0, y0, x1, y1 = draw.textbbox((x, y), word, font=font)
            draw.text((x, y), word, fill="black", font=font)
            box = [int(1000 * x0 / PAGE_WIDTH), int(1000 * y0 / height),
                   int(1000 * x1 / PAGE_WIDTH), int(1000 * y1 / height)]
            words.append((word, box))
            x = x1 + draw.textlength(" ", font=font)
    return page, words


def ask(text, question):
    if not text.strip() or not question.strip():
        raise gr.Error("Type a document and a question about it.")
    page, words = render(text)
    answers = reader(image=page, question=question, word_boxes=words, top_k=3)
    # Boxes of the words the best answer spans, back in pixels, to mark on the page.
    best = answers[0] if answers else None
    marks = []
    if best:
        for word, (x0, y0, x1, y1) in words[best["start"]:best["end"] + 1]:
            box = (x0 * page.width // 1000, y0 * page.height // 1000, x1 * page.width // 1000,
                   y1 * page.height // 1000)
            marks.append((box, best["answer"]))
    return {a["answer"]: a["score"] for a in answers}, (page, marks)


demo = gr.Interface(
    ask,
    [gr.Textbox(EXAMPLE, lines=5, label="Document"), gr.Textbox("What is the total?", label="Question")],
    [gr.Label(label="Answers"), gr.AnnotatedImage(label="Page")],
    examples=[[EXAMPLE, "What is the total?"]], title="📄 Document question answering",
    description=f"Model: `{MODEL_ID}`", api_name="predict",
)
demo.launch()
