"""The repo's dataset card (README.md) and stats.json, regenerated in the same commit as each dataset.

YAML ``configs`` gives every dataset folder its own config, so the Hub viewer shows image/caption pairs
per dataset; the table and stats.json give the same figures to people and to scripts.
"""

from __future__ import annotations

import json

CARD_INTRO = """# Personalization meta-dataset

Small image datasets (a person's likeness, an art style, an object) for comparing finetuning of image
generators (LoRA, DreamBooth, full finetunes) and, later, benchmarking them. Each folder is one
dataset in the kohya layout: `name.ext` images with `name.txt` captions and a `readme.txt`.
"""


def _yaml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def render_card(datasets: dict[str, dict]) -> str:
    """README.md for the whole repo from {folder: stats}."""
    lines = ["---", "license: other", "task_categories:", "- text-to-image", "pretty_name: Personalization meta-dataset",
             "configs:"]
    for folder in sorted(datasets):
        lines += [f"- config_name: {_yaml_str(folder)}", "  data_files:", "  - split: train",
                  f"    path: {_yaml_str(folder + '/**')}"]
    if not datasets:
        lines[-1] = "configs: []"
    lines += ["---", "", CARD_INTRO, "## Datasets", ""]
    lines += ["| dataset | images | captioned | median short side | captioning method | concept type | issue |",
              "|---|---:|---:|---:|---|---|---|"]
    for folder in sorted(datasets):
        d = datasets[folder]
        issue = f"#{d['issue']}" if d.get("issue") else ""
        side = f"{d['median_short_side']:g} px" if d.get("median_short_side") else ""
        cells = [f"[{folder}]({folder}/readme.txt)", str(d.get("images", "")), str(d.get("captioned", "")), side,
                 d.get("caption_method") or "", d.get("concept_type") or "", issue]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    total = sum(d.get("images", 0) for d in datasets.values())
    n = len(datasets)
    lines += ["", f"{n} dataset{'' if n == 1 else 's'}, {total} images. Figures for scripts: `stats.json`.", ""]
    return "\n".join(lines)


def render_stats(datasets: dict[str, dict]) -> str:
    return json.dumps({"datasets": {k: datasets[k] for k in sorted(datasets)},
                       "totals": {"datasets": len(datasets), "images": sum(d.get("images", 0) for d in datasets.values())}},
                      indent=2, ensure_ascii=False) + "\n"
