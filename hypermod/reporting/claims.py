"""Claims as data, and the one judge that turns result rows into numbers and verdicts.

    claim = Claim("lower", "the hypernetwork's test error is lower at every depth",
                  metric="test_error", first=Arm("hyper", {"method": "hyper"}),
                  second=Arm("embedding", {"method": "embedding"}),
                  family=("depth",), split=("dataset",), chance=0.875)
    for judgement in judge(claim, rows):     # one per data set
        judgement.verdict, judgement.pairs   # the word, and one compared pair per depth

An experiment declares what it claims (which metric, which arms, which rule, which
family of comparisons is corrected together); `judge` does the rest in one place: it
counts failures apart, tests the runs that trained (Welch, or paired by seed), tests all
runs beside it, corrects the family with Holm, and turns the outcomes into a verdict.
`best_of` ranks arms by a validation metric and compares the others with the best;
`trend` is assumption 2's rule. Rows are one per run (the point each run reports).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hypermod.reporting import verdict
from hypermod.reporting.inference import ALPHA, Difference, compare, holm
from hypermod.reporting.stats import spearman

Row = dict[str, Any]


@dataclass(frozen=True)
class Arm:
    """One side of a comparison: the rows matching `where`, read at `metric` (default:
    the claim's)."""

    label: str
    where: dict[str, Any]
    metric: str | None = None

    def takes(self, row: Row) -> bool:
        return all(row.get(k) == v for k, v in self.where.items())


@dataclass(frozen=True)
class Claim:
    """What an experiment claims, as data.

    Attributes:
        name: a short key; statement: the claim in words.
        metric: the row field compared, lower is better.
        first, second: the arms; the claim is that `first` is lower.
        family: row fields whose values give the family's comparisons, one each,
            corrected together by Holm (("depth",): one comparison per depth).
        split: row fields whose values make separate judgements, one family each.
        test: "welch" (independent runs) or "paired" (matched by seed).
        chance: the best constant guess of `metric` (a run within 2% of it failed), or
            None; failed_on: the field failures are read from (default: the
            validation twin of `metric` where rows have it, else `metric`).
    """

    name: str
    statement: str
    metric: str
    first: Arm
    second: Arm
    family: tuple[str, ...] = ()
    split: tuple[str, ...] = ()
    test: str = "welch"
    chance: float | None = None
    failed_on: str | None = None

    @property
    def family_words(self) -> str:
        return " x ".join(self.family) if self.family else "one comparison"


@dataclass(frozen=True)
class Side:
    """One arm's runs at one family member: every run's value by seed, and which failed."""

    label: str
    values: dict[int, float | None]
    failed: frozenset[int]

    @property
    def trained(self) -> dict[int, float]:
        return {s: v for s, v in self.values.items() if s not in self.failed}

    @property
    def finite(self) -> dict[int, float]:
        """Every run with a number (failed ones at chance included; diverged ones not)."""
        return {s: v for s, v in self.values.items() if v is not None and np.isfinite(v)}

    def stats(self, trained_only: bool = True) -> dict[str, Any]:
        """mean, std, n of the trained (or all finite) runs, and the failure count."""
        vals = list((self.trained if trained_only else self.finite).values())
        n = len(vals)
        return {"mean": float(np.mean(vals)) if n else None,
                "std": float(np.std(vals, ddof=1)) if n > 1 else 0.0 if n else None,
                "n": n, "failed": len(self.failed), "runs": len(self.values)}


@dataclass(frozen=True)
class Pair:
    """One comparison of a family.

    Attributes:
        at: the family fields' values; first, second: the two sides.
        trained: the test on runs that trained (the one the verdict uses), or None.
        everything: the same test on every run with a number, failures included.
        used: "trained" or "all runs" (when an arm has too few runs that trained but
            enough runs), or "" when no test could run; p_adjusted: Holm over the family.
        outcome: "first" or "second" (lower beyond noise), "noise", "too few" or
            "failed" (every run of both arms failed).
    """

    at: dict[str, Any]
    first: Side
    second: Side
    trained: Difference | None
    everything: Difference | None
    used: str
    p_adjusted: float | None = None
    outcome: str = "too few"

    @property
    def test(self) -> Difference | None:
        return self.trained if self.used == "trained" else self.everything \
            if self.used == "all runs" else None


@dataclass(frozen=True)
class Judgement:
    """A claim judged on one split: its verdict, the family's pairs and the counts."""

    claim: Claim
    at: dict[str, Any]
    pairs: list[Pair]
    verdict: verdict.Verdict
    counts: dict[str, int] = field(default_factory=dict)


def _failure_field(row: Row, key: str, claim: Claim) -> str:
    """The field a run's failure is read from: `claim.failed_on`, else the validation twin
    of `key` (val_error for test_error), else `key`; the first that the row has."""
    twin = f"val_{key[5:]}" if key.startswith("test_") else None
    return next((name for name in (claim.failed_on, twin) if name and name in row), key)


def _side(arm: Arm, rows: Sequence[Row], metric: str, claim: Claim) -> Side:
    values, failed = {}, set()
    key = arm.metric or metric
    for row in rows:
        value = row.get(key)
        values[row["seed"]] = None if value is None else float(value)
        check = row.get(_failure_field(row, key, claim))
        if row.get("diverged") or verdict.failed(None if check is None else float(check),
                                                 claim.chance):
            failed.add(row["seed"])
    return Side(arm.label, values, frozenset(failed))


def _test(first: dict[int, float], second: dict[int, float], test: str
          ) -> Difference | None:
    if test == "paired":
        seeds = sorted(first.keys() & second.keys())
        if len(seeds) < verdict.MIN_SEEDS:
            return None
        return compare([first[s] for s in seeds], [second[s] for s in seeds], "paired")
    if min(len(first), len(second)) < verdict.MIN_SEEDS:
        return None
    return compare(list(first.values()), list(second.values()), "welch")


def pair(at: dict[str, Any], first: Side, second: Side, test: str = "welch") -> Pair:
    """The comparison of two sides before correction (see `Pair`)."""
    trained = _test(first.trained, second.trained, test)
    everything = _test(first.finite, second.finite, test)
    if first.failed == frozenset(first.values) and second.failed == frozenset(second.values):
        return Pair(at, first, second, trained, everything, "", outcome="failed")
    used = "trained" if trained is not None else "all runs" if everything is not None else ""
    return Pair(at, first, second, trained, everything, used)


def correct(pairs: list[Pair]) -> list[Pair]:
    """Holm over the pairs that were tested; each outcome from its adjusted p."""
    tested = [i for i, p in enumerate(pairs) if p.test is not None]
    adjusted = holm([pairs[i].test.p for i in tested])
    out = list(pairs)
    for i, p_adj in zip(tested, adjusted):
        d = pairs[i].test
        outcome = "noise" if p_adj >= ALPHA else "first" if d.diff < 0 else "second"
        out[i] = replace(pairs[i], p_adjusted=p_adj, outcome=outcome)
    return out


def _groups(rows: Sequence[Row], fields: Sequence[str]) -> dict[tuple, list[Row]]:
    out: dict[tuple, list[Row]] = {}
    for row in rows:
        out.setdefault(tuple(row.get(f) for f in fields), []).append(row)
    return out


def _verdict(pairs: list[Pair]) -> tuple[verdict.Verdict, dict[str, int]]:
    count = {k: sum(p.outcome == k for p in pairs)
             for k in ("first", "second", "noise", "too few", "failed")}
    judged = count["first"] + count["second"] + count["noise"]
    v = verdict.tally(count["first"], count["second"], judged)
    if v is None:
        reasons = []
        if count["too few"]:
            reasons.append(f"fewer than {verdict.MIN_SEEDS} runs per arm at "
                           f"{count['too few']} of {len(pairs)}")
        if count["failed"]:
            reasons.append(f"every run of both arms failed at {count['failed']}")
        v = verdict.Verdict(verdict.INCONCLUSIVE, "; ".join(reasons) or "nothing to compare")
    return v, count


def judge(claim: Claim, rows: Sequence[Row]) -> list[Judgement]:
    """The claim judged on `rows` (one per run), one `Judgement` per split value."""
    out = []
    for split_key, mine in _groups(rows, claim.split).items():
        pairs = []
        for at_key, here in _groups(mine, claim.family).items():
            a = [r for r in here if claim.first.takes(r)]
            b = [r for r in here if claim.second.takes(r)]
            if not a or not b:
                continue  # one arm did not run at this member
            pairs.append(pair(dict(zip(claim.family, at_key)),
                              _side(claim.first, a, claim.metric, claim),
                              _side(claim.second, b, claim.metric, claim), claim.test))
        pairs = correct(pairs)
        word, count = _verdict(pairs)
        out.append(Judgement(claim, dict(zip(claim.split, split_key)), pairs, word, count))
    return out


@dataclass(frozen=True)
class Ranking:
    """Arms ranked by mean selection metric (validation), each compared with the best.

    Attributes:
        at: the split's values; best: the best arm's value of `by`.
        order: values of `by`, best first; selection: value -> mean selection metric.
        pairs: one per other arm: first = the best, second = that arm, Holm over them.
        sides: value -> that arm's side at the reported metric.
    """

    at: dict[str, Any]
    best: Any
    order: list[Any]
    selection: dict[Any, float]
    pairs: list[Pair]
    sides: dict[Any, Side]


def best_of(rows: Sequence[Row], by: str, metric: str, select: str, split: Sequence[str],
            test: str = "welch", chance: float | None = None) -> list[Ranking]:
    """Per split, the arms (values of `by`) ranked by mean `select` over their runs that
    trained (the validation metric: the test set never chooses), and every other arm
    compared with the best on `metric` (Holm over those comparisons).

    An arm whose every run failed ranks last."""
    claim = Claim("best", "", metric, Arm("", {}), Arm("", {}), chance=chance,
                  failed_on=select)
    out = []
    for split_key, mine in _groups(rows, split).items():
        arms = _groups(mine, (by,))
        sides = {k[0]: _side(Arm(str(k[0]), {}), v, metric, claim) for k, v in arms.items()}
        chosen = {k[0]: _side(Arm(str(k[0]), {}), v, select, claim) for k, v in arms.items()}
        selection = {a: (float(np.mean(list(s.trained.values()))) if s.trained else np.inf)
                     for a, s in chosen.items()}
        order = sorted(selection, key=lambda a: selection[a])
        best = order[0]
        pairs = correct([pair({by: a}, sides[best], sides[a], test) for a in order[1:]])
        out.append(Ranking(dict(zip(split, split_key)), best, order, selection, pairs, sides))
    return out


def trend(rows: Sequence[Row], x: str, metric: str, split: Sequence[str],
          chance: float | None = None) -> list[Judgement]:
    """Assumption 2's rule per split: Spearman's rho of `x` and the mean `metric` at most
    `verdict.TREND_RHO`, and the largest `x` lower than the smallest by Welch (Holm over
    the splits); held when both, did not hold otherwise."""
    claim = Claim("trend", "", metric, Arm("largest", {}), Arm("smallest", {}),
                  chance=chance)
    found = []
    for split_key, mine in _groups(rows, split).items():
        by_x = _groups(mine, (x,))
        means = {k[0]: float(np.mean([r[metric] for r in v if r.get(metric) is not None]))
                 for k, v in by_x.items() if any(r.get(metric) is not None for r in v)}
        xs = sorted(means)
        found.append((split_key, xs, means, by_x))
    pairs = [pair({x: (xs[-1], xs[0])}, _side(claim.first, by_x[(xs[-1],)], metric, claim),
                  _side(claim.second, by_x[(xs[0],)], metric, claim))
             for _, xs, _, by_x in found if len(xs) >= 2]
    pairs = iter(correct(pairs))
    out = []
    for split_key, xs, means, _ in found:
        at = dict(zip(split, split_key))
        if len(xs) < verdict.MIN_WIDTHS:
            word = verdict.Verdict(verdict.INCONCLUSIVE, f"only {len(xs)} width(s) finished")
            out.append(Judgement(claim, at, [next(pairs)] if len(xs) >= 2 else [], word,
                                 {"rho": None}))
            continue
        p = next(pairs)
        rho = spearman(xs, [means[v] for v in xs])
        if p.outcome in ("too few", "failed"):
            word = verdict.Verdict(verdict.INCONCLUSIVE, f"widest against narrowest: "
                                                         f"{p.outcome}")
        elif rho <= verdict.TREND_RHO and p.outcome == "first":
            word = verdict.Verdict(verdict.HELD)
        else:
            word = verdict.Verdict(verdict.NOT_HELD)
        out.append(Judgement(claim, at, [p], word, {"rho": rho}))
    return out
