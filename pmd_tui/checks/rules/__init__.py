"""One module per family of rules. Each exposes ``RULES`` (the stable ids) and ``check(ctx)``."""
