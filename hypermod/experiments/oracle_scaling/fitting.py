"""After Adam: each member's errors, the L-BFGS polish, and g's least-squares certificate.

    errors = member_errors(model, sets)       # per member: MSEs, test RMSE, max |error|
    kept = polish(model, sets, steps=300)      # which members kept the polished weights
    bound = uniform_knots_rmse(sets, width=16) # what a width-16 g can reach, at least
"""

from __future__ import annotations

import math

import numpy as np
import torch

from hypermod.models import Ensemble
from hypermod.tasks.oracle import OracleSets


def _outputs(model: torch.nn.Module, data) -> torch.Tensor:
    """(S, K, n) predictions of every member on every point of `data`."""
    ids = torch.arange(data.instances.shape[0], device=data.x.device)
    if isinstance(model, Ensemble):
        s = model.size
        return model(data.x.expand(s, *data.x.shape), ids.expand(s, -1))
    return model(data.x, ids)[None]


@torch.no_grad()
def member_errors(model: torch.nn.Module, sets: OracleSets) -> list[dict[str, float]]:
    """Each member's train/val/test MSE, test RMSE and test max |error| (the sup norm on
    the held-out points)."""
    was = model.training
    model.eval()
    errors = {name: _outputs(model, getattr(sets, name)) - getattr(sets, name).y
              for name in ("train", "val", "test")}
    model.train(was)
    out = []
    for k in range(next(iter(errors.values())).shape[0]):
        mse = {f"{name}_mse": float((e[k] ** 2).mean()) for name, e in errors.items()}
        out.append({**mse, "test_rmse": math.sqrt(mse["test_mse"]),
                    "test_max": float(errors["test"][k].abs().max())})
    return out


def polish(model: torch.nn.Module, sets: OracleSets, steps: int) -> list[bool]:
    """Full-batch L-BFGS on the training points; each member keeps the polished weights
    only when its validation MSE falls (else its Adam weights come back). Returns which
    members kept them.

    The members' losses are summed, so one line search serves all; their parameters are
    apart, so each member's gradient is its own.
    """
    before = [e["val_mse"] for e in member_errors(model, sets)]
    saved = [p.detach().clone() for p in model.parameters()]
    train_set = sets.train
    optimizer = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=steps, history_size=50,
                                  line_search_fn="strong_wolfe", tolerance_grad=1e-10,
                                  tolerance_change=1e-12)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = ((_outputs(model, train_set) - train_set.y) ** 2).mean(dim=(1, 2)).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    after = [e["val_mse"] for e in member_errors(model, sets)]
    kept = [math.isfinite(a) and a < b for a, b in zip(after, before)]
    stacked = isinstance(model, Ensemble)
    with torch.no_grad():
        for p, old in zip(model.parameters(), saved):
            for k, keep in enumerate(kept):
                if not keep:
                    if stacked:
                        p[k].copy_(old[k])
                    else:
                        p.copy_(old)
    return kept


def uniform_knots_rmse(sets: OracleSets, width: int) -> float:
    """Test RMSE of the least-squares width-`width` ReLU network with kinks fixed on a
    uniform grid, fitted per instance on its training points (m1 = 1).

    The network: unit 0 is relu(x + 1) (a line on [-1, 1], with the output bias an affine
    function), units 1..w-1 are relu(x - t_j) at w - 1 evenly spaced interior t_j; the
    output weights and bias are the least-squares solution. Every such function is a
    width-w g, so its error bounds from above what training g of width w could reach.
    """
    knots = np.linspace(-1, 1, width + 1)[1:-1]

    def features(x: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones_like(x), np.maximum(x + 1, 0)]
                               + [np.maximum(x - t, 0) for t in knots])

    total, count = 0.0, 0
    train, test = sets.train, sets.test
    for k in range(train.instances.shape[0]):
        x, y = train.x[k, :, 0].double().cpu().numpy(), train.y[k].double().cpu().numpy()
        coef, *_ = np.linalg.lstsq(features(x), y, rcond=None)
        xt, yt = test.x[k, :, 0].double().cpu().numpy(), test.y[k].double().cpu().numpy()
        total += float(((features(xt) @ coef - yt) ** 2).sum())
        count += yt.size
    return math.sqrt(total / count)
