"""read_image: any image file to the (C, H, W) tensor a model expects."""

from __future__ import annotations

import os
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from deepscope import limits
from deepscope.data import read_image
from deepscope.data.images import decode, open_image
from deepscope.errors import DataError, InvalidArgumentError


def digit(background: int, stroke: int, size: int = 28) -> np.ndarray:
    """A square 'digit': a vertical bar of ``stroke`` on ``background``."""
    a = np.full((size, size), background, np.uint8)
    a[size // 4 : 3 * size // 4, size // 2 - size // 14 : size // 2 + size // 14] = stroke
    return a


def save(tmp_path, array: np.ndarray, name: str = "x.png", mode: str | None = None, **kw):
    path = tmp_path / name
    Image.fromarray(array, mode=mode).save(path, **kw) if mode else Image.fromarray(array).save(path, **kw)
    return path


def test_mnist_style_image_is_read_as_is(tmp_path):
    a = digit(0, 255)
    x = read_image(save(tmp_path, a), (1, 28, 28))
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32
    torch.testing.assert_close(x[0], torch.from_numpy(a).float() / 255)


def test_dark_digit_on_white_paper_is_inverted_automatically(tmp_path):
    a = digit(255, 0)
    x = read_image(save(tmp_path, a), (1, 28, 28))
    torch.testing.assert_close(x[0], 1 - torch.from_numpy(a).float() / 255)
    assert float(x[0, 0, 0]) == 0.0 and float(x[0, 14, 14]) == 1.0


def test_invert_can_be_forced_either_way(tmp_path):
    path = save(tmp_path, digit(255, 0))
    assert float(read_image(path, (1, 28, 28), invert=False)[0, 0, 0]) == 1.0
    assert float(read_image(save(tmp_path, digit(0, 255), "b.png"), (1, 28, 28), invert=True)[0, 0, 0]) == 1.0


def test_colour_input_is_never_auto_inverted(tmp_path):
    a = np.full((8, 8, 3), 250, np.uint8)
    x = read_image(save(tmp_path, a), (3, 8, 8))
    assert x.shape == (3, 8, 8) and float(x.min()) == pytest.approx(250 / 255)


def test_colour_to_grey_uses_luma(tmp_path):
    a = np.zeros((4, 4, 3), np.uint8)
    a[..., 0] = 255  # pure red: luma 0.299 * 255 = 76
    x = read_image(save(tmp_path, a), (1, 4, 4), invert=False)
    assert float(x.max()) == pytest.approx(76 / 255)


def test_grey_to_colour_repeats_the_channel(tmp_path):
    a = np.arange(16, dtype=np.uint8).reshape(4, 4) * 10
    x = read_image(save(tmp_path, a), (3, 4, 4))
    assert x.shape == (3, 4, 4)
    assert torch.equal(x[0], x[1]) and torch.equal(x[1], x[2])
    torch.testing.assert_close(x[0], torch.from_numpy(a).float() / 255)


def test_large_image_is_resized_with_antialiasing(tmp_path):
    checker = (np.indices((280, 280)).sum(0) % 2 * 255).astype(np.uint8)  # 1-px checkerboard
    x = read_image(save(tmp_path, checker), (1, 28, 28), invert=False)
    assert x.shape == (1, 28, 28)
    # averaged to mid-grey; plain subsampling would give all 0s or all 1s
    assert float(x.min()) > 0.4 and float(x.max()) < 0.6


def test_transparent_background_is_composited_over_white(tmp_path):
    rgba = np.zeros((28, 28, 4), np.uint8)  # fully transparent black...
    rgba[7:21, 12:16] = (0, 0, 0, 255)  # ...with an opaque black stroke
    x = read_image(save(tmp_path, rgba, mode="RGBA"), (1, 28, 28))
    # white background, dark stroke -> auto-inverted to MNIST style
    assert float(x[0, 0, 0]) == 0.0 and float(x[0, 14, 13]) == 1.0


def test_16_bit_grey_is_scaled_to_unit_range(tmp_path):
    a = np.array([[0, 32896], [65535, 65535]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(a).save(path)
    x = read_image(path, (1, 2, 2), invert=False)
    torch.testing.assert_close(x[0], torch.tensor([[0.0, 128 / 255], [1.0, 1.0]]))


def test_exif_orientation_is_applied(tmp_path):
    image = Image.fromarray(np.zeros((10, 20, 3), np.uint8))  # 20 wide, 10 high
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    path = tmp_path / "phone.jpg"
    image.save(path, exif=exif)
    assert open_image(path).size == (10, 20)
    assert decode(path).shape == (20, 10, 3)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match=rf"Image file {tmp_path / 'gone.png'} does not exist\."):
        read_image(tmp_path / "gone.png", (1, 28, 28))


def test_folder_is_not_an_image(tmp_path):
    with pytest.raises(DataError, match=rf"Image file {tmp_path} must be a regular file\. Received: a folder\."):
        read_image(tmp_path, (1, 28, 28))


def test_non_image_file_is_named(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not an image")
    with pytest.raises(DataError, match=r"notes\.txt is not an image file PIL can read"):
        read_image(path, (1, 28, 28))


def test_damaged_image_is_named(tmp_path):
    path = save(tmp_path, (np.random.default_rng(0).integers(0, 256, (64, 64))).astype(np.uint8))
    path.write_bytes(path.read_bytes()[:200])  # cut the PNG short
    with pytest.raises(DataError, match=r"x\.png is a damaged image file"):
        read_image(path, (1, 28, 28))


@pytest.mark.parametrize("shape", [(2, 28, 28), (28, 28), (1, 0, 28)])
def test_in_shape_must_be_grey_or_rgb_chw(tmp_path, shape):
    path = save(tmp_path, digit(0, 255))
    with pytest.raises(
        InvalidArgumentError, match=r"`in_shape` must be \(C, H, W\) with C = 1 or 3\. Received: in_shape="
    ):
        read_image(path, shape)


# ----------------------------------------------------------------------------- hostile files


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` grey pixels, with almost no data:
    a few hundred bytes that would decode to gigabytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(1000))) + chunk(b"IEND", b"")
    )


def test_an_image_over_the_pixel_cap_is_refused_before_decoding(tmp_path, hostile):
    path = tmp_path / "huge.png"
    path.write_bytes(png_header(9000, 9000))  # under PIL's own bomb limit; 81 MB decoded
    with pytest.raises(
        DataError,
        match=r"Image file .*huge\.png is 9000x9000 pixels \(width x height; 81,000,000 pixels\), more than "
        r"the cap of 67,108,864 pixels per image\. If it is real, raise the cap: DEEPSCOPE_MAX_IMAGE_PIXELS",
    ):
        read_image(path, (1, 28, 28))
    assert hostile("images", lambda: read_image(path, (1, 28, 28)), max_rss_mib=40) == "error"
    with limits.override(image_pixels=100), pytest.raises(DataError, match=r"is 10x20 pixels .* cap of 100 pixels"):
        open_image(save(tmp_path, np.zeros((20, 10), np.uint8)))


def test_an_image_past_pils_bomb_limit_is_refused_too(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header(40000, 40000))
    with pytest.raises(DataError, match=r"Image file .*bomb\.png is too large to decode safely"):
        open_image(path)


def test_a_large_jpeg_is_decoded_at_reduced_scale_for_a_small_target(tmp_path):
    colour = np.zeros((800, 800, 3), np.uint8)
    colour[..., 0] = 200
    path = save(tmp_path, colour, "big.jpg")
    with limits.override(image_pixels=40000):  # 800x800 is over; PIL's draft decodes it at 1/8: 100x100
        x = read_image(path, (3, 28, 28))
        with pytest.raises(DataError, match=r"big\.jpg is 800x800 pixels"):
            open_image(path)  # no target size: no reduced decoding
    assert x.shape == (3, 28, 28) and float(x[0].mean()) == pytest.approx(200 / 255, abs=0.03)
    assert open_image(path, size=(28, 28)).size == (100, 100)


def test_an_eps_file_is_refused_and_ghostscript_never_runs(tmp_path, monkeypatch):
    from PIL import EpsImagePlugin

    def ghostscript(*args, **kwargs):
        raise AssertionError("Ghostscript was called")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    path = tmp_path / "figure.png"  # the name does not matter; the content does
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n0 0 moveto 10 10 lineto stroke\nshowpage\n")
    with pytest.raises(
        DataError,
        match=r"figure\.png is not an image file PIL can read in an allowed format \(PNG, JPEG, GIF, BMP, TIFF, "
        r"WebP, PPM/PGM/PBM or ICO\)\. Received: a PostScript/EPS file \(refused: decoding it would run Ghostscript\)",
    ):
        read_image(path, (1, 28, 28))


@pytest.mark.parametrize("fmt", ["TGA", "PCX", "SGI"])
def test_formats_outside_the_allow_list_are_refused(tmp_path, fmt):
    path = tmp_path / f"x.{fmt.lower()}"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path, format=fmt)
    with pytest.raises(DataError, match=r"is not an image file PIL can read in an allowed format .* Received: a file"):
        open_image(path)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM", "ICO"])
def test_every_allowed_format_reads(tmp_path, fmt):
    path = tmp_path / f"x.{fmt.lower()}"
    Image.fromarray(np.full((16, 16), 255, np.uint8)).save(path, format=fmt)
    x = read_image(path, (1, 16, 16), invert=False)
    assert x.shape == (1, 16, 16) and float(x.mean()) == pytest.approx(1.0, abs=0.02)


def test_special_files_are_refused_by_name_without_blocking(tmp_path, hostile):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=rf"Image file {fifo} must be a regular file\. Received: a named pipe \(FIFO\)"):
        read_image(fifo, (1, 28, 28))
    assert hostile("images", lambda: read_image(fifo, (1, 28, 28)), seconds=2) == "error"
    device = tmp_path / "zero.png"
    device.symlink_to("/dev/zero")
    with pytest.raises(DataError, match=r"zero\.png must be a regular file\. Received: a character device"):
        read_image(device, (1, 28, 28))
