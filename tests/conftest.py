import os
import shutil

import pytest

# The tests never reach a hub or a real terminal graphics protocol.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("PMD_PREVIEW", "halfcell")
# the test servers listen on 127.0.0.1, which untrusted links may not reach otherwise
os.environ.setdefault("PMD_ALLOW_PRIVATE_URLS", "1")
os.environ.pop("GITHUB_TOKEN", None)
os.environ.pop("GITHUB_API_URL", None)
if "PMD_OPT_OUT_FILE" not in os.environ:
    # an empty list of one's own (a named list that is missing is refused), never the user's own list
    import tempfile

    _empty = os.path.join(tempfile.mkdtemp(prefix="pmd-tui-tests-"), "opt-out-artists.txt")
    open(_empty, "w").close()
    os.environ["PMD_OPT_OUT_FILE"] = _empty
if os.environ.get("PYTEST_XDIST_WORKER"):
    # one pytest-xdist worker per core already: torch's own thread pool in each would oversubscribe the cores
    # (building the tiny Florence-2 took 75 s instead of 9). Set before anything imports torch.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


@pytest.fixture
def db_path(tmp_path, monkeypatch):
    path = tmp_path / "queue.db"
    monkeypatch.setenv("PMD_DB", str(path))
    # an empty config and opt-out list of the test's own (a named file that is missing is refused)
    (tmp_path / "no-config.toml").write_text("")
    (tmp_path / "no-opt-out.txt").write_text("")
    monkeypatch.setenv("PMD_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("PMD_OPT_OUT_FILE", str(tmp_path / "no-opt-out.txt"))  # never the user's own list
    return path


@pytest.fixture
def settings(db_path):
    from pmd_tui.config import load_settings

    return load_settings(db_path)


@pytest.fixture
def store(settings):
    from pmd_tui.store import QueueStore

    s = QueueStore(settings.db_path)
    yield s
    s.close()


@pytest.fixture
def cli(db_path):
    """Invoke the real click command in-process; returns the result (stdout and stderr apart)."""
    from click.testing import CliRunner

    from pmd_tui.cli import main

    runner = CliRunner()

    def run(*args, input=None):
        return runner.invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)

    return run


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny Florence-2 trained here to name an image's colour, saved like a real checkpoint (built once,
    cached on disk by a hash of its building code: tests/model_cache.py)."""
    from tests.model_cache import cached_model
    from tests.tiny_florence import build_tiny_florence

    return cached_model("tiny-florence-2", build_tiny_florence,
                        tmp_path_factory.mktemp("florence") / "tiny-florence-2")


@pytest.fixture(scope="session")
def tiny_joycaption(tmp_path_factory):
    """A tiny JoyCaption-shaped LLaVA trained here to name an image's colour (cached like tiny_model)."""
    from tests.model_cache import cached_model
    from tests.tiny_vlm import build_tiny_joycaption

    return cached_model("tiny-joycaption", build_tiny_joycaption, tmp_path_factory.mktemp("joy") / "tiny-joycaption")


@pytest.fixture(scope="session")
def tiny_qwen(tmp_path_factory):
    """A tiny Qwen2.5-VL trained here to name an image's colour (cached like tiny_model)."""
    from tests.model_cache import cached_model
    from tests.tiny_vlm import build_tiny_qwen

    return cached_model("tiny-qwen2.5-vl", build_tiny_qwen, tmp_path_factory.mktemp("qwen") / "tiny-qwen2.5-vl")


@pytest.fixture(scope="session")
def tiny_screeners(tmp_path_factory):
    """(SFW classifier folder, face detector .onnx): tiny models built here, loaded by the real code."""
    from tests.model_cache import cached_model
    from tests.tiny_screening import build_tiny_nsfw, build_tiny_yunet

    root = tmp_path_factory.mktemp("screeners")
    nsfw = cached_model("tiny-nsfw", build_tiny_nsfw, root / "tiny-nsfw")
    yunet = cached_model("tiny-yunet", lambda d: build_tiny_yunet(d / "tiny-yunet.onnx"), root / "yunet")
    return nsfw, yunet / "tiny-yunet.onnx"


@pytest.fixture(scope="session")
def tiny_sface(tmp_path_factory):
    """An SFace-shaped face recognizer (.onnx) built here: face colour decides the identity (cached on disk)."""
    from tests.model_cache import cached_model
    from tests.tiny_screening import build_tiny_sface

    folder = cached_model("tiny-sface", lambda d: build_tiny_sface(d / "tiny-sface.onnx"),
                          tmp_path_factory.mktemp("sface") / "sface")
    return folder / "tiny-sface.onnx"


@pytest.fixture
def screening_config(tiny_screeners, tiny_sface, db_path, tmp_path, monkeypatch):
    """A config that points the screening models at the tiny ones; returns the opt-out file path."""
    nsfw, faces = tiny_screeners
    opt_out = tmp_path / "opt-out-artists.txt"
    opt_out.touch()  # a named list must exist (an empty one names no artist)
    cfg = tmp_path / "screening.toml"
    cfg.write_text(f'nsfw_model = "{nsfw}"\nface_model = "{faces}"\nface_recognizer = "{tiny_sface}"\n'
                   f'opt_out_file = "{opt_out}"\nopt_out_artists = ["Jane Q. Painter"]\n')
    monkeypatch.setenv("PMD_CONFIG", str(cfg))
    return opt_out


@pytest.fixture(scope="session")
def demo_template():
    """The demo queue, built once per process and shared with the snapshot scenes (screenshots.py)."""
    from pmd_tui.tui.screenshots import shared_demo_template

    return shared_demo_template()


@pytest.fixture
def demo(demo_template, tmp_path):
    """A private copy of the demo queue (database and staged files)."""
    from pmd_tui.config import load_settings
    from pmd_tui.store import QueueStore

    shutil.copy(demo_template / "demo.db", tmp_path / "demo.db")
    shutil.copytree(demo_template / "demo-files", tmp_path / "demo-files")
    (tmp_path / "config.toml").write_text("")
    settings = load_settings(tmp_path / "demo.db", tmp_path / "config.toml")
    store = QueueStore(settings.db_path)
    yield store, settings
    store.close()
