"""Budget matching says what it found, and refuses what no width can reach (issue 21 item 9)."""

import pytest

from hypermod.models import METHODS, Sizes, configure, counts
from hypermod.models.budget import MAX_WIDTH, match_budget

ZOO = tuple(METHODS)


@pytest.mark.parametrize("method", ZOO)
def test_a_budget_below_every_setting_names_the_count_it_trains(method):
    match = match_budget(configure(method), 1, Sizes(64, 64, 12))
    assert not match.ok
    assert match.note == (f"cannot reach 1 within 1% (the fewest parameters it reaches is "
                          f"{match.count}); closest {match.count} "
                          f"({(match.count - 1) / 1:+.1%})")
    assert counts(match.config, Sizes(64, 64, 12))["trainable"] == match.count


@pytest.mark.parametrize("method", ["hyper", "mlp"])
def test_a_budget_beyond_the_width_cap_is_refused(method):
    with pytest.raises(ValueError) as err:
        match_budget(configure(method), 10**9, Sizes(64, 64, 12))
    message = str(err.value)
    assert f"{method} cannot reach a budget of 1,000,000,000" in message
    assert f"width cap ({MAX_WIDTH:,})" in message and "choose a smaller budget" in message


def test_a_primary_without_hidden_layers_is_matched_by_the_encoder_alone():
    """Issue 21 item 6: `--set primary_hidden=` ended in an IndexError here."""
    match = match_budget(configure("hyper", primary_hidden=()), 5000, Sizes(4, 2, 1))
    assert match.config.primary_hidden == ()
    assert abs(match.count - 5000) < 0.05 * 5000, match.note  # the encoder's steps only
    with pytest.raises(ValueError, match="no hidden layer in g or q to widen"):
        match_budget(configure("hyper", primary_hidden=()), 5000, Sizes(4, 2, 1),
                     count="primary")
