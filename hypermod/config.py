"""Frozen config dataclasses overridden by name: `key=value`, dotted for nested configs.

    override(RotationRun(), ["train.lr=0.1", "model.encoder_depth=2", "dataset=digits"])
    override(RotationDepthConfig(), ["depths=2,4,8", "train.epochs=3"])

The one override mechanism of the command line (`--set`), for runs and sweeps alike. A
setting a config class has moved (its `MOVED` table, e.g. "lr" -> "train.lr") is refused
with the name it has now.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable
from typing import Any


def override(config: Any, assignments: Iterable[str]) -> Any:
    """A copy of the frozen dataclass `config` with `key=value` assignments applied.

    A key names a field, or a field of a nested config with dots (`train.lr`). Values are
    parsed by the field's declared type: int, float, bool, str, tuples of those as
    comma-separated lists, and `none` only where the type admits None. Unknown keys and
    values of the wrong type raise ValueError naming the key and the type. All
    assignments are applied at once, so the configs' own checks (which may relate
    several settings) run on the result, not on each step.
    """
    changes: dict[str, Any] = {}
    for text in assignments:
        key, sep, value = text.partition("=")
        if not sep:
            raise ValueError(f"override {text!r} is not of the form key=value")
        _collect(config, key.strip().replace("-", "_").split("."), value.strip(),
                 key.strip(), changes)
    return _apply(config, changes)


def _collect(config: Any, path: list[str], value: str, key: str,
             changes: dict[str, Any]) -> None:
    """Parse one assignment into `changes` (nested dicts for nested configs)."""
    if not dataclasses.is_dataclass(config):
        raise ValueError(f"setting {key!r}: {type(config).__name__} has no fields to set")
    known = {f.name for f in dataclasses.fields(config) if f.init}
    name = path[0]
    moved = getattr(type(config), "MOVED", {}).get(name)
    if name not in known and moved:
        where = key[:len(key) - len(".".join(path))] + moved  # under its nested prefix
        raise ValueError(f"setting {key!r} of {type(config).__name__} is now {where!r}: "
                         f"set {where}={value}")
    if name not in known:
        raise ValueError(f"unknown setting {key!r} for {type(config).__name__}; known: "
                         f"{sorted(known)}")
    if len(path) > 1:
        _collect(getattr(config, name), path[1:], value, key, changes.setdefault(name, {}))
        return
    hint = typing.get_type_hints(type(config))[name]
    if dataclasses.is_dataclass(hint):
        nested = sorted(f.name for f in dataclasses.fields(hint))
        raise ValueError(f"setting {key!r} is a group of settings; set one of them, e.g. "
                         f"{key}.{nested[0]}=... (known: {nested})")
    changes[name] = parse_typed(hint, value, key)


def _apply(config: Any, changes: dict[str, Any]) -> Any:
    """`config` with `changes` applied, nested configs first, one replace per config."""
    values = {name: _apply(getattr(config, name), change) if isinstance(change, dict)
              else change for name, change in changes.items()}
    return dataclasses.replace(config, **values) if values else config


def parse_typed(kind: Any, text: str, key: str) -> Any:
    """`text` as a value of the annotation `kind`; ValueError names `key` and the type."""
    union = typing.get_origin(kind) in (typing.Union, types.UnionType)
    options = typing.get_args(kind) if union else (kind,)
    if text.lower() == "none" and type(None) in options:
        return None
    for option in (o for o in options if o is not type(None)):
        if typing.get_origin(option) is tuple:
            inner = typing.get_args(option)[0]
            return tuple(parse_typed(inner, part.strip(), key) for part in text.split(",")
                         if part.strip())
        try:
            if option is bool:
                if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(text)
                return text.lower() in ("true", "1", "yes")
            if option in (int, float, str):
                return option(text)
        except ValueError:
            continue
    names = " or ".join("none" if o is type(None) else getattr(o, "__name__", str(o))
                        for o in options)
    raise ValueError(f"setting {key!r} expects {names}, got {text!r}")
