"""Model workers that screen images: an SFW classifier and a face detector (core, no Textual)."""
