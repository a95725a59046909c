"""Reading image files of any size and mode into the tensors a model expects.

``read_image`` serves ``deepscope predict``; ``decode`` is shared with the image-folder
loader. Conversions, in order: EXIF rotation applied; transparency composited over white
(a drawing on a transparent background keeps its strokes); 16-bit grey scaled to 8 bits;
then grey ('L') or colour ('RGB') as asked, with PIL's luma formula for colour -> grey.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import TensorDataset

from deepscope import limits
from deepscope.errors import DataError, DeepscopeError, invalid

__all__ = [
    "FORMATS",
    "GREY_MODES",
    "ImageHeader",
    "border_mean",
    "decode",
    "is_colour",
    "open_image",
    "probe_image",
    "read_array",
    "read_image",
    "to_array",
    "unit_float",
]

# PIL modes holding one intensity channel (plus alpha for 'LA'); every other mode is colour.
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
EXIF_ORIENTATION = 0x0112
RESAMPLE = Image.Resampling.LANCZOS  # antialiased when shrinking a large photo to 28x28
# The only formats PIL may open (its plugin names; PPM covers PGM/PBM, JPEG covers MPO).
# Anything else is refused, EPS/PostScript above all: PIL would hand it to Ghostscript.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM", "ICO")
FORMAT_NAMES = "PNG, JPEG, GIF, BMP, TIFF, WebP, PPM/PGM/PBM or ICO"
POSTSCRIPT_MAGIC = (b"%!PS", b"\xc5\xd0\xd3\xc6")  # PostScript / EPS, and DOS EPS binary
BYTES_PER_PIXEL = 4  # what PIL holds per decoded pixel for RGB(A), CMYK, 32-bit grey ('I', 'F')


@dataclass(frozen=True)
class ImageHeader:
    """What an image file's header says, read without decoding its pixels: the size as
    displayed (EXIF rotation applied where the header holds it) and whether it is colour."""

    path: Path
    width: int
    height: int
    colour: bool


def _refused(path: Path, f: IO[bytes]) -> DataError:
    """The error for a file PIL cannot open in an allowed format, saying what it is if known."""
    f.seek(0)
    head = f.read(4)
    if head.startswith(POSTSCRIPT_MAGIC):
        received = "a PostScript/EPS file (refused: decoding it would run Ghostscript)"
    else:
        received = f"a file starting with {head!r}"
    return DataError(
        f"{path} is not an image file PIL can read in an allowed format ({FORMAT_NAMES}). Received: {received}."
    )


@contextlib.contextmanager
def _decoding(path: Path, f: IO[bytes] | None = None) -> Iterator[None]:
    """Turn whatever PIL raises on a damaged or hostile file into a DataError naming it. PIL's
    plugins raise many types on bad data (OSError, SyntaxError, struct.error, IndexError, ...)."""
    try:
        yield
    except DeepscopeError:
        raise
    except UnidentifiedImageError:
        if f is None:
            raise DataError(f"{path} is not an image file PIL can read.") from None
        raise _refused(path, f) from None
    except Image.DecompressionBombError as error:
        raise DataError(f"Image file {path} is too large to decode safely ({error}).") from None
    except MemoryError:
        raise DataError(f"Image file {path} needs more memory to decode than is available.") from None
    except Exception as error:  # truncated or damaged image data
        raise DataError(f"{path} is a damaged image file ({type(error).__name__}: {str(error)[:200]}).") from None


def _open(path: Path, f: IO[bytes]) -> Image.Image:
    """PIL's lazy open (reads the header only), in the allowed formats."""
    with _decoding(path, f):
        return Image.open(f, formats=FORMATS)


def _stored_orientation(image: Image.Image) -> int:
    """EXIF orientation when the header holds it (JPEG, TIFF, WebP; a PNG only if its eXIf
    chunk comes before the pixels: PIL would decode the whole image to look further)."""
    if image.format == "PNG" and "exif" not in image.info:
        return 1
    if image.format in ("JPEG", "MPO") and "exif" not in image.info:
        return 1  # most JPEGs: skip the look-up
    return image.getexif().get(EXIF_ORIENTATION, 1)


def _upright(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """(width, height) as displayed: orientations 5-8 turn the image a quarter."""
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def _check_pixels(path: Path, width: int, height: int) -> None:
    """Refuse, before decoding, an image larger than the pixel cap or the memory cap."""
    caps = limits.current()  # once: this runs twice per file of a folder
    if width * height > caps.image_pixels:
        raise DataError(
            f"Image file {path} is {width}x{height} pixels (width x height; {width * height:,} pixels), more than "
            f"the cap of {caps.image_pixels:,} pixels per image. If it is real, raise the cap: "
            "DEEPSCOPE_MAX_IMAGE_PIXELS=<count>."
        )
    if width * height * BYTES_PER_PIXEL > caps.memory:
        limits.check_allocation(width * height * BYTES_PER_PIXEL, f"Image file {path} ({width}x{height} pixels)")


def probe_image(path: Path | str) -> ImageHeader:
    """Read an image file's header only (size, colour or grey): a regular file in an allowed
    format, and not larger than the pixel and memory caps even at the smallest scale it can be
    decoded at. Nothing is decoded, so this is cheap however large the image claims to be."""
    path = Path(path)
    with limits.open_regular(path, "image file") as f:
        image = _open(path, f)
        with _decoding(path, f):
            width, height = _upright(image.size, _stored_orientation(image))
            if image.format in ("JPEG", "MPO"):  # the smallest it can decode to: 1/8 scale
                _check_pixels(path, -(-width // 8), -(-height // 8))
            else:
                _check_pixels(path, width, height)
            return ImageHeader(path, width, height, is_colour(image))


def open_image(path: Path | str, *, size: tuple[int, int] | None = None) -> Image.Image:
    """Open and decode an image file, upright (EXIF orientation applied). Only a regular file
    in an allowed format (:data:`FORMATS`) is opened, and its size is checked against the
    pixel and memory caps (:mod:`deepscope.limits`) before anything is decoded.

    ``size`` (width, height): the size the caller will resize to. A JPEG at least twice as
    large is then decoded at 1/2, 1/4 or 1/8 scale (PIL's draft), never below ``size``.
    A missing path, a folder, a special file, or a file PIL cannot decode raises DataError
    naming it."""
    path = Path(path)
    with limits.open_regular(path, "image file") as f:
        image = _open(path, f)
        with _decoding(path, f):
            if size is not None and image.format in ("JPEG", "MPO"):
                image.draft(None, _upright(size, _stored_orientation(image)))  # the stored image is turned
            _check_pixels(path, *image.size)
            image.load()
            # a phone photo taken sideways; JPEGs without EXIF (most) skip the look-up
            if (image.format != "JPEG" or "exif" in image.info) and image.getexif().get(EXIF_ORIENTATION, 1) != 1:
                return ImageOps.exif_transpose(image)
            return image  # loaded: usable after the file closes (no copy: decoding 60k files stays fast)


def is_colour(image: Image.Image) -> bool:
    """Whether the image has colour channels (palette images count as colour)."""
    return image.mode not in GREY_MODES


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Composite any transparency over white, returning an 'L' or 'RGB'-convertible image."""
    has_alpha = "A" in image.getbands() or (image.mode == "P" and "transparency" in image.info)
    if not has_alpha:
        return image
    rgba = image.convert("RGBA")
    flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return flat.convert("L" if image.mode in GREY_MODES else "RGB")


def to_array(image: Image.Image, mode: str) -> np.ndarray:
    """The image as uint8: (H, W) for ``mode='L'``, (H, W, 3) for ``mode='RGB'``."""
    if mode not in ("L", "RGB"):
        raise invalid("mode", "'L' or 'RGB'", mode)
    image = _flatten_alpha(image)
    if image.mode.startswith("I"):  # 16/32-bit integer grey: scale 0..65535 to 0..255
        values = np.asarray(image).astype(np.float32)  # exact for 0..65535
        scale = 257.0 if image.mode.startswith("I;16") or values.max() > 255 else 1.0
        image = Image.fromarray(np.clip(np.rint(values / scale), 0, 255).astype(np.uint8), mode="L")
    if image.mode != mode:
        image = image.convert(mode)
    return np.asarray(image, dtype=np.uint8)


def read_array(path: Path | str, mode: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """Read an image file as uint8 (H, W) for ``mode='L'`` or (H, W, 3) for ``mode='RGB'``,
    resized (antialiased; the aspect ratio is not kept) to ``size`` (width, height) when given.
    A large JPEG is decoded at reduced scale first (see :func:`open_image`)."""
    path = Path(path)
    image = open_image(path, size=size)
    with _decoding(path):  # a damaged palette or mode can still fail here
        a = to_array(image, mode)
        if size is not None and (a.shape[1], a.shape[0]) != tuple(size):
            a = np.asarray(Image.fromarray(a).resize(tuple(size), RESAMPLE, reducing_gap=3.0))
    return a


def decode(path: Path | str) -> np.ndarray:
    """Decode one file to uint8 in its own kind: (H, W) if grey, (H, W, 3) if colour."""
    image = open_image(path)
    return to_array(image, "RGB" if is_colour(image) else "L")


def read_image(path: Path | str, in_shape: tuple[int, ...], *, invert: bool | None = None) -> torch.Tensor:
    """Read an image file as a model input: float32 (C, H, W) in [0, 1] for ``in_shape``
    (C, H, W) with C = 1 (grey) or 3 (RGB); any size or mode is converted and resized
    (antialiased; the aspect ratio is not kept).

    ``invert``: True/False force it; None (auto) inverts single-channel inputs whose border
    is bright (mean > 0.5): MNIST-style data is white strokes on black, while a digit drawn
    or photographed on paper is dark on white. Colour inputs are never auto-inverted.
    """
    if len(in_shape) != 3 or in_shape[0] not in (1, 3) or min(in_shape[1:]) < 1:
        raise invalid("in_shape", "(C, H, W) with C = 1 or 3", tuple(in_shape))
    channels, height, width = (int(s) for s in in_shape)
    a = read_array(path, "L" if channels == 1 else "RGB", (width, height))  # (H, W) or (H, W, 3) uint8
    x = torch.from_numpy(a.astype(np.float32) / 255.0)  # (H, W) or (H, W, 3)
    x = x.unsqueeze(0) if channels == 1 else x.permute(2, 0, 1).contiguous()  # (C, H, W)
    if invert is None:
        invert = channels == 1 and border_mean(x) > 0.5
    return 1.0 - x if invert else x


def border_mean(x: torch.Tensor) -> float:
    """Mean of the outer ring of a (C, H, W) image, one tenth of the side wide (at least 1 px)."""
    _, h, w = x.shape
    k = max(1, min(h, w) // 10)
    ring = torch.ones(h, w, dtype=torch.bool)
    ring[k : h - k, k : w - k] = False
    return float(x[:, ring].mean())


def unit_float(split: TensorDataset) -> TensorDataset:
    """A split of uint8 images (N, C, H, W) as float32 in [0, 1]. Loaders split while the
    images are still uint8 (4x less memory to copy), then scale each split."""
    x, y = split.tensors
    return TensorDataset(x.float().div_(255.0), y)
