"""Loading a checkpoint's weights for any family: quietly, SDPA where supported, partial weights refused."""

from __future__ import annotations

from pmd_tui.model_runtime import load_error, quiet_transformers, refuse_partial


def from_pretrained(model_class, source, dtype, *, hint: str = ""):
    try:
        with quiet_transformers():
            try:
                model, info = model_class.from_pretrained(source.spec, dtype=dtype, attn_implementation="sdpa",
                                                          output_loading_info=True, local_files_only=source.local_only)
            except (ValueError, ImportError) as exc:
                if "sdpa" not in str(exc).lower():
                    raise
                model, info = model_class.from_pretrained(source.spec, dtype=dtype, output_loading_info=True,
                                                          local_files_only=source.local_only)
    except Exception as exc:
        raise load_error(source.spec, exc) from None
    refuse_partial(source.spec, info, purpose="caption", hint=hint)
    return model
