"""Tiny, locally built JoyCaption-shaped (LLaVA) and Qwen2.5-VL checkpoints: no download, seconds on a CPU.

Each has a tokenizer trained here with the family's special tokens and a chat template, a config of the
real architecture class at toy sizes, and a few seconds of training so that it names an image's dominant
colour ("a red photo") after the instruction prompt. They are saved with ``save_pretrained`` and loaded
back through the production loader, exactly like a downloaded checkpoint folder.
"""

from __future__ import annotations

from pathlib import Path

from tests.tiny_florence import COLOURS, WORDS, colour_image, train

PROMPT = "Write a short caption for this image of zkx."
CORPUS_EXTRA = ["You are a helpful image captioner.", PROMPT, "Describe this image.", "system user assistant"]

QWEN_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|image_pad|>", "<|video_pad|>"]
QWEN_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
LLAVA_SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
                 "<|finetune_right_pad_id|>", "<image>"]
# like JoyCaption's: the image goes in front of the first user message
LLAVA_TEMPLATE = (
    "<|begin_of_text|>{% set ns = namespace(img=false) %}{% for m in messages %}"
    "<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
    "{% if m['role'] == 'user' and not ns.img %}<image>{% set ns.img = true %}{% endif %}"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}")


def build_chat_tokenizer(folder: Path, special: list[str], template: str, *, pad: str, eos: str, **extra):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=special,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    # the instructions are in the corpus, so their words are single tokens and the sequences stay short
    corpus = [" ".join(WORDS[i:] + WORDS[:i]) for i in range(len(WORDS))] + CORPUS_EXTRA + teaching_prompts() * 3
    tok.train_from_iterator(corpus, trainer)
    tok.save(str(folder / "tokenizer.json"))
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"), pad_token=pad, eos_token=eos,
                                        padding_side="left", chat_template=template, **extra)
    return tokenizer


def teaching_prompts() -> list[str]:
    """The production instructions (every concept type, trigger zkx) and one short custom prompt."""
    from pmd_tui.captioning.presets import PROMPTS

    return [PROMPT] + [t.replace("{trigger}", "zkx") for t in PROMPTS.values()]


def _teach(model, processor, captioner_class, steps: int):
    """Train on "<chat prompt> -> a <colour> photo<eos>" so greedy decoding names the colour. The prompts are
    built by the production captioner class, so the model learns exactly what it will be asked."""
    import torch

    chat = captioner_class("tiny", model, processor, "cpu", torch.float32)
    names = list(COLOURS)
    prompts = teaching_prompts()
    pairs = [(n, p) for i, p in enumerate(prompts) for n in names[i % 3:] + names[:i % 3]][:9]
    images = [colour_image(n, seed=i) for i, (n, _) in enumerate(pairs)]
    texts = [chat.chat_text(p) for _, p in pairs]
    tok = processor.tokenizer
    tok.padding_side = "right"
    full = [t + f"a {n} photo" + tok.eos_token for t, (n, _) in zip(texts, pairs)]
    inputs = processor(images=images, text=full, return_tensors="pt", padding=True)
    labels = inputs["input_ids"].clone()
    for row, t in enumerate(texts):  # learn only the answer
        prompt_len = len(processor(images=images[row:row + 1], text=[t], return_tensors="pt")["input_ids"][0])
        labels[row, :prompt_len] = -100
    labels[inputs["attention_mask"] == 0] = -100
    tok.padding_side = "left"
    torch.manual_seed(0)
    return train(model, inputs, labels, steps=steps, lr=6e-3)


def _instantiate(model_class, config, seed: int, pad_id: int, eos_ids: list[int], processor, captioner_class,
                 teach: bool, steps: int):
    """The model of ``config`` with the weights of ``seed``, its generation's pad and stop tokens, taught to
    name colours when ``teach``."""
    import torch

    torch.manual_seed(seed)
    model = model_class(config).eval()
    model.generation_config.pad_token_id = pad_id
    model.generation_config.eos_token_id = eos_ids
    if teach:
        _teach(model, processor, captioner_class, steps)
    return model


def build_tiny_qwen(folder: Path, *, seed: int = 0, teach: bool = True, steps: int = 60) -> Path:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2VLImageProcessorPil

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_chat_tokenizer(folder, QWEN_SPECIAL, QWEN_TEMPLATE, pad="<|endoftext|>", eos="<|im_end|>")
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL}
    pixels = 56 * 56  # 4x4 patches of 14 px, merged 2x2: 4 image tokens
    image_processor = Qwen2VLImageProcessorPil(min_pixels=pixels, max_pixels=pixels)
    # Qwen2_5_VLProcessor needs torchvision (for its video processor); captioning uses the tokenizer and the
    # image processor directly, as saved here
    from pmd_tui.captioning.qwen import QwenInputs

    processor = QwenInputs(tokenizer, image_processor)
    config = Qwen2_5_VLConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 512,
                     "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 10000.0},
                     "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
                     "pad_token_id": ids["<|endoftext|>"]},
        vision_config={"depth": 1, "hidden_size": 16, "intermediate_size": 32, "num_heads": 2, "out_hidden_size": 32,
                       "fullatt_block_indexes": [0], "window_size": 56},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False)
    from pmd_tui.captioning.qwen import QwenCaptioner

    model = _instantiate(Qwen2_5_VLForConditionalGeneration, config, seed, ids["<|endoftext|>"],
                         [ids["<|im_end|>"], ids["<|endoftext|>"]], processor, QwenCaptioner, teach, steps)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    image_processor.save_pretrained(folder)
    return folder


def build_tiny_joycaption(folder: Path, *, seed: int = 0, teach: bool = True, steps: int = 60) -> Path:
    from transformers import LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor, SiglipImageProcessorPil

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_chat_tokenizer(folder, LLAVA_SPECIAL, LLAVA_TEMPLATE, pad="<|finetune_right_pad_id|>",
                                     eos="<|eot_id|>", bos_token="<|begin_of_text|>")
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in LLAVA_SPECIAL}
    image_size, patch = 32, 8
    image_processor = SiglipImageProcessorPil(size={"height": image_size, "width": image_size})
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=patch,
                               vision_feature_select_strategy="full", chat_template=LLAVA_TEMPLATE,
                               image_token="<image>")
    config = LlavaConfig(
        vision_config={"model_type": "siglip_vision_model", "hidden_size": 16, "intermediate_size": 32,
                       "num_hidden_layers": 1, "num_attention_heads": 2, "image_size": image_size, "patch_size": patch},
        text_config={"model_type": "llama", "vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
                     "max_position_embeddings": 512, "bos_token_id": ids["<|begin_of_text|>"],
                     "eos_token_id": ids["<|eot_id|>"], "pad_token_id": ids["<|finetune_right_pad_id|>"]},
        image_token_id=ids["<image>"], vision_feature_select_strategy="full", vision_feature_layer=-1,
        projector_hidden_act="gelu", image_seq_length=(image_size // patch) ** 2)
    from pmd_tui.captioning.joycaption import JoyCaptioner

    model = _instantiate(LlavaForConditionalGeneration, config, seed, ids["<|finetune_right_pad_id|>"],
                         [ids["<|eot_id|>"], ids["<|end_of_text|>"]], processor, JoyCaptioner, teach, steps)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder

