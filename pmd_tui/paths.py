"""Where pmd-tui keeps things on disk, defined once.

The queue is one SQLite file; everything else it owns lives in ``<db name>-files/`` beside it, so moving
the two together moves the queue. The database and the config file default to the user's data and config
directories (platformdirs).
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "pmd-tui"


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "queue.db"


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_opt_out_file() -> Path:
    """The artist opt-out list, one name per line, beside the config file."""
    return default_config_path().with_name("opt-out-artists.txt")


def data_dir_for(db_path: Path) -> Path:
    """``<db name>-files/`` beside the database: staged copies, uploads, downloads, caches."""
    return db_path.with_name(db_path.stem + "-files")


# inside the data directory
SUBMISSIONS = "submissions"  # submissions/<uid>/files (the staged kohya copy) and .../upload (the original)
TMP = "tmp"  # intake builds a submission here and moves it into place
DOWNLOADS = "downloads"  # partial downloads of links, resumed by the next run
CACHE = "cache"  # thumbnails (cache/thumbs)
