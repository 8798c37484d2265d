"""A tiny, randomly initialised Florence-2 with a tokenizer trained here: no download, seconds on a CPU.

It is saved with ``save_pretrained`` and loaded back through the production loader, exactly like a
real checkpoint folder.
"""

from __future__ import annotations

from pathlib import Path

WORDS = ("a photo of dog cat person painting style object red blue green on the in with and sitting standing "
         "grass table wall light dark portrait close up background image shows describe what is detail paragraph "
         "text locate objects regions").split()


def build_tokenizer(folder: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import BartTokenizer

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    corpus = [" ".join(WORDS[i:] + WORDS[:i]) for i in range(len(WORDS))] + [
        "What does the image describe?", "Describe in detail what is shown in the image.",
        "Describe with a paragraph what is shown in the image."]
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=False)
    tok.save(str(folder / "tokenizer.json"))
    return BartTokenizer(tokenizer_file=str(folder / "tokenizer.json"), extra_special_tokens={"image_token": "<image>"})


def build_tiny_florence(folder: Path, *, image_size: int = 32, seed: int = 0, teach: bool = True) -> Path:
    import torch
    from transformers import CLIPImageProcessor, Florence2Config, Florence2ForConditionalGeneration, Florence2Processor

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(folder)
    tokens = (image_size // 4) ** 2 + 1
    image_processor = CLIPImageProcessor(size={"height": image_size, "width": image_size}, do_center_crop=False,
                                         crop_size={"height": image_size, "width": image_size},
                                         image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225],
                                         image_seq_length=tokens)
    processor = Florence2Processor(image_processor=image_processor, tokenizer=tokenizer)
    config = Florence2Config(
        text_config={"model_type": "bart", "vocab_size": len(tokenizer), "max_position_embeddings": 128,
                     "encoder_layers": 1, "decoder_layers": 1, "encoder_ffn_dim": 32, "decoder_ffn_dim": 32,
                     "encoder_attention_heads": 2, "decoder_attention_heads": 2, "d_model": 16,
                     "bos_token_id": 0, "pad_token_id": 1, "eos_token_id": 2, "decoder_start_token_id": 2,
                     "forced_bos_token_id": 0},
        vision_config={"depths": [1], "patch_size": [7], "patch_stride": [4], "patch_padding": [3],
                       "patch_prenorm": [False], "embed_dim": [16], "num_heads": [1], "num_groups": [1],
                       "window_size": 4, "projection_dim": 16, "drop_path_rate": 0.0},
        image_token_id=tokenizer.image_token_id,
    )
    torch.manual_seed(seed)
    model = Florence2ForConditionalGeneration(config).eval()
    if teach:
        teach_colours(model, processor, steps=250)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


COLOURS = {"red": (200, 30, 30), "green": (30, 190, 40), "blue": (30, 40, 210)}


def colour_image(name: str, size=(48, 40), seed: int = 0):
    """A noisy image of one dominant colour: what the tiny model learns to name."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    arr = np.clip(np.array(COLOURS[name])[None, None, :] + rng.normal(0, 20, (size[1], size[0], 3)), 0, 255)
    return Image.fromarray(arr.astype("uint8"), "RGB")


def teach_colours(model, processor, steps: int = 120, task: str = "<DETAILED_CAPTION>"):
    """A few seconds of training so captions are meaningful: "a red photo" for a red image, etc."""
    names = list(COLOURS)
    images = [colour_image(n, seed=i) for i, n in enumerate(names * 2)]
    targets = [f"a {n} photo" for n in names * 2]
    inputs = processor(images=images, text=[task] * len(images), return_tensors="pt")
    labels = processor.tokenizer(targets, return_tensors="pt", padding=True).input_ids
    labels[labels == processor.tokenizer.pad_token_id] = -100
    return train(model, inputs, labels, steps=steps, lr=3e-3)


def train(model, inputs, labels, *, steps: int, lr: float) -> float:
    """Full-batch AdamW on one fixed batch (tiny models learn a toy task in a few seconds); the last loss."""
    import torch

    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = model(**inputs, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return float(loss.detach())
