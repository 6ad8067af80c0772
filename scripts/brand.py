"""Draw the integration's brand images (custom_components/ru_sms/brand/*.png).

The design lives here, in code: a speech bubble (an SMS) holding the Cyrillic letter Я,
and for the logo the bubble beside the words "RU SMS". Change the colours or shapes below
and run `scripts/brand` to render every file again.

Home Assistant's brand image rules (github.com/home-assistant/brands, "Image specification"):
PNG with transparency, trimmed (no empty border), losslessly compressed and interlaced;
icon 256x256 and icon@2x 512x512; logo with its shortest side 128..256 pixels (logo@2x
256..512), the largest allowed preferred; `dark_` variants for dark backgrounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import sys

from PIL import Image, ImageDraw, ImageFont

BRAND = Path(__file__).resolve().parent.parent / "custom_components" / "ru_sms" / "brand"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
"""DejaVu Sans Bold (shipped by most Linux distributions: fonts-dejavu-core)."""
SUPERSAMPLE = 4
"""Shapes are drawn this many times larger, then scaled down: smooth edges."""


@dataclass(frozen=True)
class Palette:
    """The colours of one variant (light or dark background)."""

    bubble: tuple[int, int, int]
    letter: tuple[int, int, int]
    words: tuple[int, int, int]


LIGHT = Palette(bubble=(0x1E, 0x6F, 0xD9), letter=(0xFF, 0xFF, 0xFF), words=(0x1F, 0x2A, 0x37))
DARK = Palette(bubble=(0x4D, 0x9C, 0xFF), letter=(0xFF, 0xFF, 0xFF), words=(0xEC, 0xEF, 0xF4))


def _font(size: int) -> ImageFont.FreeTypeFont:
    if not FONT.is_file():
        sys.exit(f"brand: the font {FONT} is missing (install fonts-dejavu-core)")
    return ImageFont.truetype(str(FONT), size)


def bubble(size: int, palette: Palette) -> Image.Image:
    """The icon: a speech bubble filling a size x size square, the letter Я inside."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    body_bottom = round(big * 0.80)
    draw.rounded_rectangle(
        (0, 0, big - 1, body_bottom), radius=round(big * 0.22), fill=palette.bubble
    )
    # The tail: from the lower edge of the body down to the bottom-left of the square.
    draw.polygon(
        [
            (round(big * 0.22), body_bottom - round(big * 0.05)),
            (round(big * 0.50), body_bottom - round(big * 0.05)),
            (round(big * 0.10), big - 1),
        ],
        fill=palette.bubble,
    )
    font = _font(round(big * 0.62))
    left, top, right, bottom = draw.textbbox((0, 0), "Я", font=font)
    x = (big - (right - left)) / 2 - left
    y = (body_bottom - (bottom - top)) / 2 - top
    draw.text((x, y), "Я", font=font, fill=palette.letter)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def logo(height: int, palette: Palette) -> Image.Image:
    """The logo: the bubble, then the words RU SMS; as tall as `height`, trimmed."""
    icon = bubble(height, palette)
    big = height * SUPERSAMPLE
    font = _font(round(big * 0.46))
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), "RU SMS", font=font)
    gap = round(big * 0.14)
    words = Image.new("RGBA", (right - left + gap, big), (0, 0, 0, 0))
    # Words centred on the bubble's body (its upper 80 %), not on the tail.
    y = (big * 0.80 - (bottom - top)) / 2 - top
    ImageDraw.Draw(words).text((gap - left, y), "RU SMS", font=font, fill=palette.words)
    words = words.resize((round(words.width / SUPERSAMPLE), height), Image.Resampling.LANCZOS)
    image = Image.new("RGBA", (icon.width + words.width, height), (0, 0, 0, 0))
    image.alpha_composite(icon)
    image.alpha_composite(words, (icon.width, 0))
    return trimmed(image)


def trimmed(image: Image.Image) -> Image.Image:
    """The image without fully transparent rows and columns on its edges."""
    box = image.getchannel("A").getbbox()
    return image.crop(box) if box else image


def save(image: Image.Image, name: str) -> None:
    """Write one PNG, losslessly compressed (Pillow writes no interlaced PNG: only preferred)."""
    path = BRAND / name
    image.save(path, format="PNG", optimize=True)
    print(f"brand: {path.relative_to(BRAND.parent.parent.parent)} {image.width}x{image.height}")


def main() -> None:
    """Render every brand file."""
    BRAND.mkdir(parents=True, exist_ok=True)
    for prefix, palette in (("", LIGHT), ("dark_", DARK)):
        save(bubble(256, palette), f"{prefix}icon.png")
        save(bubble(512, palette), f"{prefix}icon@2x.png")
        save(logo(256, palette), f"{prefix}logo.png")
        save(logo(512, palette), f"{prefix}logo@2x.png")


if __name__ == "__main__":
    main()
