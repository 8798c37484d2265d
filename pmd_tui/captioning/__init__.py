"""Captioning as a plain service (the TUI runs it in a worker): one captioner interface (base.py), one small
module per model family (florence.py, joycaption.py, qwen.py), presets, output checks and the pipeline."""
