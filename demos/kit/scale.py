"""One time scale per figure: simulated ms in [0, duration] to x in [x0, x1], with nice ticks."""

from __future__ import annotations

import math
from dataclasses import dataclass


def nice_step(span: float, most: int) -> float:
    """Give the smallest step of the form 1, 2 or 5 × 10^k that cuts `span` into at most
    `most` parts."""
    if span <= 0 or most < 1:
        return 1.0
    raw = span / most
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if factor * power >= raw * (1 - 1e-9):
            return factor * power
    return 10.0 * power  # pragma: no cover - the loop always returns


def time_label(t: float, step: float) -> str:
    """Give a tick label: seconds once the step is a tenth of a second or more, else ms."""
    if step >= 100:
        return f"{round(t / 1000, 1):g} s"
    return f"{t:g} ms"


@dataclass(frozen=True)
class TimeScale:
    """Maps time to x, as d3's `scaleLinear().domain([0, duration]).range([x0, x1])`."""

    duration: float
    x0: float
    x1: float

    def x(self, t: float) -> float:
        """Give the x of time `t`, clamped to the range."""
        t = min(max(t, 0.0), self.duration)
        return self.x0 + (self.x1 - self.x0) * t / self.duration

    def t(self, x: float) -> float:
        """Give the time at `x` (the inverse of `x`), clamped to the domain."""
        x = min(max(x, self.x0), self.x1)
        return (x - self.x0) / (self.x1 - self.x0) * self.duration

    def px(self, ms: float) -> float:
        """Give the width in x units of `ms` milliseconds."""
        return (self.x1 - self.x0) * ms / self.duration

    def ticks(self, min_gap: float = 56.0) -> list[float]:
        """Give tick times on a 1-2-5 step, at least `min_gap` x units apart."""
        most = max(1, int((self.x1 - self.x0) // min_gap))
        step = nice_step(self.duration, most)
        count = int(self.duration // step + 1e-9)
        return [i * step for i in range(count + 1)]

    def step(self, min_gap: float = 56.0) -> float:
        """Give the distance between two of `ticks(min_gap)`."""
        return nice_step(self.duration, max(1, int((self.x1 - self.x0) // min_gap)))
