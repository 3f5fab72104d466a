"""Calling a slow dependency: timeouts, retries, back-off, a retry budget, a circuit breaker.

n1 stands for the clients: requests arrive as a Poisson process, `load` per second. n2 is
the service; it answers each request by calling the dependency n3, with a timeout on each
attempt and up to `retries` more attempts after a timeout, waiting between attempts as
`backoff` says (none; exponential; exponential with "full jitter", as in the AWS Builders'
Library). A retry budget (a token bucket: each request earns `budget` of a retry) and a
circuit breaker (Nygard's closed / open / half-open) are optional. n3 serves calls from one
FIFO queue with `workers` workers; from `slow_at` for `slow_for` ms each call takes
`slow_factor` times as long.

n3 cannot tell that a caller has given up: a call that timed out at n2 stays in the queue
and is served anyway. That is what lets a retry storm outlive the slowdown that started it
(Bronson et al., "Metastable Failures in Distributed Systems", HotOS 2021).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from .faults import parse_schedule
from .params import Param, common_params
from .queries import state_reader
from .result import Check
from .sim import Node, Simulation

NAME = "resilience"
TITLE = "Calling a slow dependency: timeouts, retries, back-off and circuit breakers"

CLIENTS, SERVICE, DEPENDENCY = "n1", "n2", "n3"
ROLES = {CLIENTS: "clients", SERVICE: "service", DEPENDENCY: "dependency"}
BACKOFFS = ("none", "exponential", "jittered")

PARAMS = common_params(duration=8000) + (
    Param(
        "retries",
        "int",
        3,
        "Retries",
        "How many more attempts the service makes after an attempt times out.",
        min=0,
        max=5,
    ),
    Param(
        "backoff",
        "choice",
        "none",
        "Back-off",
        "How long to wait before a retry. none: retry at once. exponential: 50 ms, 100, "
        "200, ... up to 1 s. jittered: a random wait between 0 and that.",
        choices=BACKOFFS,
    ),
    Param(
        "breaker",
        "choice",
        "false",
        "Circuit breaker",
        "true: after 10 of the last 20 calls fail, fail fast for 1 s, then let one probe "
        "call through to decide.",
        choices=("false", "true"),
    ),
    Param(
        "budget",
        "float",
        0.0,
        "Retry budget",
        "Retries may be at most this share of requests (a token bucket of 10); 0: no "
        "budget, retry whenever a timeout allows.",
        min=0.0,
        max=1.0,
        step=0.05,
    ),
    Param(
        "timeout",
        "float",
        100.0,
        "Timeout (ms)",
        "How long the service waits for one attempt before it gives up on it.",
        min=10.0,
        max=2000.0,
        step=10.0,
    ),
    Param(
        "load",
        "float",
        50.0,
        "Load (requests/s)",
        "Requests per second from the clients, arriving at random (Poisson).",
        min=1.0,
        max=400.0,
        step=10.0,
    ),
    Param(
        "workers",
        "int",
        2,
        "Workers",
        "Calls the dependency serves at once; each takes about 20 ms when it is well.",
        min=1,
        max=16,
    ),
    Param(
        "slow_at",
        "float",
        2000.0,
        "Slowdown at (ms)",
        "When the dependency slows down.",
        min=0.0,
        max=60000.0,
        step=100.0,
    ),
    Param(
        "slow_for",
        "float",
        2000.0,
        "Slowdown for (ms)",
        "How long it stays slow.",
        min=0.0,
        max=60000.0,
        step=100.0,
    ),
    Param(
        "slow_factor",
        "float",
        5.0,
        "Slowdown factor",
        "How many times longer each call takes while the dependency is slow.",
        min=1.0,
        max=20.0,
        step=0.5,
    ),
)

LATENCY = (1.0, 3.0)  # ms per hop: the three nodes sit in one data centre
SERVICE_TIME = 20.0  # ms one call takes at the dependency when it is well (±50%)
BACKOFF_BASE, BACKOFF_CAP = 50.0, 1000.0  # ms: the first retry's wait, and the longest
BUCKET = 10.0  # most retry tokens the budget saves up
WINDOW, MIN_CALLS, FAIL_SHARE = 20, 10, 0.5  # the breaker trips on 10 failures of 20
COOLDOWN = 1000.0  # ms an open breaker fails fast before it lets a probe through
RECOVERY = 3000.0  # ms after the slowdown ends by which goodput must be back
GOOD_SHARE = 0.9  # ... to this share of the offered load
AMPLIFICATION = 2.0  # attempts per request the service must stay under
LATE = 200.0  # ms before the end within which an unanswered request is not yet judged
SETTLE = 20  # requests before work amplification is judged (one early retry is not a storm)


@dataclass(frozen=True)
class Request:
    req: int


@dataclass(frozen=True)
class Response:
    req: int
    ok: bool


@dataclass(frozen=True)
class Call:
    req: int
    attempt: int


@dataclass(frozen=True)
class Reply:
    req: int
    attempt: int


@dataclass(frozen=True)
class Config:
    retries: int
    backoff: str
    breaker: bool
    budget: float
    timeout: float
    load: float
    workers: int
    slow_at: float
    slow_for: float
    slow_factor: float

    @classmethod
    def of(cls, params: Mapping[str, object]) -> Config:
        """Give the config the params describe."""
        return cls(
            int(params["retries"]),
            str(params["backoff"]),
            params["breaker"] == "true",
            float(params["budget"]),
            float(params["timeout"]),
            float(params["load"]),
            int(params["workers"]),
            float(params["slow_at"]),
            float(params["slow_for"]),
            float(params["slow_factor"]),
        )


class Clients(Node):
    """The callers: a Poisson stream of requests, each sent once; answers are counted here."""

    def __init__(self, name: str, sim: Simulation, config: Config) -> None:
        super().__init__(name, sim)
        self.config = config
        self.issued = 0  # request ids keep rising across a crash, so answers cannot mix up
        self.waiting: set[int] = set()

    def on_start(self) -> None:
        self._next_arrival()

    def on_restart(self) -> None:
        self._next_arrival()

    def on_crash(self) -> None:
        self.waiting.clear()  # whoever was waiting is gone with the process

    def _next_arrival(self) -> None:
        self.set_timer(self.sim.rng.expovariate(self.config.load / 1000.0), self._issue)

    def _issue(self) -> None:
        self.issued += 1
        req = self.issued
        self.waiting.add(req)
        event = self.record("request", req=req)
        self.send(SERVICE, Request(req), label=f"request r{req}", event=event)
        self._next_arrival()

    def on_Response(self, msg: Response, src: str, msg_id: int) -> None:
        if msg.req in self.waiting:  # a copy, or an answer to a caller who crashed: ignored
            self.waiting.discard(msg.req)
            self.record("response", req=msg.req, ok=msg.ok)


class Breaker:
    """Nygard's circuit breaker: closed counts outcomes, open fails fast, half-open probes.

    Closed, it remembers the last WINDOW outcomes and trips once MIN_CALLS are known and at
    least FAIL_SHARE of them failed. Open, it refuses every call until its owner lets it
    try again after COOLDOWN. Half-open, it lets one probe through: the probe's success
    closes it with a clean slate, its failure opens it again.
    """

    def __init__(self) -> None:
        self.state = "closed"
        self.outcomes: deque[bool] = deque(maxlen=WINDOW)
        self.probing = False

    def allow(self) -> bool:
        """Give whether a call may go out now (in half-open, only the first may)."""
        if self.state == "closed":
            return True
        if self.state == "half-open" and not self.probing:
            self.probing = True
            return True
        return False

    def succeeded(self) -> bool:
        """Note a call that succeeded; give whether the breaker closed because of it."""
        if self.state == "half-open":
            self.state, self.probing = "closed", False
            self.outcomes.clear()
            return True
        self.outcomes.append(True)
        return False

    def failed(self) -> bool:
        """Note a call that failed; give whether the breaker opened because of it."""
        if self.state == "half-open":
            self.state, self.probing = "open", False
            return True
        if self.state == "open":
            return False  # a straggler sent before the trip: the breaker knows already
        self.outcomes.append(False)
        failures = self.outcomes.count(False)
        if len(self.outcomes) >= MIN_CALLS and failures >= FAIL_SHARE * len(self.outcomes):
            self.state = "open"
            self.outcomes.clear()
            return True
        return False

    def half_open(self) -> bool:
        """Let the next call through as a probe; give whether that changed the state."""
        if self.state != "open":
            return False
        self.state, self.probing = "half-open", False
        return True


class Service(Node):
    """Answers each request by calling the dependency, as the resilience policy allows.

    `attempts[req]` is (attempt number, whether that attempt still waits for its reply);
    while backing off between attempts the flag is False.
    """

    def __init__(self, name: str, sim: Simulation, config: Config) -> None:
        super().__init__(name, sim)
        self.config = config
        self.attempts: dict[int, tuple[int, bool]] = {}
        # Durable, like a request log: a copy of a request the network repeats, even after
        # a crash, is recognised, so attempts never exceed (retries + 1) per request.
        self.seen: set[int] = set()
        self.tokens = 0.0
        self.breaker = Breaker() if config.breaker else None

    def on_crash(self) -> None:
        self.attempts.clear()
        self.tokens = 0.0
        self.breaker = Breaker() if self.config.breaker else None

    def on_restart(self) -> None:
        if self.breaker is not None:
            self.record("breaker", state="closed")

    def on_start(self) -> None:
        if self.breaker is not None:
            self.record("breaker", state="closed")

    def on_Request(self, msg: Request, src: str, msg_id: int) -> None:
        if msg.req in self.seen:
            return
        self.seen.add(msg.req)
        self.record("accept", req=msg.req)
        self.attempts[msg.req] = (0, False)
        self.earn_retry_token()
        self.call_dependency(msg.req)

    def on_Reply(self, msg: Reply, src: str, msg_id: int) -> None:
        if self.attempts.get(msg.req) != (msg.attempt, True):
            return  # that attempt timed out already (or this is a copy): its work is wasted
        if self.breaker is not None and self.breaker.succeeded():
            self.record("breaker", state="closed")
        self.answer(msg.req, True)

    # -- the policy's rules ------------------------------------------------------------
    def earn_retry_token(self) -> None:
        """Each request adds `budget` of a retry to the bucket, up to BUCKET."""
        if self.config.budget > 0:
            self.tokens = min(BUCKET, self.tokens + self.config.budget)

    def spend_retry_token(self) -> bool:
        """Give whether the budget allows one more retry (and take its token)."""
        if self.config.budget <= 0:
            return True
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    def backoff(self, attempt: int) -> float:
        """Give the wait before attempt `attempt + 1`: none, capped exponential, or a random
        share of it ("full jitter": Brooker, AWS Builders' Library)."""
        if self.config.backoff == "none":
            return 0.0
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        if self.config.backoff == "exponential":
            return ceiling
        return self.sim.rng.uniform(0.0, ceiling)

    def call_dependency(self, req: int) -> None:
        """Send the next attempt of `req` unless the breaker is open; arm its timeout."""
        if self.breaker is not None and not self.breaker.allow():
            self.answer(req, False, "breaker open")
            return
        attempt = self.attempts[req][0] + 1
        self.attempts[req] = (attempt, True)
        event = self.record("attempt", req=req, attempt=attempt)
        self.send(DEPENDENCY, Call(req, attempt), label=f"call r{req} #{attempt}", event=event)
        self.set_timer(self.config.timeout, self.on_timeout, req, attempt)

    def on_timeout(self, req: int, attempt: int) -> None:
        """Give up on one attempt; retry after the back-off if retries and budget allow."""
        if self.attempts.get(req) != (attempt, True):
            return  # answered in time
        self.record("timeout", req=req, attempt=attempt)
        if self.breaker is not None and self.breaker.failed():
            self.record("breaker", state="open")
            self.set_timer(COOLDOWN, self.probe)
        if attempt > self.config.retries:
            self.answer(req, False, "out of retries")
        elif not self.spend_retry_token():
            self.answer(req, False, "retry budget spent")
        else:
            self.attempts[req] = (attempt, False)
            wait = self.backoff(attempt)
            if wait > 0:
                self.set_timer(wait, self.call_dependency, req)
            else:
                self.call_dependency(req)

    def probe(self) -> None:
        """After the cooldown, let the breaker try one call again."""
        if self.breaker is not None and self.breaker.half_open():
            self.record("breaker", state="half-open")

    def answer(self, req: int, ok: bool, reason: str = "") -> None:
        """Answer the clients and forget the request."""
        del self.attempts[req]
        event = self.record("answer", req=req, ok=ok, **({"reason": reason} if reason else {}))
        self.send(
            CLIENTS, Response(req, ok), label=f"{'ok' if ok else 'error'} r{req}", event=event
        )


class Dependency(Node):
    """Serves calls from one FIFO queue with a fixed number of workers, slow in a window.

    It cannot tell a call whose caller gave up from a live one: it serves both.
    """

    def __init__(self, name: str, sim: Simulation, config: Config) -> None:
        super().__init__(name, sim)
        self.config = config
        self.queue: deque[tuple[int, int, str]] = deque()
        self.busy = 0
        self.factor = 1.0  # the slowdown is the environment's: it goes on while n3 is down

    def on_start(self) -> None:
        end = self.config.slow_at + self.config.slow_for
        if self.config.slow_for > 0 and self.config.slow_factor != 1.0:
            self.sim.at(self.config.slow_at, self.set_speed, self.config.slow_factor)
            self.sim.at(end, self.set_speed, 1.0)

    def on_crash(self) -> None:
        self.queue.clear()
        self.busy = 0

    def set_speed(self, factor: float) -> None:
        self.factor = factor
        self.record("speed", factor=factor)

    def on_Call(self, msg: Call, src: str, msg_id: int) -> None:
        self.queue.append((msg.req, msg.attempt, src))
        self.record("arrive", req=msg.req, attempt=msg.attempt, queue=len(self.queue))
        self.serve()

    def serve(self) -> None:
        """Hand queued calls to free workers, oldest first."""
        while self.busy < self.config.workers and self.queue:
            req, attempt, src = self.queue.popleft()
            self.busy += 1
            self.record("start", req=req, attempt=attempt, queue=len(self.queue))
            took = SERVICE_TIME * self.factor * self.sim.rng.uniform(0.5, 1.5)
            self.set_timer(took, self.finish, req, attempt, src)

    def finish(self, req: int, attempt: int, src: str) -> None:
        self.busy -= 1
        self.send(src, Reply(req, attempt), label=f"reply r{req} #{attempt}")
        self.serve()


# -- running ---------------------------------------------------------------------------


def node_names(params: Mapping[str, object]) -> list[str]:
    """Give the three nodes: n1 the clients, n2 the service, n3 its dependency."""
    return [CLIENTS, SERVICE, DEPENDENCY]


def capacity(params: Mapping[str, object]) -> float:
    """Give the calls per second the dependency serves when it is well."""
    return int(params["workers"]) * 1000.0 / SERVICE_TIME


def simulate(params: dict) -> dict:
    """Run clients, service and dependency with effective `params`; give the trace document."""
    names = node_names(params)
    faults = parse_schedule(params["faults"], names, params["duration"])
    sim = Simulation.from_params(params, latency=LATENCY)
    config = Config.of(params)
    sim.add(Clients(CLIENTS, sim, config))
    sim.add(Service(SERVICE, sim, config))
    sim.add(Dependency(DEPENDENCY, sim, config))
    sim.apply_faults(faults)
    sim.run(params["duration"])
    return sim.trace_doc(
        names,
        roles=dict(ROLES),
        capacity=capacity(params),
        recovery={"after": RECOVERY, "share": GOOD_SHARE},
    )


# -- checks (pure functions of the trace) --------------------------------------------------


def calm_at(trace: dict) -> float:
    """Give when the slowdown ends (ms)."""
    return float(trace["params"]["slow_at"]) + float(trace["params"]["slow_for"])


def seconds(t: float) -> str:
    """Give a time in ms as seconds for a sentence: 3.27 s."""
    return f"{round(t / 1000, 2):g} s"


def goodput_windows(trace: dict, start: float) -> list[tuple[float, int, int]]:
    """Give (window start, requests issued, of those answered ok) for each whole second
    from `start` to the end of the run.

    A request counts in the second it was issued, so a window's share is its goodput over
    its offered load without the noise of answers crossing a window's edge. One issued in
    the run's last LATE ms and not answered yet had no time to be: it is left out.
    """
    duration = float(trace["duration"])
    count = int((duration - start) // 1000) if duration >= start + 1000 else 0
    issued, good = [0] * count, [0] * count
    window: dict[int, int] = {}  # req -> its window
    answered: set[int] = set()
    for e in trace["events"]:
        if e["node"] != CLIENTS:
            continue
        if e["kind"] == "request" and e["t"] >= start:
            k = int((e["t"] - start) // 1000)
            if k < count:
                window[e["req"]] = k
                issued[k] += 1
        elif e["kind"] == "response" and e["req"] in window:
            answered.add(e["req"])
            good[window[e["req"]]] += bool(e["ok"])
    for e in trace["events"]:
        if (
            e["kind"] == "request"
            and e["t"] > duration - LATE
            and e["req"] in window
            and e["req"] not in answered
        ):
            issued[window[e["req"]]] -= 1
    return [(start + 1000 * k, issued[k], good[k]) for k in range(count)]


def check_recovery(trace: dict) -> Check:
    """Once the slowdown is over, goodput is back to 90% of the offered load within
    RECOVERY ms and stays there: in every whole second from then on to the end of the run,
    at least 90% of the requests issued are answered ok."""
    calm = calm_at(trace)
    start = calm + RECOVERY - 1000
    windows = [w for w in goodput_windows(trace, start) if w[1] > 0]
    name, rule = (
        "Recovery",
        (
            f"goodput back to {GOOD_SHARE:.0%} of the offered load within "
            f"{seconds(RECOVERY)} of the slowdown's end ({seconds(calm)})"
        ),
    )
    if not windows:
        return Check(
            name,
            True,
            f"not judged: the run ends before a whole second from "
            f"{seconds(start)} on, so nothing says whether {rule}",
        )
    shares = [(good / issued, t, issued, good) for t, issued, good in windows]
    for share, t, issued, good in shares:
        if share < GOOD_SHARE:
            return Check(
                name,
                False,
                f"of the {issued} requests issued from {seconds(t)} to "
                f"{seconds(t + 1000)} only {good} were answered ok ({share:.0%}); wanted {rule}",
                t=t,
                node=CLIENTS,
            )
    low = min(shares)
    return Check(
        name,
        True,
        f"{rule}: from {seconds(start)} to the end, every second had at "
        f"least {low[0]:.0%} ({low[3]} of {low[2]} at {seconds(low[1])})",
    )


def check_amplification(trace: dict) -> Check:
    """Attempts per request at the service stay under 2 for the whole run, counted from
    the start (judged once SETTLE requests are in)."""
    requests = attempts = 0
    worst, worst_t = 0.0, None
    for e in trace["events"]:
        if e["kind"] == "request" and e["node"] == CLIENTS:
            requests += 1
        elif e["kind"] == "attempt" and e["node"] == SERVICE:
            attempts += 1
        else:
            continue
        ratio = attempts / requests if requests >= SETTLE else 0.0
        if ratio >= AMPLIFICATION:
            return Check(
                "Work amplification",
                False,
                f"by {seconds(e['t'])} the service had made {attempts} attempts for "
                f"{requests} requests ({ratio:.2f} each); it must stay under "
                f"{AMPLIFICATION:g}",
                t=e["t"],
                node=SERVICE,
            )
        if ratio > worst:
            worst, worst_t = ratio, e["t"]
    total = f"{attempts} attempts for {requests} requests"
    if worst_t is None:
        return Check(
            "Work amplification",
            True,
            f"{total}; fewer than {SETTLE} requests, too few to judge"
            if requests < SETTLE
            else f"{total}",
        )
    return Check(
        "Work amplification",
        True,
        f"{total} ({attempts / max(requests, 1):.2f} each); "
        f"at most {worst:.2f} so far at {seconds(worst_t)}, under {AMPLIFICATION:g}",
    )


def summarize(trace: dict, checks: list[Check]) -> str:
    """Give one paragraph: the load, what was answered, what it cost the dependency."""
    p = trace["params"]
    counts: dict[str, int] = {}
    peak = 0
    for e in trace["events"]:
        key = e["kind"] + ("" if e["kind"] != "response" else "-ok" if e["ok"] else "-error")
        key = key if e["kind"] != "breaker" else f"breaker-{e['state']}"
        counts[key] = counts.get(key, 0) + 1
        if e["kind"] in ("arrive", "start"):
            peak = max(peak, e["queue"])
    requests, good = counts.get("request", 0), counts.get("response-ok", 0)
    policy = (
        f"{p['retries']} retries, back-off {p['backoff']}"
        + (", a breaker" if p["breaker"] == "true" else "")
        + (f", a {p['budget']:.0%} retry budget" if p["budget"] > 0 else "")
    )
    opened = counts.get("breaker-open", 0)
    return (
        f"{policy}: {requests} requests at {p['load']:g}/s, {good} answered ok "
        f"({good / max(requests, 1):.0%}); {counts.get('attempt', 0)} calls to the "
        f"dependency, the most waiting in its queue {peak}"
        + (f"; the breaker opened {opened} time{'s' * (opened != 1)}" if opened else "")
        + "."
    )


# -- the run over time (what the figure reads; pure functions of the trace) ---------------------


def role_history(trace: dict) -> dict[str, list[tuple[float, str]]]:
    """Give each node's role over time as [(since, role)]: `clients`; the breaker `closed`,
    `open` or `half-open` (`closed` without one); the dependency `well` or `slow`; `down`."""
    state = {node: True for node in trace["nodes"]}  # up?
    value = {CLIENTS: "clients", SERVICE: "closed", DEPENDENCY: "well"}
    out: dict[str, list[tuple[float, str]]] = {n: [(0.0, value[n])] for n in trace["nodes"]}
    for e in trace["events"]:
        node, kind = e["node"], e["kind"]
        if kind in ("crash", "restart"):
            state[node] = kind == "restart"
            value[node] = "closed" if node == SERVICE else value[node]
        elif kind in ("breaker", "speed"):
            value[node] = e["state"] if kind == "breaker" else "slow" * (e["factor"] > 1) or "well"
        else:
            continue
        role = value[node] if state[node] else "down"
        history = out[node]
        if history[-1][0] == e["t"]:
            history.pop()  # two changes at one instant: only the later one is ever seen
        if not history or history[-1][1] != role:
            history.append((e["t"], role))
    return out


def times_of(trace: dict) -> dict[str, list[float]]:
    """Give the times of requests issued, requests answered ok, and calls (attempts) made,
    and of retries (attempts after the first), each sorted."""
    times: dict[str, list[float]] = {"offered": [], "good": [], "calls": [], "retries": []}
    for e in trace["events"]:
        if e["kind"] == "request":
            times["offered"].append(e["t"])
        elif e["kind"] == "response" and e["ok"]:
            times["good"].append(e["t"])
        elif e["kind"] == "attempt":
            times["calls"].append(e["t"])
            if e["attempt"] > 1:
                times["retries"].append(e["t"])
    return times


def per_second(times: list[float], t0: float, t1: float) -> float:
    """Give how many of the sorted `times` fall in (t0, t1], per second."""
    return (bisect_right(times, t1) - bisect_right(times, t0)) * 1000.0 / (t1 - t0)


def counters(trace: dict) -> dict[str, list[tuple[float, int]]]:
    """Give the service's requests in flight and the dependency's queue as [(since, value)]."""
    out: dict[str, list[tuple[float, int]]] = {"inflight": [(0.0, 0)], "queue": [(0.0, 0)]}
    for e in trace["events"]:
        if e["node"] == SERVICE and e["kind"] in ("accept", "answer", "crash"):
            now = out["inflight"][-1][1]
            out["inflight"].append(
                (e["t"], {"accept": now + 1, "answer": now - 1}.get(e["kind"], 0))
            )
        elif e["node"] == DEPENDENCY and e["kind"] in ("arrive", "start", "crash"):
            out["queue"].append((e["t"], e.get("queue", 0)))
    return out


def panel_numbers(trace: dict, step: float) -> dict[str, list[tuple[float, str]]]:
    """Give each node's numbers read every `step` ms, as [(since, text)]: "issued / answered
    ok" requests in the last second; "in flight / retries in the last second"; calls waiting
    in the dependency's queue."""
    times, count = times_of(trace), counters(trace)
    inflight, queue = state_reader(count["inflight"]), state_reader(count["queue"])
    out: dict[str, list[tuple[float, str]]] = {n: [] for n in trace["nodes"]}
    for t in (i * step for i in range(int(float(trace["duration"]) // step) + 1)):
        last = {k: round(per_second(ts, t - 1000, t)) for k, ts in times.items()}
        for node, text in (
            (CLIENTS, f"{last['offered']} / {last['good']}"),
            (SERVICE, f"{inflight(t)} / {last['retries']}"),
            (DEPENDENCY, f"{queue(t)}"),
        ):  # fmt: skip
            if not out[node] or out[node][-1][1] != text:
                out[node].append((t, text))
    return out


CHECKS = (check_recovery, check_amplification)


def NOT_GUARANTEED(params: Mapping[str, object]) -> tuple[str, ...]:  # noqa: N802 - see search.py
    """Give the checks a configuration is not expected to meet.

    Recovery is promised only by a breaker, on a clean network without faults, with a
    timeout that a well dependency meets (5 service times), at least two workers and at most
    60% of their capacity as load (one busy worker queues every burst past the timeout, and
    the breaker trips on that): without a breaker a long enough slowdown leaves a backlog no
    policy drains in time, and the clients never retry what the network or a crash loses.
    Work amplification is promised only without retries or with a budget of at most half a
    retry per request.
    """
    skipped = []
    clean = (
        not str(params["faults"]).strip()
        and float(params["drop"]) == 0.0
        and float(params["duplicate"]) == 0.0
        and float(params["reorder"]) == 0.0
    )
    if not (
        clean
        and params["breaker"] == "true"
        and float(params["timeout"]) >= 5 * SERVICE_TIME
        and int(params["workers"]) >= 2
        and float(params["load"]) <= 0.6 * capacity(params)
    ):
        skipped.append("check_recovery")
    if not (int(params["retries"]) == 0 or 0.0 < float(params["budget"]) <= 0.5):
        skipped.append("check_amplification")
    return tuple(skipped)
