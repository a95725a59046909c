"""Reading image files of any size and mode into the tensors a model expects.

``read_image`` serves ``deepscope predict``; ``decode`` is shared with the image-folder
loader. Conversions, in order: EXIF rotation applied; transparency composited over white
(a drawing on a transparent background keeps its strokes); 16-bit grey scaled to 8 bits;
then grey ('L') or colour ('RGB') as asked, with PIL's luma formula for colour -> grey.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import TensorDataset

from deepscope.errors import DataError, invalid

__all__ = ["GREY_MODES", "border_mean", "decode", "is_colour", "open_image", "read_image", "to_array", "unit_float"]

# PIL modes holding one intensity channel (plus alpha for 'LA'); every other mode is colour.
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
EXIF_ORIENTATION = 0x0112
RESAMPLE = Image.Resampling.LANCZOS  # antialiased when shrinking a large photo to 28x28


def open_image(path: Path | str) -> Image.Image:
    """Open and decode an image file, upright (EXIF orientation applied). A missing path, a
    folder, or a file PIL cannot decode raises DataError naming it."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            # a phone photo taken sideways; JPEGs without EXIF (most) skip the look-up
            if (image.format != "JPEG" or "exif" in image.info) and image.getexif().get(EXIF_ORIENTATION, 1) != 1:
                return ImageOps.exif_transpose(image)
            return image  # loaded: usable after the file closes (no copy: decoding 60k files stays fast)
    except FileNotFoundError:
        raise DataError(f"Image file {path} does not exist.") from None
    except IsADirectoryError:
        raise DataError(f"{path} must be an image file. Received: a folder.") from None
    except (UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise DataError(f"{path} is not an image file PIL can read ({error}).") from None
    except (OSError, SyntaxError, ValueError) as error:  # truncated or damaged image data
        raise DataError(f"{path} is a damaged image file ({type(error).__name__}: {error}).") from None


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
        values = np.asarray(image, dtype=np.float64)
        scale = 257.0 if image.mode.startswith("I;16") or values.max() > 255 else 1.0
        image = Image.fromarray(np.clip(np.rint(values / scale), 0, 255).astype(np.uint8), mode="L")
    if image.mode != mode:
        image = image.convert(mode)
    return np.asarray(image, dtype=np.uint8)


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
    image = Image.fromarray(to_array(open_image(path), "L" if channels == 1 else "RGB"))
    if image.size != (width, height):
        image = image.resize((width, height), RESAMPLE)
    x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)  # (H, W) or (H, W, 3)
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
