"""A fake simulator for driving one node by hand: it records what the node sends, fires
timers only when the test advances time, and (through the `sim` fixture) fails a test that
leaves any sent message unexamined."""

from __future__ import annotations

import random

import pytest

from demos.sim import Timer, Trace


class FakeNetwork:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, object]] = []

    def send(
        self,
        src: str,
        dst: str,
        msg: object,
        *,
        label: str | None = None,
        send_event: int | None = None,
    ) -> int:
        self.sent.append((src, dst, msg))
        return len(self.sent) - 1


class FakeSim:
    """Just what a Node touches: a clock, timers, an rng, a trace and the fake network."""

    def __init__(self, seed: int = 0) -> None:
        self.now = 0.0
        self.rng = random.Random(seed)
        self.trace = Trace()
        self.network = FakeNetwork()
        self.timers: list[Timer] = []

    def after(self, delay: float, callback, *args) -> Timer:
        timer = Timer(self.now + delay, callback, args)
        self.timers.append(timer)
        return timer

    def advance(self, until: float) -> None:
        """Fire every due timer in time order, up to `until`."""
        while True:
            due = [t for t in self.timers if not t.cancelled and t.t <= until]
            if not due:
                break
            timer = min(due, key=lambda t: t.t)
            self.timers.remove(timer)
            self.now = timer.t
            timer.callback(*timer.args)
        self.now = until

    def take(self, src: str, dst: str, expected: object) -> object:
        """Give the oldest unread message from src to dst; it must be `expected`, or an
        instance of it when `expected` is a message class."""
        for i, (s, d, msg) in enumerate(self.network.sent):
            if s == src and d == dst:
                if isinstance(expected, type):
                    assert isinstance(msg, expected), f"{src}->{dst} sent {msg!r}"
                else:
                    assert msg == expected, f"{src}->{dst} sent {msg!r}, not {expected!r}"
                del self.network.sent[i]
                return msg
        raise AssertionError(f"{src} sent nothing to {dst}; sent: {self.network.sent}")

    def take_all(self, kind: type) -> list[tuple[str, str, object]]:
        taken = [(s, d, m) for s, d, m in self.network.sent if isinstance(m, kind)]
        self.network.sent = [x for x in self.network.sent if not isinstance(x[2], kind)]
        return taken

    def kinds(self, kind: str) -> list[dict]:
        return [e for e in self.trace.events if e["kind"] == kind]


@pytest.fixture
def sim():
    fake = FakeSim()
    yield fake
    assert not fake.network.sent, f"messages the test did not look at: {fake.network.sent}"
