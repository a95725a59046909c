"""Named kernels and kernel files (text/CSV, .npy without pickles)."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope.errors import DataError, UnknownNameError
from deepscope.mechanics import KERNELS, get_kernel, load_kernel


def test_named_kernels_have_the_lecture_values():
    assert set(KERNELS) == {"identity", "blur", "edge-h", "edge-v", "sharpen", "sobel-x", "sobel-y"}
    assert np.array_equal(KERNELS["edge-h"], [[-1, -1, -1], [2, 2, 2], [-1, -1, -1]])
    assert np.array_equal(KERNELS["edge-v"], [[-1, 2, -1], [-1, 2, -1], [-1, 2, -1]])
    assert np.array_equal(KERNELS["sobel-x"], [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    assert np.array_equal(KERNELS["sobel-y"], [[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
    assert np.array_equal(KERNELS["sharpen"], [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    assert np.array_equal(KERNELS["identity"], [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert np.allclose(KERNELS["blur"], np.full((3, 3), 1 / 9)) and abs(KERNELS["blur"].sum() - 1) < 1e-12


def test_named_kernels_cannot_be_edited_in_place():
    with pytest.raises(ValueError):
        KERNELS["blur"][0, 0] = 5.0
    copy = get_kernel("blur")
    copy[0, 0] = 5.0  # a copy is the caller's to change
    assert KERNELS["blur"][0, 0] == pytest.approx(1 / 9)


def test_unknown_kernel_suggests_the_closest_names():
    with pytest.raises(UnknownNameError, match=r"Unknown kernel 'sobel'. Did you mean 'sobel-[xy]' or 'sobel-[xy]'\?"):
        get_kernel("sobel")


def test_load_kernel_from_csv_text_and_npy(tmp_path):
    (tmp_path / "k.csv").write_text("# a 2x3 kernel\n1, 0, -1\n\n2,0,-2  # second row\n")
    assert np.array_equal(load_kernel(tmp_path / "k.csv"), [[1, 0, -1], [2, 0, -2]])
    (tmp_path / "k.txt").write_text("0.5 0.5\n0.5 0.5\n")
    assert np.array_equal(load_kernel(tmp_path / "k.txt"), np.full((2, 2), 0.5))
    np.save(tmp_path / "k.npy", np.arange(9).reshape(3, 3))
    assert np.array_equal(load_kernel(tmp_path / "k.npy"), np.arange(9.0).reshape(3, 3))


@pytest.mark.parametrize(
    "name,content,fragment",
    [
        ("ragged.csv", "1,2,3\n4,5\n", "line 2: every row must have 3 numbers like the first. Received: 2"),
        ("words.csv", "1,2\na,b\n", "line 2: expected numbers separated by commas or spaces. Received: 'a,b'"),
        ("empty.txt", "# nothing\n\n", "holds no numbers"),
        ("nan.txt", "1 nan\n2 3\n", "finite numbers"),
    ],
)
def test_bad_kernel_text_files_name_the_file_and_line(tmp_path, name, content, fragment):
    (tmp_path / name).write_text(content)
    with pytest.raises(DataError) as error:
        load_kernel(tmp_path / name)
    assert fragment in str(error.value) and name in str(error.value)


def test_npy_kernels_are_never_unpickled(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="not a plain numeric .npy array"):
        load_kernel(tmp_path / "obj.npy")
    np.save(tmp_path / "cube.npy", np.zeros((2, 3, 3)))
    with pytest.raises(DataError, match=r"2-D kernel \(kh, kw\). Received: shape=\(2, 3, 3\)"):
        load_kernel(tmp_path / "cube.npy")
    with pytest.raises(DataError, match="does not exist"):
        load_kernel(tmp_path / "missing.csv")
