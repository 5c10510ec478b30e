"""python examples/custom_primary.py --epochs 5

A hypernetwork whose primary network g is your own conv net (any nn.Module with
parameters only, through ModulePrimary), trained on your own tensors by
hypermod.training.fit. Each sample here is an 8x8 image x, an instance I (one-hot: which
quadrant to look at) and a label (is that quadrant brighter than the whole image?):
f reads I and writes all of g's weights, g reads x. Swap make_data for your tensors.
"""

import argparse

import torch
from torch import nn

from hypermod.models import HyperNetwork, ModulePrimary, mlp_encoder
from hypermod.training import TrainConfig, fit


class TensorTask:
    """The Task protocol (hypermod.tasks.Task) over in-memory tensors; the last
    `num_test` samples are the test set."""

    def __init__(self, x, instance, y, num_test):
        self.x, self.instance, self.y = x, instance, y
        self.num_train = len(y) - num_test

    def train_noise(self, count, generator):
        return None  # no random augmentation

    def batch_from(self, index, noise):
        return (self.x[index], self.instance[index]), self.y[index]

    def test_batches(self, batch_size):
        for first in range(self.num_train, len(self.y), batch_size):
            end = min(first + batch_size, len(self.y))
            yield (self.x[first:end], self.instance[first:end]), self.y[first:end]

    def losses(self, output, target, reduction="mean"):
        return nn.functional.cross_entropy(output, target, reduction=reduction)

    def errors(self, output, target):
        return (output.argmax(-1) != target).sum()


def make_data(n, generator):
    """n samples: images (n, 1, 8, 8), instances (n, 4) and labels (n,)."""
    x = torch.rand(n, 1, 8, 8, generator=generator)
    quadrant = torch.randint(0, 4, (n,), generator=generator)
    means = x.reshape(n, 2, 4, 2, 4).mean((2, 4)).reshape(n, 4)  # of the four quadrants
    label = means.gather(1, quadrant[:, None])[:, 0] > x.mean((1, 2, 3))
    return x, nn.functional.one_hot(quadrant, 4).float(), label.long()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=4000, help="train + test samples")
    args = parser.parse_args()
    x, instance, y = make_data(args.samples, torch.Generator().manual_seed(0))
    task = TensorTask(x, instance, y, num_test=args.samples // 5)

    torch.manual_seed(1)
    g = ModulePrimary(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                                    nn.Flatten(), nn.Linear(4 * 8 * 8, 2)))
    model = HyperNetwork(mlp_encoder(4, g.num_params, hidden=32, depth=1), g)
    print("parameters:", model.param_counts())
    history = fit(model, task, TrainConfig(epochs=args.epochs, lr=0.003, optimizer="adam"),
                  progress=False, on_epoch=lambda row: print(
                      f"epoch {row['epoch']}: test error {row['test_error']:.3f}"))
    print(f"final test error {history[-1]['test_error']:.3f} (chance: about 0.5)")


if __name__ == "__main__":
    main()
