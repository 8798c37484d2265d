"""The upscale detector on a few clear cases from real photos (scikit-image's public-domain data).

Its accuracy is measured on held-out real photos by tests/bench/eval_upscale.py (figures in the README);
these only pin down the behaviour: native photos and a sharp subject on a blurred background pass,
sharp and soft sources enlarged 1.5x-4x with the usual kernels (raw or JPEG) are caught with a factor.
"""

import io
from pathlib import Path

import numpy as np
import pytest
import skimage
from PIL import Image, ImageFilter

from pmd_tui.imaging.upscale import upscale_evidence, verdict

DATA = Path(skimage.__file__).parent / "data"


def _photo(name="astronaut.png") -> Image.Image:
    return Image.open(DATA / name).convert("RGB")


def _jpeg(im: Image.Image, q: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=q)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _judge(im: Image.Image):
    ev = upscale_evidence(np.asarray(im.convert("L"), dtype=np.float32))
    return ev, verdict(ev, im.width, im.height)


@pytest.mark.parametrize("name", ["astronaut.png", "coffee.png", "motorcycle_left.png"])
def test_native_photos_pass(name):
    im = _photo(name)
    for variant in (im, _jpeg(im, 80)):
        ev, v = _judge(variant)
        assert v is None, ev


@pytest.mark.parametrize("scale,kernel", [(0.75, Image.BICUBIC), (0.6, Image.LANCZOS), (0.5, Image.BOX)])
def test_downscaled_photos_pass(scale, kernel):
    im = _photo("motorcycle_left.png")
    ev, v = _judge(im.resize((round(im.width * scale), round(im.height * scale)), kernel))
    assert v is None, ev


def test_sharp_subject_on_a_blurred_background_passes():
    im = _photo("coffee.png")
    soft = im.filter(ImageFilter.GaussianBlur(6))
    soft.paste(im.crop((250, 120, 380, 250)), (250, 120))  # one in-focus patch, 130 px
    ev, v = _judge(_jpeg(soft, 90))
    assert v is None, ev


@pytest.mark.parametrize("factor,kernel,soft,quality", [
    (2, Image.BICUBIC, 0, 90),
    (2, Image.LANCZOS, 1.2, None),
    (1.5, Image.BILINEAR, 0, None),
    (3, Image.BICUBIC, 0, 85),
    (4, Image.LANCZOS, 0, 95),
])
def test_upscales_are_caught_with_their_factor(factor, kernel, soft, quality):
    im = _photo()
    if soft:
        im = im.filter(ImageFilter.GaussianBlur(soft))
    up = im.resize((round(im.width * factor), round(im.height * factor)), kernel)
    if quality:
        up = _jpeg(up, quality)
    ev, v = _judge(up)
    assert v is not None, ev
    assert v["native"] == (round(up.width / v["factor"]), round(up.height / v["factor"]))
    if soft:
        # a soft source's detail ends below the kernel's cut-off: the factor reads the effective resolution
        assert v["factor"] >= factor
    else:
        assert abs(np.log(v["factor"] / factor)) <= np.log(1.35), (v, ev)


@pytest.mark.parametrize("name", ["coins.png", "motorcycle_left.png"])
def test_sharp_photos_enlarged_1_5x_then_saved_as_jpeg_q75_are_caught(name):
    # JPEG's noise passes for pixel-level detail and blurs the 3-pixel cycle; one pixel in three is still a
    # near-fixed blend of its neighbours
    im = _photo(name)
    ev, v = _judge(_jpeg(im.resize((round(im.width * 1.5), round(im.height * 1.5)), Image.LANCZOS), 75))
    assert v is not None and v["factor"] == 1.5, ev
    assert "one pixel in three" in v["why"] and f"{ev['predict3']:.0%}" in v["why"]


@pytest.mark.parametrize("name,factor,period", [("camera.png", 2, 2), ("motorcycle_left.png", 1.5, 3),
                                                ("coins.png", 1.5, 3)])
def test_enlargements_hidden_by_jpeg_q75_noise_are_caught_by_their_mirrored_spectrum(name, factor, period):
    # JPEG q75 noise reads as pixel-level detail and drowns the 3-pixel cycle, but the interpolation's image of
    # the content above the kernel's cut-off keeps a fixed phase against the content it mirrors
    im = _photo(name)
    ev, v = _judge(_jpeg(im.resize((round(im.width * factor), round(im.height * factor)), Image.BICUBIC), 75))
    assert ev["detail"] >= 2.7 and v is not None and v["factor"] == factor, ev
    key = f"cycle{period}"
    assert f"{period}-pixel period" in v["why"] and f"coherence {ev[key]:.0%}" in v["why"], v


def test_a_heavy_blur_is_not_taken_for_a_2x_mirror():
    # a Gaussian blur of 6 px leaves only rounding patterns above 0.25 cycles/pixel, which pair those bins
    # with their mirror about 0.25 as much as with any other: the control pairing cancels them
    im = _photo("coffee.png").filter(ImageFilter.GaussianBlur(6))
    ev = upscale_evidence(np.asarray(im.convert("L"), dtype=np.float32), complete=True)  # (no detail: caught anyway)
    assert ev["cycle2"] < 0.2, ev


def test_the_reason_is_stated():
    up = _photo().resize((1024, 1024), Image.BICUBIC)
    _, v = _judge(up)
    assert "no pixel-level detail anywhere in the frame" in v["why"] and "grey levels" in v["why"]


def test_flat_and_tiny_images_are_not_judged():
    assert upscale_evidence(np.full((300, 300), 128, np.float32)) is None
    assert upscale_evidence(np.random.default_rng(0).random((40, 40), dtype=np.float32)) is None


def test_the_3_pixel_mirror_is_skipped_where_pixel_level_detail_proves_native_pixels():
    # no interpolation keeps 9 grey levels of pixel-level detail: sharp photos skip the 3-pixel mirror
    # (speed), and a coherence there decides nothing
    ev, v = _judge(_photo("coffee.png"))
    assert ev["detail"] >= 9 and ev["cycle2"] is not None and ev["cycle3"] is None and v is None
    mirrored = dict(ev, cycle3=0.9)
    assert verdict(mirrored, 600, 400) is None
    assert verdict(dict(mirrored, detail=8.5), 600, 400) is not None


@pytest.mark.parametrize("factor,quality", [(2, None), (4, 90), (2, 75)])
def test_pixel_replication_is_caught_though_its_steps_read_as_detail(factor, quality):
    # nearest-neighbour enlargement keeps hard steps (plenty of "pixel-level detail"), but its spectrum is
    # mirrored about 0.25 cycles/pixel like any 2x interpolation's
    im = _photo("coffee.png")
    up = im.resize((im.width * factor, im.height * factor), Image.NEAREST)
    ev, v = _judge(_jpeg(up, quality) if quality else up)
    assert ev["detail"] >= 9 and v is not None and v["factor"] in (2.0, 4.0), ev
    assert "2-pixel period" in v["why"]


def test_the_3_pixel_reason_names_only_the_trace_that_fired():
    ev = {"detail": 4.0, "period3": 0.07, "smooth3": 0.01, "predict3": None, "cycle2": 0.0, "cycle3": 0.0,
          "factor": 1.4}
    assert "repeats every 3 pixels (cycle 7%" in verdict(ev, 900, 600)["why"]
    assert "smoother" not in verdict(ev, 900, 600)["why"]
    why = verdict(dict(ev, period3=0.01, smooth3=0.12), 900, 600)["why"]
    assert "every third pixel is smoother than its neighbours (by 12%" in why and "cycle" not in why


def _tone(im: Image.Image, gain: float, offset: float) -> Image.Image:
    arr = np.asarray(im, dtype=np.float32) * gain + offset * 255
    return Image.fromarray(np.clip(np.round(arr), 0, 255).astype(np.uint8))


@pytest.mark.parametrize("name", ["chelsea.png", "motorcycle_left.png"])
@pytest.mark.parametrize("gain,offset", [(0.2, 0.0), (0.3, 0.55)], ids=["dark", "hazy"])
def test_dark_and_hazy_photos_pass_and_their_enlargements_do_not(name, gain, offset):
    # detail in grey levels shrinks with the tones' range: the floor that proves native pixels shrinks with it
    toned = _tone(_photo(name), gain, offset)
    ev, v = _judge(_jpeg(toned, 90))
    assert ev["spread"] < 20 and v is None, ev
    ev, v = _judge(_jpeg(toned.resize((toned.width * 2, toned.height * 2), Image.BICUBIC), 75))
    assert v is not None, ev
    if "no pixel-level detail" in v["why"]:
        assert "at this image's contrast" in v["why"]
