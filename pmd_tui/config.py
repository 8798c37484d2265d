"""Where things live and the limits intake and checks enforce.

Precedence for the database: ``--db`` > ``PMD_DB`` > the user data directory. Other settings come from a
TOML file (``--config``, ``PMD_CONFIG`` or ``config.toml`` in the user config directory); every key is
optional and documented in the README.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import platformdirs

from pmd_tui.errors import InputError

APP_NAME = "pmd-tui"
DEFAULT_REPO = "spacepxl/personalization-meta-dataset"
DEFAULT_CAPTION_MODEL = "florence-community/Florence-2-large"
DEFAULT_NSFW_MODEL = "Falconsai/nsfw_image_detection"
# OpenCV's YuNet (opencv_zoo, MIT): REPO/FILE on the Hub, or a local .onnx path
DEFAULT_FACE_MODEL = "opencv/face_detection_yunet/face_detection_yunet_2023mar.onnx"


@dataclass(frozen=True)
class Limits:
    """Bounds that keep hostile or oversized uploads from filling the disk or memory."""

    max_entries: int = 20_000
    max_total_bytes: int = 8 * 1024**3
    max_entry_bytes: int = 1024**3
    max_ratio: float = 200.0
    # Entries smaller than this are never judged by ratio (tiny text files compress very well).
    ratio_floor_bytes: int = 1024 * 1024
    max_pixels: int = 178_956_970  # Pillow's own decompression-bomb error threshold
    # downloads of submitted links
    max_download_bytes: int = 8 * 1024**3
    max_download_seconds: float = 3600.0
    download_timeout_s: float = 60.0  # no byte for this long: the transfer is stalled
    max_redirects: int = 8
    min_short_side: int = 512


@dataclass(frozen=True)
class Settings:
    db_path: Path
    limits: Limits = field(default_factory=Limits)
    repo: str = DEFAULT_REPO
    caption_model: str = DEFAULT_CAPTION_MODEL
    actor: str = field(default_factory=lambda: os.environ.get("USER") or "maintainer")
    opt_out_artists: tuple[str, ...] = ()
    github_repo: str | None = None  # where contributors open issues (sync, notifications)
    nsfw_model: str = DEFAULT_NSFW_MODEL  # "off" disables SFW screening
    nsfw_threshold: float = 0.8
    face_model: str = DEFAULT_FACE_MODEL  # "off" disables face detection
    opt_out_file: Path | None = None  # one artist name per line, editable by the maintainer
    notify: bool = False  # comment decisions on the submission's issue by default
    # instruction for JoyCaption / Qwen2.5-VL per concept type (person, style, object, other); {trigger}
    caption_prompts: dict = field(default_factory=dict)
    caption_max_words: int = 55  # captions.too-long: CLIP-based trainers read 75 tokens, about 55 words

    @property
    def data_dir(self) -> Path:
        """Staged files live beside the database, so copying both keeps them together."""
        return self.db_path.with_name(self.db_path.stem + "-files")

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "queue.db"


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def load_settings(db: str | os.PathLike | None = None, config: str | os.PathLike | None = None) -> Settings:
    """Resolve the database location and read the optional config file."""
    cfg_path = Path(config or os.environ.get("PMD_CONFIG") or default_config_path())
    data: dict = {}
    if cfg_path.is_file():
        try:
            data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"config file {cfg_path} is not valid TOML: {exc}") from None
    elif config:
        raise InputError(f"config file {cfg_path} does not exist")
    db_path = Path(db or os.environ.get("PMD_DB") or data.get("db") or default_db_path()).expanduser()
    limits = Limits()
    limit_data = data.get("limits", {})
    known = {f.name for f in fields(Limits)}
    unknown = set(limit_data) - known
    if unknown:
        raise InputError(f"unknown [limits] keys in {cfg_path}: {', '.join(sorted(unknown))}")
    limits = replace(limits, **limit_data)
    kwargs = {}
    for key in ("repo", "caption_model", "actor", "github_repo", "nsfw_model", "face_model"):
        if key in data:
            kwargs[key] = str(data[key])
    if "notify" in data:
        kwargs["notify"] = bool(data["notify"])
    if "caption_max_words" in data:
        kwargs["caption_max_words"] = int(data["caption_max_words"])
    if "caption_prompts" in data:
        prompts = data["caption_prompts"]
        bad = set(prompts) - {"person", "style", "object", "other"} if isinstance(prompts, dict) else {"?"}
        if bad:
            raise InputError(f"[caption_prompts] in {cfg_path}: keys are person, style, object, other "
                             f"(not {', '.join(sorted(bad))})")
        kwargs["caption_prompts"] = {k: str(v) for k, v in prompts.items()}
    if "nsfw_threshold" in data:
        kwargs["nsfw_threshold"] = float(data["nsfw_threshold"])
    opt_out = data.get("opt_out_file") or os.environ.get("PMD_OPT_OUT_FILE")
    kwargs["opt_out_file"] = Path(opt_out).expanduser() if opt_out else default_config_path().with_name("opt-out-artists.txt")
    if "opt_out_artists" in data:
        kwargs["opt_out_artists"] = tuple(str(a) for a in data["opt_out_artists"])
    return Settings(db_path=db_path.resolve(), limits=limits, **kwargs)
