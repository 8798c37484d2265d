"""Benchmark: the captioning pipeline against a plain one-image-at-a-time loop (as in the model card).

Run by hand:  python tests/bench/bench_caption.py [--n 12] [--tokens 24] [--batch-sizes 1,2,4] [--architecture large]
              python tests/bench/bench_caption.py --architecture large --n 64 --batch-sizes 1,8,32  (GPU, bf16)
              python tests/bench/bench_caption.py --model florence-community/Florence-2-base  (a real checkpoint)

Without --model it builds a randomly initialised model of the exact Florence-2-base or -large architecture
(DaViT vision tower at 768 px, BART-base or -large text model; the released configs' numbers, no download)
and a tokenizer trained on the spot, saves it like a checkpoint and loads it through the production loader.
Every image generates exactly --tokens tokens (min = max), so both sides do the same work; random weights
decode to text the pipeline may reject as "not a caption", which is counted but does not change the timing.
Both sides run on the same loaded model, in one process:
  loop      per image: Image.open, processor(text, image), generate, batch_decode (greedy, like ours)
  pipeline  pmd_tui.captioning.service.caption on a real queue (decode + preprocessing on a loader
            thread overlapping the model, batches, captions written to SQLite per batch)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


ARCHITECTURES = {  # the released configs' numbers (florence-community/Florence-2-base and -large)
    "base": {"text": {"d_model": 768, "encoder_layers": 6, "decoder_layers": 6, "encoder_attention_heads": 12,
                      "decoder_attention_heads": 12, "encoder_ffn_dim": 3072, "decoder_ffn_dim": 3072},
             "vision": {"embed_dim": [128, 256, 512, 1024], "num_heads": [4, 8, 16, 32], "num_groups": [4, 8, 16, 32],
                        "projection_dim": 768}},
    "large": {"text": {"d_model": 1024, "encoder_layers": 12, "decoder_layers": 12, "encoder_attention_heads": 16,
                       "decoder_attention_heads": 16, "encoder_ffn_dim": 4096, "decoder_ffn_dim": 4096},
              "vision": {"embed_dim": [256, 512, 1024, 2048], "num_heads": [8, 16, 32, 64],
                         "num_groups": [8, 16, 32, 64], "projection_dim": 1024}},
}


def random_architecture(folder: Path, name: str = "base") -> Path:
    """A random model with Florence-2-base's or -large's shapes (the released configs' numbers)."""
    import torch
    from transformers import CLIPImageProcessor, Florence2Config, Florence2ForConditionalGeneration, Florence2Processor

    from tests.tiny_florence import build_tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(folder)
    processor = Florence2Processor(
        image_processor=CLIPImageProcessor(size={"height": 768, "width": 768}, do_center_crop=False,
                                           crop_size={"height": 768, "width": 768},
                                           image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225],
                                           resample=3, image_seq_length=577),
        tokenizer=tokenizer)
    shapes = ARCHITECTURES[name]
    config = Florence2Config(
        text_config={"model_type": "bart", "vocab_size": 51289, "max_position_embeddings": 1024,
                     "bos_token_id": 0, "pad_token_id": 1, "eos_token_id": 2, "decoder_start_token_id": 2,
                     **shapes["text"]},
        vision_config={"depths": [1, 1, 9, 1], "window_size": 12, "drop_path_rate": 0.0, **shapes["vision"]},
        image_token_id=tokenizer.image_token_id)
    torch.manual_seed(0)
    Florence2ForConditionalGeneration(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def make_images(folder: Path, n: int) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        coarse = rng.random((24, 32, 3))
        base = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize((1536, 1152), Image.BICUBIC), np.float32)
        arr = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        p = folder / f"img{i:03d}.jpg"
        Image.fromarray(arr).save(p, quality=92)
        paths.append(p)
    return paths


def plain_loop(captioner, paths, tokens: int) -> float:
    import torch

    start = time.perf_counter()
    for p in paths:
        image = Image.open(p).convert("RGB")
        inputs = captioner.processor(text="<DETAILED_CAPTION>", images=image, return_tensors="pt")
        inputs = inputs.to(captioner.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(captioner.dtype)
        with torch.inference_mode():
            ids = captioner.model.generate(input_ids=inputs["input_ids"], pixel_values=inputs["pixel_values"],
                                           max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False, num_beams=1)
        captioner.processor.batch_decode(ids, skip_special_tokens=False)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--tokens", type=int, default=24)
    ap.add_argument("--batch-sizes", default="1,2,4")
    ap.add_argument("--model", help="a real checkpoint (id or folder) instead of a random architecture")
    ap.add_argument("--architecture", choices=list(ARCHITECTURES), default="base",
                    help="the random model's shapes: Florence-2-base or Florence-2-large")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()

    from pmd_tui.captioning.model import load_captioner
    from pmd_tui.captioning.service import caption
    from pmd_tui.config import load_settings
    from pmd_tui.intake.service import add_source
    from pmd_tui.store import QueueStore

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_id = args.model or str(random_architecture(tmp / f"florence-2-{args.architecture}-random",
                                                         args.architecture))
        captioner = load_captioner(model_id, args.device)
        params = sum(p.numel() for p in captioner.model.parameters()) / 1e6
        print(f"model {args.model or f'random Florence-2-{args.architecture} architecture'} ({params:.0f}M parameters) on "
              f"{captioner.device} {str(captioner.dtype).removeprefix('torch.')}; {args.n} images of 1536x1152 JPEG, "
              f"{args.tokens} tokens each")
        images = tmp / "set"
        images.mkdir()
        paths = make_images(images, args.n)
        plain_loop(captioner, paths[:1], 2)  # warm-up (kernels, allocator) for both sides
        loop_s = plain_loop(captioner, paths, args.tokens)
        print(f"  loop (model card)     {args.n / loop_s:6.2f} img/s   {loop_s:6.1f} s   1.00x")
        for bs in [int(b) for b in args.batch_sizes.split(",")]:
            (tmp / "cfg.toml").write_text("")
            settings = load_settings(tmp / f"q{bs}.db", tmp / "cfg.toml")
            store = QueueStore(settings.db_path)
            sid = add_source(store, settings, images, name=f"bench {bs}")
            report = caption(store, settings, [sid], model=model_id, batch_size=bs, max_new_tokens=args.tokens,
                             min_new_tokens=args.tokens, num_beams=1, captioner=captioner, use_readme_trigger=False)
            assert report.captioned + len(report.failed) == args.n, report.failed
            rate = args.n / report.seconds  # every image went through the model, kept or rejected
            rejected = f"   ({len(report.failed)} outputs rejected)" if report.failed else ""
            print(f"  pipeline, batch {bs:<3}   {rate:6.2f} img/s   {report.seconds:6.1f} s   "
                  f"{loop_s / report.seconds:.2f}x{rejected}")
            store.close()


if __name__ == "__main__":
    main()
