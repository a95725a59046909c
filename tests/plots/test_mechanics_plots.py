"""Figures of the convolution mechanics, and the `deepscope conv` command that writes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from deepscope import cli
from deepscope.errors import InvalidArgumentError
from deepscope.mechanics import (
    KERNELS,
    apply_kernels,
    conv2d_steps,
    conv_pipeline,
    example_image,
    pooling_shift_invariance,
)
from deepscope.plots import (
    conv_pipeline_figure,
    conv_steps_frames,
    kernel_stack_figure,
    save_figure,
    save_gif,
    shift_invariance_figure,
)

CROSS = example_image("cross")


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


# ----------------------------------------------------------------------------- figures
def test_pipeline_figure_has_five_panels_with_colour_bars_and_cell_values():
    fig = conv_pipeline_figure(conv_pipeline(CROSS, KERNELS["edge-h"]), "edge-h")
    images = [ax for ax in fig.axes if ax.images]
    colour_bars = [ax for ax in fig.axes if not ax.images]
    assert len(images) == 5 and len(colour_bars) == 5
    assert [ax.get_title().split()[0] for ax in images] == ["input", "kernel", "output", "after", "after"]
    # values written in the cells: 49 input + 9 kernel + 25 output + 25 ReLU + 4 pooled
    assert len(_texts(fig)) == 49 + 9 + 25 + 25 + 4
    assert _texts(fig)[-4:] == ["1", "1", "4", "4"]  # the hand-worked pooled edge-h values


def test_pipeline_figure_of_a_large_image_writes_no_cell_values():
    image = np.random.default_rng(0).random((40, 30))
    fig = conv_pipeline_figure(conv_pipeline(image, KERNELS["blur"]))
    assert len(_texts(fig)) == 9  # only the 3x3 kernel's values
    assert "values not written" in fig.get_suptitle()


def test_steps_frames_one_per_output_cell_and_the_gif_keeps_them(tmp_path):
    steps = conv2d_steps(CROSS, KERNELS["edge-h"], stride=2)  # (3, 3) output
    frames = conv_steps_frames(steps)
    assert len(frames) == 9 and len({f.size for f in frames}) == 1
    assert not np.array_equal(np.asarray(frames[0]), np.asarray(frames[-1]))  # the picture moves
    path = save_gif(frames, tmp_path / "steps.gif")
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 9


def test_steps_refuse_images_larger_than_16_pixels():
    message = r"`steps.image` must be at most 16x16 pixels.*Received: steps.image=\(17, 5\)"
    with pytest.raises(InvalidArgumentError, match=message):
        conv_steps_frames(conv2d_steps(np.zeros((17, 5)), KERNELS["blur"]))


def test_kernel_stack_figure_titles_the_k_channel_feature_map():
    stack = apply_kernels(CROSS, {n: KERNELS[n] for n in ("edge-h", "edge-v", "sobel-x", "blur")})
    fig = kernel_stack_figure(stack)
    titles = [ax.get_title() for ax in fig.axes]
    assert "output feature map with 4 channels\n(4, 5, 5)" in titles
    assert {"edge-h", "edge-v", "sobel-x", "blur", "channel 0", "channel 3"} <= set(titles)


def test_shift_figure_titles_compare_with_and_without_pooling():
    image = np.zeros((8, 8))
    image[::2, ::2] = 1.0  # see tests/mechanics/test_invariance.py
    fig = shift_invariance_figure(pooling_shift_invariance(image, shifts=(1, 4)))
    titles = [ax.get_title() for ax in fig.axes]
    # a 1-pixel shift moves every dot off its pixel (0% unchanged) but not out of its window (100%)
    assert "shifted right by 1 px:\n0% of non-zero values unchanged" in titles
    assert "max-pooled 2x2, shift 1 px:\n100% of non-zero outputs unchanged" in titles
    # 4 pixels = two windows: half the pooled outputs change (and the dots' period is 2, so half the pixels)
    assert "max-pooled 2x2, shift 4 px:\n50% of non-zero outputs unchanged" in titles
    assert "top: without pooling; bottom: with pooling" in fig.get_suptitle()


def test_shift_figure_says_when_nothing_is_non_zero():
    fig = shift_invariance_figure(pooling_shift_invariance(np.zeros((4, 4)), shifts=(1,)))
    assert "max-pooled 2x2, shift 1 px:\nno non-zero outputs" in [ax.get_title() for ax in fig.axes]


def test_save_figure_writes_a_png(tmp_path):
    path = save_figure(shift_invariance_figure(pooling_shift_invariance(CROSS)), tmp_path / "shift.png")
    with Image.open(path) as png:
        assert png.format == "PNG" and png.width > 500


# ----------------------------------------------------------------------------- deepscope conv
def _check_png(path, min_bytes: int = 5_000) -> None:
    assert path.is_file() and path.stat().st_size > min_bytes, path
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) > 200


def test_conv_command_writes_figures_and_a_gif_with_one_frame_per_output_cell(tmp_path, capsys):
    out = tmp_path / "cross"
    assert cli.main(["conv", "example:cross", "--kernel", "edge-v", "--steps", "--out", str(out)]) == 0
    names = ["conv-relu-pool.png", "feature-maps.png", "pooling-shift.png", "steps.gif"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    for name in names[:3]:
        _check_png(out / name)
    gif = out / "steps.gif"
    assert gif.stat().st_size > 5_000
    with Image.open(gif) as frames:
        assert frames.format == "GIF" and frames.n_frames == 5 * 5  # 7x7 image, 3x3 kernel, valid
    printed = capsys.readouterr().out.splitlines()
    assert printed[-5:] == [f"Figures in {out}/:", *(f"  {out / name}" for name in names)]


def test_conv_command_reports_shift_invariance_with_and_without_pooling(tmp_path, capsys):
    # the default example, worked by hand: edge-h on the cross gives the ReLU map
    #   0 1 1 1 0 / 0 0 0 0 0 / 4 4 4 4 4 / 0 0 0 0 0 / 0 1 1 1 0
    # shifted right by 1 px: 8 of its 13 non-zero positions keep their value (62%); its 2x2
    # max-pool [[1, 1], [4, 4]] becomes [[0, 1], [4, 4]]: 3 of 4 unchanged (75%). A 4-px shift
    # leaves 1 of 11 values (9%) and none of the pooled outputs.
    assert cli.main(["conv", "example:cross", "--out", str(tmp_path / "x")]) == 0
    printed = capsys.readouterr().out
    assert (
        "Shift right by 1 px: 62% of non-zero feature-map values unchanged; after 2x2 max-pooling, 75% of " in printed
    )
    assert "Shift right by 4 px: 9% of non-zero feature-map values unchanged; after 2x2 max-pooling, 0% of " in printed


def test_conv_command_writes_under_the_runs_dir_by_default(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((40, 30, 3)) * 255).astype(np.uint8)).save(tmp_path / "photo.png")
    np.save(tmp_path / "k.npy", np.array([[1.0, -1.0], [1.0, -1.0]]))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["conv", "photo.png", "--kernel-file", "k.npy", "--padding", "same", "--pool", "3"]) == 0
    out = tmp_path / "runs" / "conv-photo-k"  # default: RUNS_DIR/conv-<image stem>-<kernel name>
    for name in ("conv-relu-pool.png", "feature-maps.png", "pooling-shift.png"):
        _check_png(out / name)
    assert not (out / "steps.gif").exists()  # only with --steps
    assert f"Figures in {Path('runs') / 'conv-photo-k'}/:" in capsys.readouterr().out


def test_conv_command_shrinks_large_images_for_the_steps(tmp_path, capsys):
    Image.fromarray(np.tile(np.arange(0, 180, 10, dtype=np.uint8), (17, 1))).save(tmp_path / "wide.png")  # 17x18
    (tmp_path / "k5.csv").write_text("\n".join(["1, 1, 0, -1, -1"] * 5) + "\n")  # a 5x5 kernel
    out = tmp_path / "wide"
    argv = ["conv", str(tmp_path / "wide.png"), "--kernel-file", str(tmp_path / "k5.csv"), "--steps", "--pool", "1"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    assert "the step animation uses a 8x9 copy (average pooling by 2)" in capsys.readouterr().out
    with Image.open(out / "steps.gif") as frames:
        assert frames.n_frames == 4 * 5  # 8x9 image, 5x5 kernel, valid


def test_steps_copy_shrinks_until_the_output_fits_16_cells():
    from deepscope.plots.mechanics import _steps_image

    image = np.random.default_rng(0).random((16, 16))
    # 16x16 with padding 2 (3x3 kernel) would give an 18x18 output: halved to 8x8 -> 10x10
    small, factor = _steps_image(image, (3, 3), 2, 1)
    assert factor == 2 and small.shape == (8, 8)
    assert _steps_image(image, (3, 3), "same", 1)[1] == 1  # 16x16 output: fits as it is
    with pytest.raises(InvalidArgumentError, match=r"`--steps` animates at most 16x16 output cells"):
        _steps_image(np.zeros((40, 40)), (15, 15), 14, 1)  # no copy both holds the kernel and fits


def test_steps_frames_refuse_outputs_larger_than_16_cells():
    with pytest.raises(InvalidArgumentError, match=r"`steps.output` must be at most 16x16 cells"):
        conv_steps_frames(conv2d_steps(np.zeros((16, 16)), KERNELS["blur"], padding=2))


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["--kernel", "sobel"], "Unknown kernel 'sobel'. Did you mean 'sobel-"),
        (
            ["--padding", "full"],
            "`--padding` must be an int in [0, 512], 'valid' or 'same'. Received: --padding='full'",
        ),
        (
            ["--padding", "5000"],
            "`--padding` must be an int in [0, 512], 'valid' or 'same'. Received: --padding='5000'",
        ),
        (["--padding", "-1"], "`--padding` must be an int in [0, 512]"),
        (["--padding", "3"], "`padding` must be 'valid', 'same' or an int in [0, 2] for a 3x3 kernel"),
        (["--stride", "0"], "`--stride` must be an int in [1, 512]. Received: --stride='0'"),
        (["--stride", "8"], "`stride` must be an int in [1, 7] (the image is 7x7). Received: stride=8"),
        (["--stride", "nan"], "`--stride` must be an int in [1, 512]. Received: --stride='nan'"),
        (["--padding", "same", "--stride", "2"], "('same' needs stride=1)"),
        (["--pool", "9"], "`pool` must be no larger than the convolution output (5x5)"),
        (["--pool", "0"], "`--pool` must be an int in [1, 512]. Received: --pool='0'"),
    ],
)
def test_conv_command_bad_arguments_get_clear_errors(tmp_path, capsys, argv, fragment):
    assert cli.main(["conv", "example:cross", "--out", str(tmp_path / "x"), *argv]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1 and err.startswith("error: ")
    assert not (tmp_path / "x").exists()  # nothing written before the error


def test_conv_command_refuses_work_beyond_the_caps_before_computing(tmp_path, capsys):
    # a 512x512 kernel with padding 511 on a 512x512 image: 1023x1023 outputs of 262,144 products each
    Image.fromarray(np.zeros((512, 512), dtype=np.uint8)).save(tmp_path / "big.png")
    np.save(tmp_path / "k.npy", np.ones((512, 512)))
    argv = ["conv", str(tmp_path / "big.png"), "--kernel-file", str(tmp_path / "k.npy"), "--padding", "511"]
    assert cli.main([*argv, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "The convolution output would be 1023x1023" in err and "Use less `padding`" in err
    assert not (tmp_path / "x").exists()


def test_conv_command_kernel_larger_than_the_image(tmp_path, capsys):
    np.save(tmp_path / "k.npy", np.ones((9, 9)))
    assert cli.main(["conv", "example:cross", "--kernel-file", str(tmp_path / "k.npy"), "--out", str(tmp_path)]) == 2
    assert "`kernel` must be no larger than the image (7x7). Received: kernel='shape (9, 9)'" in capsys.readouterr().err


def test_conv_command_unknown_example_and_missing_file(tmp_path, capsys):
    assert cli.main(["conv", "example:circle", "--out", str(tmp_path / "x")]) == 2
    assert "Unknown example image 'circle'" in capsys.readouterr().err
    assert cli.main(["conv", str(tmp_path / "nope.png"), "--out", str(tmp_path / "x")]) == 2
    assert "nope.png does not exist" in capsys.readouterr().err
