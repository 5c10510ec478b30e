"""The 8 x 8 handwritten digits bundled with scikit-learn, as an `ImageDataset`.

It needs no download, so it is the data set for smoke runs and for machines without
network access. scikit-learn ships no train/test split; ours is fixed by a seeded
permutation so every run and every machine sees the same 1437/360 split.
"""

from __future__ import annotations

import numpy as np

from hypermod.data.cifar import NUM_CLASSES
from hypermod.data.images import ImageDataset

NUM_TRAIN = 1437  # of 1797 images; the remaining 360 are the test split
SPLIT_SEED = 0
_MAX_VALUE = 16  # scikit-learn's digits count pen strokes per 4 x 4 block: 0..16


def load_digits_dataset() -> ImageDataset:
    """Load scikit-learn's digits as uint8 images with a fixed train/test split.

    Returns:
        An ImageDataset named "digits": train (1437, 1, 8, 8) and test (360, 1, 8, 8)
        uint8 images scaled from 0..16 to 0..255 by round(v * 255 / 16), so they share a
        value range with the other data sets; int64 labels 0..9; source "scikit-learn".
    """
    # Imported here: scikit-learn takes about a second to import, and only digits needs it.
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.rint(bunch.images * (255 / _MAX_VALUE)).astype(np.uint8)[:, None]  # (N, 1, 8, 8)
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    train, test = order[:NUM_TRAIN], order[NUM_TRAIN:]
    return ImageDataset(
        name="digits",
        train_images=images[train],
        train_labels=labels[train],
        test_images=images[test],
        test_labels=labels[test],
        num_classes=NUM_CLASSES,
        source="scikit-learn",
    )
