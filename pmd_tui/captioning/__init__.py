"""Florence-2 captioning as a plain service (the TUI runs it in a worker)."""
