"""Image folders: layouts, mode/size harmonisation, the fixed test split, and bad folders."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deepscope import limits
from deepscope.data import folders, load
from deepscope.data.folders import decode_files
from deepscope.errors import DataError


def put(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def grey_folder(root: Path, counts: dict[str, int], size: int = 6) -> Path:
    """Class folders of lossless grey PNGs; image i of class k has value 10*k + i everywhere."""
    for k, (name, n) in enumerate(counts.items()):
        for i in range(n):
            put(root / name / f"{i:03d}.png", np.full((size, size), 10 * k + i, np.uint8))
    return root


def test_one_folder_gives_sorted_classes_and_a_stratified_20_percent_test_split(tmp_path):
    grey_folder(tmp_path / "pets", {"dog": 10, "cat": 10, "bird": 5})
    data = load(f"images:{tmp_path / 'pets'}", val_fraction=0.0)
    assert data.classes == ["bird", "cat", "dog"] and data.name == "pets"
    assert data.input_shape == (1, 6, 6)
    assert torch.bincount(data.test.tensors[1]).tolist() == [1, 2, 2]
    assert len(data.train) == 20
    # each pixel value identifies its file: the label must match the class it came from
    for split in (data.train, data.test):
        x, y = split.tensors
        values = torch.round(x[:, 0, 0, 0] * 255).long()
        # bird (label 0) was written as class index 2, cat (1) as 1, dog (2) as 0
        assert torch.equal(values // 10, torch.tensor([2, 1, 0])[y])


def test_the_test_split_does_not_depend_on_the_seed(tmp_path):
    grey_folder(tmp_path, {"a": 10, "b": 10})
    one, two = (load(f"images:{tmp_path}", seed=s) for s in (0, 5))
    assert torch.equal(one.test.tensors[0], two.test.tensors[0])
    assert not torch.equal(one.val.tensors[0], two.val.tensors[0])


def test_train_and_test_folders_are_the_two_splits(tmp_path):
    grey_folder(tmp_path / "train", {"a": 6, "b": 4})
    grey_folder(tmp_path / "test", {"a": 2, "b": 3})
    data = load(f"images:{tmp_path}", val_fraction=0.0)
    assert (len(data.train), len(data.test)) == (10, 5)
    assert data.test.tensors[1].tolist() == [0, 0, 1, 1, 1]
    assert data.info["layout"] == "train/ and test/ folders"


def test_any_colour_image_makes_all_rgb(tmp_path):
    grey_folder(tmp_path, {"a": 3, "b": 3})
    put(tmp_path / "b" / "colour.png", np.stack([np.full((6, 6), v, np.uint8) for v in (200, 100, 50)], -1))
    data = load(f"images:{tmp_path}", val_fraction=0.0)
    assert data.input_shape == (3, 6, 6) and data.info["mode"] == "RGB"
    assert data.info["converted"] == "6 grey image(s) converted to RGB"
    x = torch.cat([data.train.tensors[0], data.test.tensors[0]])
    colour = x[(x[:, 0] != x[:, 1]).flatten(1).any(1)]
    assert len(colour) == 1 and torch.round(colour[0, :, 0, 0] * 255).tolist() == [200, 100, 50]


def test_sizes_are_unified_to_the_most_common_and_reported(tmp_path):
    grey_folder(tmp_path, {"a": 3, "b": 3}, size=8)
    put(tmp_path / "a" / "big.png", np.full((16, 24), 255, np.uint8))
    data = load(f"images:{tmp_path}", val_fraction=0.0)
    assert data.input_shape == (1, 8, 8)
    assert data.info["resized"] == (
        "1 of 7 image(s) resized to 8x8 (the most common size): 1 shrunk, 0 enlarged; sizes seen: 8x8 (6), 16x24 (1)"
    )
    assert data.info["resized_files"] == ["a/big.png: 16x24 -> 8x8"]
    x = torch.cat([data.train.tensors[0], data.test.tensors[0]])
    assert (x.flatten(1) == 1.0).all(1).sum() == 1  # the white image survived the resize


def test_hidden_files_are_skipped_and_nested_files_found(tmp_path):
    grey_folder(tmp_path, {"a": 3, "b": 3})
    (tmp_path / "a" / ".DS_Store").write_bytes(b"\x00junk")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "x.txt").write_text("not a class")
    put(tmp_path / "b" / "more" / "deep.png", np.zeros((6, 6), np.uint8))
    data = load(f"images:{tmp_path}", val_fraction=0.0)
    assert data.classes == ["a", "b"] and data.info["files"] == 7


def test_decoding_keeps_file_order_across_chunks_and_threads(tmp_path, monkeypatch):
    monkeypatch.setattr(folders, "CHUNK", 3)
    paths = [put(tmp_path / f"{i}.png", np.full((2, 2), i, np.uint8)) for i in range(20)]
    arrays = decode_files(paths, (2, 2), 1, workers=4)
    assert arrays.shape == (20, 2, 2, 1) and arrays[:, 0, 0, 0].tolist() == list(range(20))


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(DataError, match=rf"Image folder {tmp_path / 'nope'} does not exist\."):
        load(f"images:{tmp_path / 'nope'}")


def test_a_file_instead_of_a_folder_is_refused(tmp_path):
    (tmp_path / "f.png").write_bytes(b"x")
    with pytest.raises(
        DataError,
        match=r"'images:PATH' must name a folder with one sub-folder per class\. "
        r"Received: .*f\.png \(a file\)",
    ):
        load(f"images:{tmp_path / 'f.png'}")


def test_a_folder_without_class_sub_folders_is_refused(tmp_path):
    put(tmp_path / "1.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(
        DataError,
        match=rf"Image folder {tmp_path} must hold one sub-folder per class \(e\.g\. .*/cat/1\.png, "
        r".*/dog/2\.png\)\. Received: 1 file\(s\) but no sub-folders\.",
    ):
        load(f"images:{tmp_path}")


def test_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"must hold one sub-folder per class .*Received: nothing\."):
        load(f"images:{tmp_path}")


def test_an_empty_class_is_named(tmp_path):
    grey_folder(tmp_path, {"cat": 2, "dog": 2})
    (tmp_path / "zebra").mkdir()
    (tmp_path / "zebra" / ".hidden").write_text("x")
    with pytest.raises(
        DataError, match=rf"Class 'zebra' is empty: {tmp_path / 'zebra'} must hold at least one image file\."
    ):
        load(f"images:{tmp_path}")


def test_a_non_image_file_is_named(tmp_path):
    grey_folder(tmp_path, {"cat": 2, "dog": 2})
    (tmp_path / "dog" / "readme.txt").write_text("these are dogs")
    with pytest.raises(DataError, match=rf"{tmp_path / 'dog' / 'readme.txt'} is not an image file PIL can read"):
        load(f"images:{tmp_path}")


def test_classes_reads_only_those_folders_and_splits_as_a_full_read(tmp_path):
    grey_folder(tmp_path / "pets", {"dog": 10, "cat": 10, "bird": 10, "fish": 10})
    spec = f"images:{tmp_path / 'pets'}?per_class=6"
    named = load(f"{spec}&classes=dog,bird", seed=3)
    indexed = load(f"{spec}&classes=2,0", seed=3)  # indices are not folder names: every folder is read
    assert named.classes == indexed.classes == ["dog", "bird"]
    for a, b in zip((named.train, named.val, named.test), (indexed.train, indexed.val, indexed.test)):
        assert all(torch.equal(u, v) for u, v in zip(a.tensors, b.tensors))
    (tmp_path / "pets" / "fish" / "000.png").write_bytes(b"not a png")  # a class not asked for is not decoded
    assert torch.equal(load(f"{spec}&classes=dog,bird", seed=3).train.tensors[0], named.train.tensors[0])
    with pytest.raises(DataError, match="000.png"):
        load(f"{spec}&classes=2,0", seed=3)


def test_a_single_class_is_refused(tmp_path):
    grey_folder(tmp_path, {"cat": 3})
    with pytest.raises(DataError, match=r"must hold at least 2 class sub-folders\. Received: \['cat'\]\."):
        load(f"images:{tmp_path}")


def test_test_only_classes_are_refused(tmp_path):
    grey_folder(tmp_path / "train", {"a": 2, "b": 2})
    grey_folder(tmp_path / "test", {"a": 1, "c": 1})
    with pytest.raises(
        DataError, match=r"Every class in .*test must also be in .*train\. Received test-only classes: c\."
    ):
        load(f"images:{tmp_path}")


def test_images_needs_a_path():
    with pytest.raises(DataError, match=r"Dataset 'images' needs a path: 'images:PATH'"):
        load("images")


# ----------------------------------------------------------------------------- hostile folders


def test_smaller_images_are_enlarged_and_named_in_info(tmp_path):
    grey_folder(tmp_path, {"a": 3, "b": 3}, size=8)
    put(tmp_path / "b" / "small.png", np.full((4, 2), 255, np.uint8))
    data = load(f"images:{tmp_path}", val_fraction=0.0)
    assert data.input_shape == (1, 8, 8)
    assert data.info["resized"].startswith(
        "1 of 7 image(s) resized to 8x8 (the most common size): 0 shrunk, 1 enlarged"
    )
    assert data.info["resized_files"] == ["b/small.png: 4x2 -> 8x8"]


def test_the_list_of_resized_files_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(folders, "MAX_LISTED", 2)
    grey_folder(tmp_path, {"a": 5, "b": 5}, size=4)
    for i in range(4):
        put(tmp_path / "a" / f"big{i}.png", np.zeros((6, 6), np.uint8))
    data = load(f"images:{tmp_path}", val_fraction=0.0)
    assert data.info["resized_files"] == ["a/big0.png: 6x6 -> 4x4", "a/big1.png: 6x6 -> 4x4", "... and 2 more"]


def test_a_large_jpeg_in_a_folder_is_decoded_at_reduced_scale(tmp_path):
    grey_folder(tmp_path, {"a": 2, "b": 2}, size=8)
    photo = np.zeros((800, 800, 3), np.uint8)
    photo[..., 2] = 180
    put(tmp_path / "a" / "photo.jpg", photo)
    with limits.override(image_pixels=20000):  # 800x800 is over the cap; decoded at 1/8 it is not
        data = load(f"images:{tmp_path}", val_fraction=0.0)
    assert data.input_shape == (3, 8, 8) and "1 shrunk" in data.info["resized"]
    x = torch.cat([data.train.tensors[0], data.test.tensors[0]])
    blue = x[(x[:, 2] > 0.5).flatten(1).all(1)]
    assert len(blue) == 1 and float(blue[0, 2].mean()) == pytest.approx(180 / 255, abs=0.03)


def test_a_named_pipe_in_a_class_folder_is_named_without_blocking(tmp_path, hostile):
    grey_folder(tmp_path, {"cat": 2, "dog": 2})
    os.mkfifo(tmp_path / "dog" / "stream.png")
    with pytest.raises(
        DataError,
        match=rf"Image file {tmp_path / 'dog' / 'stream.png'} must be a regular file\. Received: a named pipe",
    ):
        load(f"images:{tmp_path}")
    assert hostile("images", lambda: load(f"images:{tmp_path}"), seconds=5) == "error"


def test_huge_images_in_a_folder_are_refused_before_any_is_decoded(tmp_path, hostile):
    from tests.data.test_images import png_header

    grey_folder(tmp_path, {"cat": 2, "dog": 2})
    for i in range(20):  # 20 x 81 MB decoded, from a few KB of files
        (tmp_path / "dog" / f"huge{i}.png").write_bytes(png_header(9000, 9000))
    with pytest.raises(DataError, match=r"huge0\.png is 9000x9000 pixels .*more than the cap of 67,108,864 pixels"):
        load(f"images:{tmp_path}")
    assert hostile("images", lambda: load(f"images:{tmp_path}"), max_rss_mib=100) == "error"


def test_an_eps_file_in_a_class_folder_is_refused(tmp_path):
    grey_folder(tmp_path, {"cat": 2, "dog": 2})
    (tmp_path / "dog" / "drawing.eps").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n")
    with pytest.raises(DataError, match=r"drawing\.eps is not an image file .* Received: a PostScript/EPS file"):
        load(f"images:{tmp_path}")


def test_a_folder_over_the_memory_cap_streams_and_stream_no_refuses_it_before_decoding(tmp_path):
    grey_folder(tmp_path, {"a": 10, "b": 10}, size=32)  # 20 x 1 x 32 x 32 float32 = 80 KiB
    with limits.override(memory="64KB"):
        assert type(load(f"images:{tmp_path}").train).__name__ == "ImageFiles"
        with pytest.raises(
            DataError,
            match=rf"Image folder {tmp_path} \(20 images of 1x32x32 as float32\).*would need 80\.0 KiB",
        ):
            load(f"images:{tmp_path}?stream=no")


@pytest.mark.parametrize("val_fraction", [0.0, 0.1])
def test_one_image_per_class_loads_or_says_why_not(tmp_path, val_fraction):
    grey_folder(tmp_path, {"a": 1, "b": 1})
    try:
        data = load(f"images:{tmp_path}", val_fraction=val_fraction)
    except DataError as error:  # a clean refusal naming the folder is fine; a crash is not
        assert str(tmp_path) in str(error) and "too few images" in str(error)
    else:
        assert len(data.train) + len(data.val) + len(data.test) == 2


def test_a_common_size_over_the_pixel_cap_is_refused_before_decoding(tmp_path):
    for name in ("a", "b"):  # JPEGs can be decoded small (1/8 scale), but all would be resized to 1000x1000
        put(tmp_path / name / "1.jpg", np.zeros((1000, 1000), np.uint8))
        put(tmp_path / name / "2.jpg", np.zeros((1000, 1000), np.uint8))
    with (
        limits.override(image_pixels=50000),
        pytest.raises(
            DataError,
            match=rf"Image folder {tmp_path}: the most common image size, 1000x1000 \(e\.g\. .*1\.jpg\), is more",
        ),
    ):
        load(f"images:{tmp_path}")


def test_caps_set_in_the_caller_hold_in_the_decoding_threads(tmp_path, monkeypatch):
    monkeypatch.setattr(folders, "CHUNK", 2)  # several chunks: decoded in the thread pool
    grey_folder(tmp_path, {"a": 3, "b": 3}, size=8)
    put(tmp_path / "b" / "wide.png", np.zeros((8, 40), np.uint8))
    with limits.override(image_pixels=100), pytest.raises(DataError, match=r"wide\.png is 40x8 pixels"):
        load(f"images:{tmp_path}")
