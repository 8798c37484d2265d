"""Sub-commands beyond intake and listing (checks, decisions, captioning, publishing, statistics)."""
