"""The repo's dataset card (README.md) and stats.json, regenerated in the same commit as each dataset.

YAML ``configs`` gives every dataset folder its own config and a ``default`` config over all of them, so
``datasets.load_dataset(repo, "dog")``, ``load_dataset(repo)`` and the Hub's viewer read image/caption
pairs: each config selects only the folder's images (one glob per image extension that occurs) and its
``metadata.jsonl``, never the ``.txt`` captions or ``readme.txt`` (which would make the loader pick its
text builder). The table and stats.json give the same figures to people and to scripts.
"""

from __future__ import annotations

import json

from pmd_tui.publish.bundle import VALIDATION_DIR

CARD_INTRO = """# Personalization meta-dataset

Small image datasets (a person's likeness, an art style, an object) for comparing finetuning of image
generators (LoRA, DreamBooth, full finetunes) and, later, benchmarking them. Each folder is one
dataset in the kohya layout: `name.ext` images with `name.txt` captions and a `readme.txt`.
"""


LOADING = """## Using it

With `datasets` (columns `image` and `text`, one row per image):

```python
from datasets import load_dataset

one = load_dataset("{repo}", "FOLDER", split="train")   # one dataset, by its folder name
every = load_dataset("{repo}", split="train")           # the default config: every dataset
```

With a kohya-ss trainer (sd-scripts): download a folder
(`hf download {repo} --repo-type dataset --include "FOLDER/*" --local-dir data`) and point a subset at it
(`image_dir = "data/FOLDER"`, `caption_extension = ".txt"`, `num_repeats` as you like) in the dataset
config TOML, or rename it to `data/10_FOLDER` and pass `--train_data_dir data`.
"""


def _yaml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


# when stats.json (written by an older version) does not say which image types a folder holds; a glob
# that matches nothing is skipped by the loader
FALLBACK_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
DEFAULT_CONFIG = "default"


def data_file_globs(folder: str, stats: dict, split: str = "train") -> list[str]:
    """The paths of one dataset's split that the loader reads: its images and its metadata.jsonl (the
    training images at the top of the folder, the held-out ones in ``validation/``)."""
    exts = stats.get("image_extensions") or FALLBACK_EXTENSIONS
    where = folder if split == "train" else f"{folder}/{VALIDATION_DIR}"
    return [f"{where}/*{ext}" for ext in exts] + [f"{where}/metadata.jsonl"]


def _splits(folders: list[str], datasets: dict[str, dict]) -> list[dict]:
    """train over every folder; validation only over folders that hold images out (an empty split fails)."""
    out = [{"split": "train", "path": [g for f in folders for g in data_file_globs(f, datasets[f])]}]
    held = [f for f in folders if datasets[f].get("validation_images")]
    if held:
        out.append({"split": "validation",
                    "path": [g for f in held for g in data_file_globs(f, datasets[f], "validation")]})
    return out


def config_entries(datasets: dict[str, dict]) -> list[dict]:
    """The card's ``configs``: the default one over every dataset, then one per dataset folder.

    Each is ``{"config_name", "data_files": [{"split", "path": [globs]}]}``; a dataset's splits come from
    here only, so adding one (validation images, say) means adding a split entry in this function.
    """
    if not datasets:
        return []
    out = [{"config_name": DEFAULT_CONFIG, "default": True, "data_files": _splits(sorted(datasets), datasets)}]
    for folder in sorted(datasets):
        out.append({"config_name": folder, "data_files": _splits([folder], datasets)})
    return out


def _configs_yaml(configs: list[dict]) -> list[str]:
    if not configs:
        return ["configs: []"]
    lines = ["configs:"]
    for c in configs:
        lines.append(f"- config_name: {_yaml_str(c['config_name'])}")
        if c.get("default"):
            lines.append("  default: true")
        lines.append("  data_files:")
        for split in c["data_files"]:
            lines += [f"  - split: {_yaml_str(split['split'])}", "    path:"]
            lines += [f"    - {_yaml_str(p)}" for p in split["path"]]
    return lines


def render_card(datasets: dict[str, dict], repo: str) -> str:
    """README.md for the whole repo from {folder: stats}."""
    lines = ["---", "license: other", "task_categories:", "- text-to-image", "pretty_name: Personalization meta-dataset"]
    lines += _configs_yaml(config_entries(datasets))
    lines += ["---", "", CARD_INTRO, LOADING.format(repo=repo), "## Datasets", ""]
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


def render_scores(store) -> str:
    """scores.json: every stored run of ``pmd-tui score`` per dataset (label, metrics, date, sample count)."""
    from pmd_tui.benchmark.score import leaderboard

    return json.dumps({"runs": leaderboard(store)}, indent=2, ensure_ascii=False) + "\n"
