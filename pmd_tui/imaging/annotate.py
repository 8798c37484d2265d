"""Face boxes drawn on a copy of a preview thumbnail (the staged and published images are never touched)."""

from __future__ import annotations

from PIL import Image, ImageDraw

# A, the set's main person, in green; others in warm colours; faces of no known person in grey
PERSON_COLOURS = {"A": (60, 220, 90), "B": (255, 170, 30), "C": (240, 70, 200), "D": (80, 170, 255)}
OTHER_COLOUR = (255, 235, 80)
UNKNOWN_COLOUR = (200, 200, 200)


def person_colour(letter: str | None) -> tuple[int, int, int]:
    if letter is None:
        return UNKNOWN_COLOUR
    return PERSON_COLOURS.get(letter, OTHER_COLOUR)


def draw_faces(image: Image.Image, faces: list[dict]) -> Image.Image:
    """A copy of ``image`` with each face's box (``box``: x, y, w, h as fractions) and its person's letter."""
    faces = [f for f in faces if f.get("box")]
    if not faces:
        return image
    out = image.convert("RGB") if image.mode != "RGB" else image.copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    width = max(1, round(min(w, h) / 128))
    for f in faces:
        x, y, bw, bh = f["box"]
        box = (round(x * w), round(y * h), round((x + bw) * w), round((y + bh) * h))
        colour = person_colour(f.get("letter"))
        draw.rectangle(box, outline=colour, width=width)
        label = f.get("letter") or "?"
        tx, ty = box[0] + width, max(0, box[1] - 11)
        draw.rectangle((tx - 1, ty, tx + 7, ty + 10), fill=(0, 0, 0))
        draw.text((tx, ty), label, fill=colour)
    return out
