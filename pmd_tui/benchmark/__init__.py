"""Turning the collection into a benchmark: held-out validation images, evaluation prompts, and scores of
finetuned models' samples against a dataset (subject fidelity, prompt fidelity, identity, FD/KID)."""
