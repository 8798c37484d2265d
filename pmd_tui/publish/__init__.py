"""Publishing approved submissions as folders of one Hugging Face dataset repo (or a local folder)."""
