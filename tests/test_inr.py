"""The INR task: coordinates, the held-out mask, per-image MSE and PSNR, and training."""

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from hypermod.data import MNIST_MEAN, MNIST_STD, ImageDataset, load_dataset
from hypermod.models import (
    EmbeddingNetwork,
    Ensemble,
    HyperNetwork,
    MLPPrimary,
    MLPSpec,
    mlp_encoder,
)
from hypermod.tasks import INRConfig, INRTask, evaluate_psnr, mean_psnr, psnr
from hypermod.training import TrainConfig, evaluate, fit, train


def image_set(train: np.ndarray, test: np.ndarray) -> ImageDataset:
    """An ImageDataset around uint8 (N, C, H, W) arrays, every label 0."""
    return ImageDataset("hand", train, np.zeros(len(train), np.int64), test,
                        np.zeros(len(test), np.int64), 1, "test")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


class Constant(nn.Module):
    """Predicts `value` at every point: model(x, I) -> (B, n, 1)."""

    def __init__(self, value: float):
        super().__init__()
        self.value = nn.Parameter(torch.tensor(value))

    def forward(self, x, instance):
        return self.value.expand(*x.shape[:-1], 1)


def hypernet(task: INRTask) -> HyperNetwork:
    g = MLPPrimary(MLPSpec((task.coord_dim, 32, 1), bias=True))
    return HyperNetwork(mlp_encoder(task.input_dim, g.num_params, hidden=64, depth=1), g)


@pytest.mark.parametrize("field,value", [("points", 0), ("fourier_features", -1),
                                         ("holdout_fraction", 1.0), ("holdout_fraction", -0.1),
                                         ("std", 0.0)])
def test_bad_settings_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        INRConfig(**{field: value})


def test_a_holdout_fraction_that_holds_out_no_pixel_is_refused():
    data = image_set(np.zeros((2, 1, 2, 2), np.uint8), np.zeros((1, 1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="holdout_fraction"):
        INRTask(data, INRConfig(points=1, holdout_fraction=0.1))  # rounds to no pixel


def test_coordinates_features_and_targets_on_a_2x2_image():
    pixels = np.array([[0, 255], [51, 102]], np.uint8)[None, None]
    task = INRTask(image_set(pixels, pixels), INRConfig(points=1, fourier_features=3))
    assert task.coord_dim == 14 and task.input_dim == 4 and task.num_outputs == 1
    # rows: [x, y, sin(pi x), cos(pi x), sin(pi y), cos(pi y), then at 2 pi and 4 pi]
    want = torch.tensor([
        [-0.5, -0.5, -1, 0, -1, 0, 0, -1, 0, -1, 0, 1, 0, 1],  # row 0, column 0
        [0.5, -0.5, 1, 0, -1, 0, 0, -1, 0, -1, 0, 1, 0, 1],  # row 0, column 1
        [-0.5, 0.5, -1, 0, 1, 0, 0, -1, 0, -1, 0, 1, 0, 1],  # row 1, column 0
        [0.5, 0.5, 1, 0, 1, 0, 0, -1, 0, -1, 0, 1, 0, 1],  # row 1, column 1
    ])
    torch.testing.assert_close(task.coords, want, atol=1e-7, rtol=0)
    (x, instance), target = next(task.test_batches(8))
    torch.testing.assert_close(x, want[None], atol=1e-7, rtol=0)
    assert torch.equal(target, torch.tensor([[0.0, 1.0, 0.2, 0.4]]))
    torch.testing.assert_close(instance, (torch.tensor([[0.0, 1.0, 0.2, 0.4]]) - MNIST_MEAN)
                               / MNIST_STD)


def test_a_colour_image_targets_its_channel_mean():
    rgb = np.array([0, 30, 90], np.uint8).reshape(1, 3, 1, 1) * np.ones((1, 1, 2, 2), np.uint8)
    task = INRTask(image_set(rgb, rgb), INRConfig(points=1, fourier_features=0))
    (x, instance), target = next(task.test_batches(1))
    assert x.shape == (1, 4, 2) and instance.shape == (1, 12)
    torch.testing.assert_close(target, torch.full((1, 4), 40 / 255))


def test_batch_shapes_and_their_pixels(digits):
    task = INRTask(digits, INRConfig(points=20, fourier_features=3), limit_train=50,
                   limit_test=25)
    noise = task.train_noise(7, torch.Generator().manual_seed(0))
    assert noise.shape == (7, 20) and noise.dtype == torch.int64
    index = torch.tensor([3, 0, 49, 3, 8, 1, 2])
    (x, instance), target = task.batch_from(index, noise)
    assert x.shape == (7, 20, 14) and instance.shape == (7, 64) and target.shape == (7, 20)
    assert torch.equal(x, task.coords[noise])
    flat = torch.from_numpy(digits.train_images[index.numpy()]).float().div(255).flatten(1)
    assert torch.equal(target, flat.gather(1, noise))
    sizes = [(x.shape, instance.shape, t.shape) for (x, instance), t in task.test_batches(10)]
    assert sizes == [((b, 64, 14), (b, 64), (b, 64)) for b in (10, 10, 5)]


def test_heldout_pixels_are_never_sampled_and_are_what_the_second_metric_scores(digits):
    task = INRTask(digits, INRConfig(points=16), limit_train=30)
    held, kept = set(task.heldout_pixels.tolist()), set(task.train_pixels.tolist())
    assert len(held) == 16 and held.isdisjoint(kept) and held | kept == set(range(64))
    gen = torch.Generator().manual_seed(1)
    draws = torch.cat([task.train_noise(64, gen) for _ in range(50)])  # 3,200 samples
    assert set(draws.unique().tolist()) == kept  # every training pixel, no held-out one
    batches = list(task.heldout_pixel_batches(12))
    assert [t.shape for _, t in batches] == [(12, 16), (12, 16), (6, 16)]
    target = torch.cat([t for _, t in batches])
    images = torch.from_numpy(digits.train_images[:30]).float().div(255).flatten(1)
    assert torch.equal(target, images[:, sorted(held)])
    assert torch.equal(batches[0][0][0][5], task.coords[sorted(held)])
    other = INRTask(digits, INRConfig(points=16, mask_seed=1), limit_train=30)
    assert set(other.heldout_pixels.tolist()) != held  # the seed picks the mask


def test_losses_and_errors_are_per_image_mse(digits):
    task = INRTask(digits, limit_train=10)
    gen = torch.Generator().manual_seed(2)
    output, target = torch.rand(5, 64, 1, generator=gen), torch.rand(5, 64, generator=gen)
    by_hand = torch.tensor([((output[i, :, 0] - target[i]) ** 2).mean() for i in range(5)])
    per_sample = task.losses(output, target, "none")
    torch.testing.assert_close(per_sample, by_hand)
    torch.testing.assert_close(task.losses(output, target, "mean"), per_sample.mean())
    torch.testing.assert_close(task.losses(output[..., 0], target, "none"), per_sample)
    torch.testing.assert_close(task.errors(output, target), by_hand.sum())
    with pytest.raises(ValueError, match="reduction"):
        task.losses(output, target, "sum")
    with pytest.raises(ValueError, match="does not match"):
        task.losses(output[:, :10], target)


def test_a_constant_models_test_error_is_its_mse_by_hand(digits):
    task = INRTask(digits, limit_train=10, limit_test=37)
    model = Constant(0.3)
    images = digits.test_images[:37].astype(np.float64) / 255
    per_image = ((images - 0.3) ** 2).reshape(37, -1).mean(axis=1)
    (row,) = evaluate(model, task, batch_size=10)
    assert row["test_error"] == pytest.approx(per_image.mean(), rel=1e-6)
    assert row["test_loss"] == pytest.approx(per_image.mean(), rel=1e-6)
    want = float(np.mean(10 * np.log10(1 / per_image)))
    assert evaluate_psnr(model, task.test_batches(10)) == pytest.approx(want, rel=1e-6)


def test_psnr():
    assert psnr(0.01) == 20.0
    assert psnr(1.0) == 0.0
    assert mean_psnr(torch.tensor([0.01, 0.001])) == pytest.approx(25.0)


def test_a_hypernetwork_learns_digits_better_than_the_mean_image_intensity(digits):
    torch.manual_seed(0)
    task = INRTask(digits, INRConfig(points=32, fourier_features=4), limit_train=256,
                   limit_test=128)
    model = hypernet(task)
    initial = evaluate(model, task)[0]["test_error"]
    config = TrainConfig(epochs=4, lr=1e-3, optimizer="adam", batch_size=32)
    history = fit(model, task, config, progress=False)
    mean = task.intensities(task.train_images).mean()
    baseline = evaluate(Constant(float(mean)), task)[0]["test_error"]  # about 0.14
    assert history[-1]["test_error"] < 0.6 * baseline and history[-1]["test_error"] < 0.5 * initial
    # pixels no training step targeted are fitted too, better than the constant
    held = evaluate_psnr(model, task.heldout_pixel_batches(100))
    assert held > evaluate_psnr(Constant(float(mean)), task.heldout_pixel_batches(100)) + 1


def test_a_seed_ensemble_trains_each_member_as_its_single_run(digits):
    task = INRTask(digits, INRConfig(points=16, fourier_features=2), limit_train=64,
                   limit_test=32)
    torch.manual_seed(3)
    members = [hypernet(task), hypernet(task)]
    single = copy.deepcopy(members[1])
    config = TrainConfig(epochs=2, lr=1e-3, optimizer="adam", batch_size=16)
    histories = train(Ensemble(members), task, config, seeds=[1, 2], progress=False)
    alone = fit(single, task, TrainConfig(**{**config.__dict__, "seed": 2}), progress=False)
    assert [len(h) for h in histories] == [2, 2]
    for got, want in zip(histories[1], alone):
        assert got["test_error"] == pytest.approx(want["test_error"], rel=1e-4)
        assert math.isfinite(got["train_loss"])
    assert histories[0][-1]["test_error"] != histories[1][-1]["test_error"]


def test_an_embedding_network_takes_the_same_batches(digits):
    task = INRTask(digits, INRConfig(points=16, fourier_features=2), limit_train=32,
                   limit_test=8)
    torch.manual_seed(4)
    q = nn.Sequential(nn.Linear(6 + task.coord_dim, 16), nn.ReLU(), nn.Linear(16, 1))
    model = EmbeddingNetwork(mlp_encoder(task.input_dim, 6, hidden=16, depth=0), q)
    (x, instance), target = next(task.test_batches(8))
    output = model(x, instance)
    assert output.shape == (8, 64, 1)
    history = fit(model, task, TrainConfig(epochs=1, batch_size=16), progress=False)
    assert math.isfinite(history[0]["test_error"])
