"""Tiny random-weight models of the score's architectures (DINO ViT-S/16's ViT, CLIP), saved like real
checkpoint folders and loaded back through the production loaders: no download, a second on a CPU."""

from __future__ import annotations

from pathlib import Path

WORDS = "a photo of dog person painting style in the snow jungle beach red hat city mountain".split()


def build_tiny_dino(folder: Path, *, seed: int = 0) -> Path:
    import torch
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    folder = Path(folder)
    torch.manual_seed(seed)
    config = ViTConfig(image_size=32, patch_size=16, hidden_size=24, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=32)
    ViTModel(config, add_pooling_layer=False).eval().save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def build_tiny_clip(folder: Path, *, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, PreTrainedTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator([" ".join(WORDS)] * 4, trainers.BpeTrainer(
        vocab_size=120, special_tokens=["<pad>", "<unk>", "<bos>", "<eos>"]))
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A <eos>", special_tokens=[("<bos>", 2), ("<eos>", 3)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>",
                                        bos_token="<bos>", eos_token="<eos>")
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    config = CLIPConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
                     "num_attention_heads": 2, "max_position_embeddings": 32, "eos_token_id": 3, "bos_token_id": 2,
                     "pad_token_id": 0},
        vision_config={"image_size": 32, "patch_size": 16, "hidden_size": 16, "intermediate_size": 32,
                       "num_hidden_layers": 1, "num_attention_heads": 2},
        projection_dim=8)
    CLIPModel(config).eval().save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder
