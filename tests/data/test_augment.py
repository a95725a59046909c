"""Augmentation ops and policies: shapes, dtypes, labels kept, seeded determinism, 'auto'."""

from __future__ import annotations

import pytest
import torch

from deepscope.data import from_arrays
from deepscope.data.augment import (
    OPS,
    auto_policy,
    jitter,
    magnitude_warp,
    parse_policy,
    preview,
    random_affine,
    random_color,
    random_erase,
    random_flip,
    random_shift,
    resolve_policy,
    scaling,
    time_warp,
    token_dropout,
    token_swap,
    window_slice,
)
from deepscope.errors import InvalidArgumentError, UnknownNameError


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(c: int = 1, n: int = 6, size: int = 12) -> torch.Tensor:
    return torch.rand(n, c, size, size, generator=gen(99))


def rgb_data():
    x = torch.rand(40, 3, 8, 8, generator=gen(1))
    return from_arrays(x, torch.arange(40) % 4, kind="image")


def series_data():
    x = torch.randn(40, 2, 30, generator=gen(2))
    return from_arrays(x, torch.arange(40) % 2, kind="series")


IMAGE_OPS = [name for name, op in OPS.items() if op.kind == "image" and op.apply is not None]


@pytest.mark.parametrize("name", IMAGE_OPS)
@pytest.mark.parametrize("channels", [1, 3])
def test_image_op_keeps_shape_dtype_range_and_is_seeded(name, channels):
    x = images(channels)
    op = OPS[name]
    a = op.apply(x.clone(), gen(3), op.default)
    b = op.apply(x.clone(), gen(3), op.default)
    assert a.shape == x.shape and a.dtype == x.dtype
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0 + 1e-6
    assert torch.equal(a, b)  # same generator state, same batch
    c = op.apply(x.clone(), gen(4), op.default)
    assert not torch.equal(a, c)  # another draw differs
    assert not torch.equal(a, x)  # it did perturb


@pytest.mark.parametrize("name", ["randaugment", "trivialaugment"])
def test_torchvision_policies_leave_the_global_rng_alone(name):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    OPS[name].apply(images(3), gen(0), OPS[name].default)
    assert torch.equal(torch.rand(3), expected)


def test_each_image_gets_its_own_draw():
    x = torch.zeros(64, 1, 9, 9)
    x[:, :, 4, 4] = 1.0  # one bright pixel in the middle of every image
    out = random_shift(x, gen(), 2)
    where = out.flatten(1).argmax(dim=1)
    assert len(set(where.tolist())) > 10  # shifted by many different offsets, not one for the batch
    rows, cols = where // 9, where % 9
    assert int((rows - 4).abs().max()) <= 2 and int((cols - 4).abs().max()) <= 2
    assert torch.equal(out.sum(dim=(1, 2, 3)), torch.ones(64))  # a 2-px shift keeps the centre pixel


def test_flip_probability_one_mirrors_and_zero_keeps():
    x = images(3)
    assert torch.equal(random_flip(x, gen(), 1.0), x.flip(-1))
    assert torch.equal(random_flip(x, gen(), 0.0), x)
    assert torch.equal(random_flip(x, gen(), 1.0, dim=-2), x.flip(-2))


def test_affine_with_no_range_is_the_identity_and_rotation_keeps_a_centred_disc():
    x = images(1, size=16)
    assert torch.allclose(random_affine(x, gen()), x, atol=1e-5)
    for h, w in ((16, 16), (16, 32)):  # a non-square image must rotate without shearing
        yy, xx = torch.meshgrid(torch.arange(float(h)), torch.arange(float(w)), indexing="ij")
        disc = (((yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2) < 25).float()[None, None].repeat(8, 1, 1, 1)
        rotated = random_affine(disc, gen(), degrees=180)
        assert float((rotated - disc).abs().mean()) < 0.05  # a disc looks the same at any angle
        assert torch.allclose(rotated.sum(dim=(1, 2, 3)), disc.sum(dim=(1, 2, 3)), rtol=0.05)


def test_color_and_erase_limits():
    x = images(3)
    assert torch.allclose(random_color(x, gen(), 0.0), x, atol=1e-6)
    erased = random_erase(torch.ones(200, 1, 20, 20), gen(), p=1.0)
    blank = (erased == 0).float().mean(dim=(1, 2, 3))
    assert float(blank.min()) > 0 and float(blank.max()) <= 0.5  # 2% to 33% of the area, rounded to pixels
    assert torch.equal(random_erase(x, gen(), p=0.0), x)


@pytest.mark.parametrize("op", [jitter, scaling, magnitude_warp, time_warp])
def test_series_ops_with_zero_strength_are_the_identity(op):
    x = torch.randn(5, 3, 40, generator=gen())
    assert torch.allclose(op(x, gen(), 0.0), x, atol=1e-5)


@pytest.mark.parametrize("name", [name for name, op in OPS.items() if op.kind == "series"])
def test_series_ops_keep_shape_and_are_seeded(name):
    x = torch.randn(5, 3, 40, generator=gen())
    op = OPS[name]
    a, b = op.apply(x, gen(7), op.default), op.apply(x, gen(7), op.default)
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)


def test_time_warp_keeps_the_ends_and_never_reverses_time():
    t = torch.linspace(0, 1, 50).repeat(4, 1, 1)  # (4, 1, 50) a ramp
    warped = time_warp(t, gen(), 0.5)
    assert torch.allclose(warped[..., 0], t[..., 0], atol=1e-5) and torch.allclose(
        warped[..., -1], t[..., -1], atol=1e-5
    )
    assert bool((warped.diff(dim=-1) >= -1e-6).all())  # a ramp stays increasing
    sliced = window_slice(t, gen(), 0.5)
    assert bool((sliced.diff(dim=-1) >= -1e-6).all())
    assert torch.allclose(sliced[..., -1] - sliced[..., 0], torch.full((4, 1), 0.5), atol=1e-4)  # half the ramp


def test_token_ops_keep_padding_and_words():
    x = torch.tensor([[0, 0, 5, 6, 7, 8], [9, 10, 11, 12, 13, 14], [0, 0, 0, 0, 0, 4]])
    dropped = token_dropout(x, gen(), 1.0)
    assert torch.equal(dropped, torch.where(x == 0, 0, 1))
    assert torch.equal(token_dropout(x, gen(), 0.0), x)
    swapped = token_swap(x, gen(), 0.5)
    assert torch.equal(swapped == 0, x == 0)  # padding stays where it was
    assert torch.equal(swapped.sort(dim=1).values, x.sort(dim=1).values)  # the same words, reordered
    assert not torch.equal(swapped, x)


def test_mixup_and_cutmix_give_soft_labels_and_leave_the_global_rng(digits):
    for name in ("mixup", "cutmix"):
        policy = resolve_policy(f"{name}=1", digits)
        x, y = digits.train.tensors[0][:16], digits.train.tensors[1][:16]
        torch.manual_seed(5)
        expected = torch.rand(2)
        torch.manual_seed(5)
        mixed, target = policy(x, y, gen())
        assert torch.equal(torch.rand(2), expected)
        assert mixed.shape == x.shape and target.shape == (16, 10)
        assert torch.allclose(target.sum(dim=1), torch.ones(16))
        again, target_again = policy(x, y, gen())
        assert torch.equal(again, mixed) and torch.equal(target_again, target)


def test_policies_keep_labels(digits):
    x, y = digits.train.tensors[0][:8], digits.train.tensors[1][:8]
    out, target = resolve_policy("shift+rotate=10+erase", digits)(x, y, gen())
    assert target is y and out.shape == x.shape


def test_auto_picks_what_the_data_allows(digits):
    assert auto_policy(digits)[0] == "shift=0.08"  # digits: no flips, no rotations
    assert "flip" not in auto_policy(digits)[0]
    assert auto_policy(rgb_data())[0] == "flip+shift=0.125"
    series = auto_policy(series_data())[0]
    assert series == "jitter+scaling" and "flip" not in series
    text = from_arrays(torch.randint(0, 50, (20, 8)), torch.arange(20) % 2, kind="text")
    assert auto_policy(text)[0] == "token-dropout=0.1"
    policy = resolve_policy("auto", digits)
    assert str(policy) == "shift=0.08" and "orientation" in policy.describe()["reason"]


def test_auto_applies_nothing_where_targets_would_change():
    from deepscope.data import load

    addition = load("addition:digits=1&n=40")
    assert not resolve_policy("auto", addition)
    assert "seq2seq" in resolve_policy("auto", addition).reason


def test_bad_policies_fail_with_the_argument_named(digits):
    with pytest.raises(UnknownNameError, match="Did you mean 'flip'"):
        resolve_policy("flp", digits)
    with pytest.raises(InvalidArgumentError, match="'jitter' is for series data"):
        resolve_policy("jitter", digits)
    with pytest.raises(InvalidArgumentError, match=r"rotate=<number in \[0, 180\]>"):
        resolve_policy("rotate=500", digits)
    with pytest.raises(InvalidArgumentError, match="rotate=<number"):
        resolve_policy("rotate=abc", digits)
    with pytest.raises(InvalidArgumentError, match="each op once"):
        resolve_policy("flip+flip", digits)
    with pytest.raises(InvalidArgumentError, match="come last"):
        resolve_policy("mixup+flip", digits)
    with pytest.raises(InvalidArgumentError, match="`augment` must be"):
        parse_policy("", "image")


def test_the_old_policy_names_still_work(digits):
    assert str(resolve_policy("shift-flip", digits)) == "shift=0.08+flip=0.5"


def test_preview_shows_one_sample_per_class_and_seeded_versions(digits):
    shown = preview(digits, "shift+rotate=20", n=10, versions=3, seed=1)
    assert shown.originals.shape == (10, 1, 8, 8) and shown.augmented.shape == (3, 10, 1, 8, 8)
    assert sorted(shown.labels.tolist()) == list(range(10))
    again = preview(digits, "shift+rotate=20", n=10, versions=3, seed=1)
    assert torch.equal(shown.augmented, again.augmented)
    assert not torch.equal(shown.augmented[0], shown.augmented[1])
    with pytest.raises(InvalidArgumentError, match="`n` must be"):
        preview(digits, n=0)


def test_cli_lists_every_op():
    from deepscope.cli import AUGMENT_OPS

    listed = {name.strip() for part in AUGMENT_OPS.split(";") for name in part.split(":")[1].split(",")}
    assert listed == set(OPS)
