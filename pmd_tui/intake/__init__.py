"""Taking submissions in: safe unpacking, normalisation to the kohya layout, queue insertion."""
