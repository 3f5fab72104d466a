"""Parameter specs: the data that builds forms and validates author and reader input."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .errors import ParamError
from .faults import parse_schedule

KINDS = ("int", "float", "choice", "schedule", "text")


@dataclass(frozen=True)
class Param:
    """One demo parameter: its type, default, bounds or choices, and how to label it."""

    name: str
    kind: str
    default: object
    label: str
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    step: float | None = None

    def to_json(self) -> dict:
        """Give the spec as plain JSON data (for forms and the browser manifest)."""
        data: dict = {
            "name": self.name,
            "kind": self.kind,
            "default": self.default,
            "label": self.label,
            "help": self.help,
        }
        if self.min is not None:
            data["min"] = self.min
        if self.max is not None:
            data["max"] = self.max
        if self.choices:
            data["choices"] = list(self.choices)
        if self.step is not None:
            data["step"] = self.step
        return data

    def coerce(self, raw: object) -> object:
        """Give `raw` (a string from a fence, CLI or URL, or a typed value) as this param's type.

        Schedules are only checked for syntax here; node names are checked by `resolve`.
        """
        if self.kind == "int":
            value = _to_int(self.name, raw)
        elif self.kind == "float":
            value = _to_float(self.name, raw)
        elif self.kind == "choice":
            value = str(raw).strip()
            if value not in self.choices:
                raise ParamError(f"{self.name}: {value!r} is not one of {', '.join(self.choices)}")
            return value
        elif self.kind in ("schedule", "text"):
            if not isinstance(raw, str):
                raise ParamError(f"{self.name}: expected text, got {raw!r}")
            if len(raw) > 2000:
                raise ParamError(f"{self.name}: value is longer than 2000 characters")
            return raw.strip()
        else:  # pragma: no cover - specs are written in this package
            raise ParamError(f"{self.name}: unknown parameter kind {self.kind!r}")
        if self.min is not None and value < self.min:
            raise ParamError(f"{self.name}: {value} is below the minimum {_num(self.min)}")
        if self.max is not None and value > self.max:
            raise ParamError(f"{self.name}: {value} is above the maximum {_num(self.max)}")
        return value


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _to_int(name: str, raw: object) -> int:
    if isinstance(raw, bool):
        raise ParamError(f"{name}: expected an integer, got {raw!r}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    text = str(raw).strip()
    try:
        return int(text, 10)
    except ValueError:
        raise ParamError(f"{name}: expected an integer, got {text!r}") from None


def _to_float(name: str, raw: object) -> float:
    if isinstance(raw, bool):
        raise ParamError(f"{name}: expected a number, got {raw!r}")
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = str(raw).strip()
        try:
            value = float(text)
        except ValueError:
            raise ParamError(f"{name}: expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ParamError(f"{name}: expected a finite number, got {raw!r}")
    return value


def common_params(
    *, duration: float, drop: float = 0.0, faults: str = "", max_duration: float = 60000.0
) -> tuple[Param, ...]:
    """Give the params every demo accepts: seed, duration, drop, faults, duplicate, reorder."""
    return (
        Param(
            "seed",
            "int",
            1,
            "Seed",
            "Same seed, same run: all randomness comes from it.",
            min=0,
            max=2**31 - 1,
        ),
        Param(
            "duration",
            "float",
            float(duration),
            "Duration (ms)",
            "How long to simulate, in virtual milliseconds.",
            min=100.0,
            max=max_duration,
            step=100.0,
        ),
        Param(
            "drop",
            "float",
            float(drop),
            "Message loss",
            "Probability that the network silently drops each message.",
            min=0.0,
            max=1.0,
            step=0.05,
        ),
        Param(
            "faults",
            "schedule",
            faults,
            "Faults",
            "crash n2@1500; restart n2@4000; partition n1,n2|n3,n4,n5@2000-6000",
        ),
        Param(
            "duplicate",
            "float",
            0.0,
            "Duplication",
            "Probability that the network delivers a message a second time, later.",
            min=0.0,
            max=1.0,
            step=0.05,
        ),
        Param(
            "reorder",
            "float",
            0.0,
            "Reordering (ms)",
            "Extra random delay of up to this many ms per message, so later messages "
            "can overtake earlier ones.",
            min=0.0,
            max=5000.0,
            step=50.0,
        ),
    )


def resolve(
    specs: Iterable[Param],
    given: Mapping[str, object],
    node_names: Callable[[Mapping[str, object]], list[str]],
) -> dict:
    """Give the effective params: defaults overlaid with `given`, every value checked.

    `node_names(params)` names the nodes a fault schedule may mention.
    """
    by_name = {p.name: p for p in specs}
    for key in given:
        if key not in by_name:
            raise ParamError(f"unknown parameter {key!r} (known: {', '.join(by_name)})")
    params = {}
    for spec in by_name.values():
        raw = given.get(spec.name, spec.default)
        params[spec.name] = spec.coerce(raw)
    for spec in by_name.values():
        if spec.kind == "schedule":
            parse_schedule(
                params[spec.name], node_names(params), params["duration"], param=spec.name
            )
    return params
