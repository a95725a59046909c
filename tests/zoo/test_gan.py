"""GANs: shapes, seeded sampling, class conditioning and the errors of ``generate``."""

from __future__ import annotations

import pytest
import torch

from deepscope import zoo
from deepscope.errors import InvalidArgumentError


@pytest.fixture(scope="module")
def acgan():
    return zoo.create("mnist_acgan", in_shape=(1, 28, 28), num_classes=10, seed=0, width=8, d_width=8).eval()


@pytest.fixture(scope="module")
def dcgan():
    return zoo.create("dcgan", in_shape=(1, 28, 28), num_classes=10, seed=0, width=8).eval()


def test_forward_is_the_discriminator_with_a_logit_per_head(acgan, dcgan):
    x = torch.rand(5, 1, 28, 28)
    assert acgan(x).shape == (5, 11)  # real/fake, then 10 class logits
    assert dcgan(x).shape == (5, 1)
    assert (acgan.conditional, acgan.num_classes, dcgan.conditional, dcgan.num_classes) == (True, 10, False, 0)


def test_the_same_seed_draws_the_same_codes_whatever_the_classes(acgan):
    seven, three = torch.full((4,), 7), torch.full((4,), 3)
    a = acgan.generate(4, labels=seven, generator=torch.Generator().manual_seed(5))
    b = acgan.generate(4, labels=seven, generator=torch.Generator().manual_seed(5))
    c = acgan.generate(4, labels=three, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not torch.equal(a, c)
    z = acgan.latent(4, torch.Generator().manual_seed(5))  # the codes come first: labels do not shift them
    assert torch.equal(acgan.generate_from(z, seven), a)
    assert z.min() >= -1 and z.max() <= 1 and z.shape == (4, 100)


def test_a_conditional_gan_draws_classes_from_the_same_generator(acgan):
    first = acgan.generate(6, generator=torch.Generator().manual_seed(1))
    again = acgan.generate(6, generator=torch.Generator().manual_seed(1))
    assert torch.equal(first, again) and first.shape == (6, 1, 28, 28)


def test_generate_leaves_the_global_rng_and_the_mode_alone(dcgan):
    dcgan.train()
    state = torch.get_rng_state()
    dcgan.generate(3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.get_rng_state(), state) and dcgan.training
    dcgan.eval()


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (torch.tensor([0, 10]), "class indices in [0, 10). Received: labels='values in [0, 10]'"),
        (torch.tensor([[1, 2]]), "shape (2,)"),
        (torch.tensor([1.0, 2.0]), "a tensor of integer class indices"),
        ([1, 2], "a tensor of integer class indices"),
    ],
)
def test_generate_refuses_bad_labels(acgan, labels, message):
    with pytest.raises(InvalidArgumentError, match="`labels` must be") as caught:
        acgan.generate(2, labels=labels)
    assert message in str(caught.value)


def test_an_unconditional_gan_refuses_labels_and_bad_counts(dcgan):
    with pytest.raises(InvalidArgumentError, match="this GAN is unconditional"):
        dcgan.generate(2, labels=torch.tensor([1, 2]))
    with pytest.raises(InvalidArgumentError, match=r"`n` must be an int in \[1, 65536\]. Received: n=0"):
        dcgan.generate(0)


def test_shapes_follow_the_data_and_odd_sizes_are_refused():
    model = zoo.create("dcgan", in_shape=(3, 32, 32), num_classes=10, seed=0, width=4)
    assert model.generate(2, generator=torch.Generator().manual_seed(0)).shape == (2, 3, 32, 32)
    acgan = zoo.create("mnist_acgan", in_shape=(3, 32, 32), num_classes=4, seed=0, width=4, d_width=4)
    assert acgan.generate(2, generator=torch.Generator().manual_seed(0)).shape == (2, 3, 32, 32)
    assert acgan(torch.rand(2, 3, 32, 32)).shape == (2, 5)
    with pytest.raises(InvalidArgumentError, match="divide by 4"):
        zoo.create("dcgan", in_shape=(1, 30, 30), num_classes=10)
    with pytest.raises(InvalidArgumentError, match="`num_classes` must be an int in"):
        zoo.create("mnist_acgan", in_shape=(1, 28, 28), num_classes=1)
