"""Where things live and the limits intake and checks enforce, read from a validated TOML file.

Precedence for the database: ``--db`` > ``PMD_DB`` > ``db`` in the config file > the user data directory.
Other settings come from a TOML file (``--config``, ``PMD_CONFIG`` or ``config.toml`` in the user config
directory); every key is optional and documented in the README. The file is validated against the
dataclasses below (pydantic): an unknown or misspelt key and a value of the wrong type are one-line
errors that name the key and the file.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, StrictBool, StrictFloat, StrictInt, StrictStr, TypeAdapter, ValidationError, with_config

from pmd_tui import paths
from pmd_tui.errors import InputError
from pmd_tui.paths import default_config_path, default_db_path

DEFAULT_REPO = "spacepxl/personalization-meta-dataset"
# image preview renderers of the TUI (--preview, $PMD_PREVIEW): textual-image's, chosen before the app starts
PREVIEW_RENDERERS = ("auto", "tgp", "sixel", "halfcell", "unicode", "none")
DEFAULT_CAPTION_MODEL = "florence-community/Florence-2-large"
DEFAULT_NSFW_MODEL = "Falconsai/nsfw_image_detection"
# OpenCV's YuNet (opencv_zoo, MIT): REPO/FILE on the Hub, or a local .onnx path
DEFAULT_FACE_MODEL = "opencv/face_detection_yunet/face_detection_yunet_2023mar.onnx"
# the feature models of `pmd-tui score` (DreamBooth's subject and prompt fidelity)
DEFAULT_DINO_MODEL = "facebook/dino-vits16"
DEFAULT_CLIP_MODEL = "openai/clip-vit-base-patch32"
# OpenCV's SFace (opencv_zoo, Apache-2.0): face identity embeddings, aligned on YuNet's landmarks
DEFAULT_FACE_RECOGNIZER = "opencv/face_recognition_sface/face_recognition_sface_2021dec.onnx"
# SFace's published cosine-similarity threshold for "same person" (opencv_zoo's benchmark on LFW)
SFACE_COSINE_THRESHOLD = 0.363


@with_config(ConfigDict(extra="forbid"))
@dataclass(frozen=True)
class Limits:
    """Bounds that keep hostile or oversized uploads from filling the disk or memory (``[limits]``)."""

    max_entries: StrictInt = 20_000
    max_total_bytes: StrictInt = 8 * 1024**3
    max_entry_bytes: StrictInt = 1024**3
    max_ratio: StrictFloat = 200.0
    # Entries smaller than this are never judged by ratio (tiny text files compress very well).
    ratio_floor_bytes: StrictInt = 1024 * 1024
    max_pixels: StrictInt = 178_956_970  # Pillow's own decompression-bomb error threshold
    # downloads of submitted links
    max_download_bytes: StrictInt = 8 * 1024**3
    max_download_seconds: StrictFloat = 3600.0
    download_timeout_s: StrictFloat = 60.0  # no byte for this long: the transfer is stalled
    max_redirects: StrictInt = 8
    min_short_side: StrictInt = 512


@with_config(ConfigDict(extra="forbid"))
@dataclass(frozen=True)
class Settings:
    db_path: Path
    limits: Limits = field(default_factory=Limits)
    repo: StrictStr = DEFAULT_REPO
    caption_model: StrictStr = DEFAULT_CAPTION_MODEL
    actor: StrictStr = field(default_factory=lambda: os.environ.get("USER") or "maintainer")
    opt_out_artists: tuple[StrictStr, ...] = ()
    github_repo: StrictStr | None = None  # where contributors open issues (sync, notifications)
    nsfw_model: StrictStr = DEFAULT_NSFW_MODEL  # "off" disables SFW screening
    nsfw_threshold: StrictFloat = 0.8
    face_model: StrictStr = DEFAULT_FACE_MODEL  # "off" disables face detection
    face_recognizer: StrictStr = DEFAULT_FACE_RECOGNIZER  # "off" disables identity embeddings
    identity_threshold: StrictFloat = SFACE_COSINE_THRESHOLD  # cosine similarity at or above: the same person
    bystander_min_size: StrictFloat = 0.08  # other faces this tall (share of the short side) are reported (info)
    bystander_warn_size: StrictFloat = 0.15  # ... and from this height on they are a warn
    opt_out_file: Path | None = None  # one artist name per line, editable by the maintainer
    notify: StrictBool = False  # comment decisions on the submission's issue by default
    dino_model: StrictStr = DEFAULT_DINO_MODEL  # pmd-tui score: subject fidelity, FD/KID features
    clip_model: StrictStr = DEFAULT_CLIP_MODEL  # pmd-tui score: CLIP-I, CLIP-T
    publish_scores: StrictBool = False  # write scores.json beside stats.json when publishing
    # instruction for JoyCaption / Qwen2.5-VL per concept type; {trigger} is the trigger word
    caption_prompts: dict[Literal["person", "style", "object", "other"], StrictStr] = field(default_factory=dict)
    caption_max_words: StrictInt = 55  # captions.too-long: CLIP-based trainers read 75 tokens, about 55 words

    @property
    def data_dir(self) -> Path:
        """Staged files live beside the database, so copying both keeps them together."""
        return paths.data_dir_for(self.db_path)


# What each number may be: (low, high, whether low itself is allowed). NaN and infinities never pass
# (a NaN compares false with everything, so `score >= nan` would silently switch a guard off), and each
# bound is what the value can mean: a share is 0-1, a time fits the clock (time.sleep and httpx take at
# most about 2**31 s on some systems; a week is plenty), a count or size is positive.
_WEEK_S = 7 * 24 * 3600.0
_HUGE = 2**53
RANGES: dict[str, tuple[float, float, bool]] = {
    "limits.max_entries": (1, 10_000_000, True),
    "limits.max_total_bytes": (1, _HUGE, True),
    "limits.max_entry_bytes": (1, _HUGE, True),
    "limits.max_ratio": (1.0, 1e9, True),
    "limits.ratio_floor_bytes": (0, _HUGE, True),
    "limits.max_pixels": (1, _HUGE, True),
    "limits.max_download_bytes": (1, _HUGE, True),
    "limits.max_download_seconds": (0.0, _WEEK_S, False),
    "limits.download_timeout_s": (0.0, _WEEK_S, False),
    "limits.max_redirects": (0, 100, True),
    "limits.min_short_side": (0, 1_000_000, True),
    "nsfw_threshold": (0.0, 1.0, True),
    "identity_threshold": (-1.0, 1.0, True),
    "bystander_min_size": (0.0, 1.0, True),
    "bystander_warn_size": (0.0, 1.0, True),
    "caption_max_words": (1, 1_000_000, True),
}


def _range_error(settings: "Settings", cfg_path: Path) -> InputError | None:
    """The first number outside its range, as one line naming the key, the value and the allowed range."""
    for key, (low, high, low_ok) in RANGES.items():
        holder = settings
        for part in key.split("."):
            holder = getattr(holder, part)
        value = holder
        ok = math.isfinite(value) and (value >= low if low_ok else value > low) and value <= high
        if not ok:
            name = "[limits] " + key.removeprefix("limits.") if key.startswith("limits.") else key
            bound = f"{'at least' if low_ok else 'more than'} {low:g} and at most {high:g}"
            return InputError(f"config file {cfg_path}: {name} should be a number {bound}, not {value!r}")
    return None


def _opt_out_problem(path: Path, explicit: bool) -> str | None:
    """A named opt-out list that cannot be read would silently switch the artist check off: refuse it."""
    from pmd_tui.userfiles import regular_file_problem

    problem = regular_file_problem(path)
    if problem == "does not exist" and not explicit:
        return None  # the default list is optional
    return problem


# keys of the file that are not Settings fields of the same name
FILE_ONLY_KEYS = ("db",)
_SETTINGS = TypeAdapter(Settings)


def _read_toml(cfg_path: Path, explicit: bool) -> dict:
    from pmd_tui.userfiles import read_user_text

    if not explicit and not cfg_path.exists():
        return {}
    text = read_user_text(cfg_path, what="config file", max_bytes=1024 * 1024)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"config file {cfg_path} is not valid TOML: {exc}") from None


def _unknown_keys(data: dict, cfg_path: Path) -> None:
    """Misspelt keys are refused by name, with the nearest known key when there is one."""
    for section, known, given in (
        ("", {f.name for f in fields(Settings)} - {"db_path", "limits"} | {*FILE_ONLY_KEYS, "limits"}, data),
        ("[limits] ", {f.name for f in fields(Limits)}, data.get("limits") if isinstance(data.get("limits"), dict) else {}),
    ):
        unknown = sorted(set(given) - known)
        if unknown:
            hints = [f"{k} (did you mean {close[0]}?)" if (close := difflib.get_close_matches(k, known, 1)) else k
                     for k in unknown]
            raise InputError(f"unknown {section}keys in {cfg_path}: {', '.join(hints)}")


def _type_error(exc: ValidationError, cfg_path: Path) -> InputError:
    err = exc.errors()[0]
    loc = err["loc"]
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    if len(loc) > 1 and loc[0] == "limits":
        key = "[limits] " + key.removeprefix("limits.")
    expected = err["msg"].removeprefix("Input should be ").removeprefix("a valid ")
    if loc == ("limits",):
        expected = "a table ([limits])"
    return InputError(f"config file {cfg_path}: {key} should be {expected}, not {err['input']!r}")


def load_settings(db: str | os.PathLike | None = None, config: str | os.PathLike | None = None) -> Settings:
    """Resolve the database location and read the optional config file."""
    cfg_path = Path(config or os.environ.get("PMD_CONFIG") or default_config_path())
    data: dict[str, Any] = _read_toml(cfg_path, explicit=bool(config or os.environ.get("PMD_CONFIG")))
    _unknown_keys(data, cfg_path)
    if "db" in data and not isinstance(data["db"], str):
        raise InputError(f"config file {cfg_path}: db should be string, not {data['db']!r}")
    db_path = Path(db or os.environ.get("PMD_DB") or data.get("db") or default_db_path()).expanduser()
    opt_out = data.get("opt_out_file") or os.environ.get("PMD_OPT_OUT_FILE")
    if opt_out is not None and not isinstance(opt_out, str):
        raise InputError(f"config file {cfg_path}: opt_out_file should be string, not {opt_out!r}")
    values = {k: v for k, v in data.items() if k not in FILE_ONLY_KEYS}
    opt_out_path = Path(opt_out).expanduser() if opt_out else paths.default_opt_out_file()
    values.update(db_path=db_path.resolve(), opt_out_file=opt_out_path)
    try:
        settings = _SETTINGS.validate_python(values)
    except ValidationError as exc:
        raise _type_error(exc, cfg_path) from None
    if (err := _range_error(settings, cfg_path)) is not None:
        raise err
    if problem := _opt_out_problem(opt_out_path, explicit=bool(opt_out)):
        origin = "opt_out_file in " + str(cfg_path) if data.get("opt_out_file") else (
            "PMD_OPT_OUT_FILE" if opt_out else "the artist opt-out list")
        raise InputError(f"{origin}: {opt_out_path} {problem} (the artist opt-out check needs it)")
    return settings
