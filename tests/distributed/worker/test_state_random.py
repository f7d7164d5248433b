"""The worker state machine under long random sequences of events.

A stand-in scheduler and peers answer the machine's instructions in a random order with
random outcomes (successes, failures, lost peers, frees, steals, secedes, replicas,
pushed data, memory pauses, a lost scheduler); the invariants
(``WorkerState.validate``) must hold after every step, and once everything has finished
and been freed, nothing may be left behind. Odd seeds keep values in a spilling store
with a tiny target, so that most of them live on disk.
"""

from __future__ import annotations

import random

import pytest

from plait.distributed.worker.events import (
    AcquireReplicas,
    ComputeTask,
    Execute,
    ExecuteFailure,
    ExecuteSuccess,
    FreeKeys,
    GatherDep,
    GatherDepFailure,
    GatherDepNetworkFailure,
    GatherDepSuccess,
    PauseEvent,
    RefreshWhoHas,
    RejoinEvent,
    Resume,
    SchedulerLost,
    SecedeEvent,
    Send,
    StealRequest,
    UpdateData,
)
from plait.distributed.worker.spill import SpillStore
from plait.distributed.worker.state import WorkerState

ME = "tcp://127.0.0.1:1"
PEERS = ["tcp://127.0.0.1:2", "tcp://127.0.0.1:3", "tcp://127.0.0.1:4"]


class Driver:
    def __init__(self, seed: int, directory: str):
        self.rng = random.Random(seed)
        data = SpillStore(directory, target=30) if seed % 2 else None
        self.ws = WorkerState(nthreads=2, address=ME, resources={"R": 1}, data=data,
                              transfer_incoming_count_limit=2,
                              transfer_message_bytes_limit=30)
        self.running: list = []  # keys handed to threads
        self.gathers: dict = {}  # worker -> keys asked
        self.peer_keys = {f"p{i}": self.rng.sample(PEERS, self.rng.randint(1, 2))
                          for i in range(12)}
        self.computed: list = []
        self.counter = 0
        self.finished: set = set()

    def apply(self, *events) -> None:
        out = self.ws.handle(*events)
        for inst in out:
            if isinstance(inst, Execute):
                assert inst.key not in self.running, f"{inst.key!r} started twice"
                self.running.append(inst.key)
            elif isinstance(inst, GatherDep):
                assert inst.worker not in self.gathers, f"two requests to {inst.worker}"
                assert inst.worker != ME
                self.gathers[inst.worker] = list(inst.keys)
            elif isinstance(inst, Resume):
                pass
            elif isinstance(inst, Send) and inst.msg["op"] == "task-finished":
                self.finished.add(inst.msg["key"])
        self.ws.validate()

    def new_compute(self) -> None:
        self.counter += 1
        key = ("t", self.counter)
        pool = list(self.peer_keys) + self.computed[-5:]
        deps = self.rng.sample(pool, self.rng.randint(0, min(3, len(pool))))
        who_has = {}
        for d in deps:
            who_has[d] = self.peer_keys.get(d, [ME])
        restrictions = {"R": 1} if self.rng.random() < 0.2 else None
        self.apply(ComputeTask(key, "spec", (self.rng.randint(0, 9),), who_has,
                               {d: self.rng.randint(1, 20) for d in deps}, restrictions))
        self.computed.append(key)

    def finish_one(self, success: bool | None = None) -> None:
        if not self.running:
            return
        key = self.running.pop(self.rng.randrange(len(self.running)))
        if success is None:
            success = self.rng.random() < 0.85
        if success:
            self.apply(ExecuteSuccess(key, 1, 10, "int", []))
        else:
            self.apply(ExecuteFailure(key, "e", None, "E: x", "", []))

    def answer_gather(self, mode: str | None = None) -> None:
        if not self.gathers:
            return
        worker = self.rng.choice(sorted(self.gathers))
        keys = self.gathers.pop(worker)
        mode = mode or self.rng.choices(["ok", "partial", "network", "error"],
                                        [0.75, 0.1, 0.1, 0.05])[0]
        if mode == "ok":
            self.apply(GatherDepSuccess(worker, {k: 0 for k in keys}, {k: 5 for k in keys}))
        elif mode == "partial":
            self.apply(GatherDepSuccess(worker, {k: 0 for k in keys[1:]}))
        elif mode == "network":
            self.apply(GatherDepNetworkFailure(worker, "gone"))
        else:
            self.apply(GatherDepFailure(worker, "e", None, "TypeError: no"))

    def step(self) -> None:
        r = self.rng.random()
        ws = self.ws
        if self.rng.random() < 0.03:
            self.apply(PauseEvent(not ws.paused))
        if self.rng.random() < 0.004:
            self.apply(SchedulerLost())
        if r < 0.25:
            self.new_compute()
        elif r < 0.5:
            self.finish_one()
        elif r < 0.7:
            self.answer_gather()
        elif r < 0.77 and ws.tasks:
            self.apply(FreeKeys([self.rng.choice(list(ws.tasks))]))
        elif r < 0.82 and ws.tasks:
            self.apply(StealRequest(self.rng.choice(list(ws.tasks))))
        elif r < 0.86 and ws.executing:
            key = self.rng.choice(sorted(ws.executing, key=repr))
            self.apply(SecedeEvent(key))
            if self.rng.random() < 0.5:
                self.apply(RejoinEvent(key))
        elif r < 0.9:
            key = self.rng.choice(list(self.peer_keys))
            self.apply(AcquireReplicas({key: self.peer_keys[key]}, {key: 7}))
        elif r < 0.94:
            key = self.rng.choice(list(self.peer_keys) + self.computed[-3:] or ["p0"])
            self.apply(UpdateData({key: 3}, {key: 28}, report=self.rng.random() < 0.5))
        elif ws.missing:
            self.apply(RefreshWhoHas({k: [self.rng.choice(PEERS)] for k in ws.missing}))
        # a repeated compute request for something known
        elif self.computed:
            key = self.rng.choice(self.computed)
            self.apply(ComputeTask(key, "spec", (0,), {}, {}))

    def drain(self) -> None:
        self.apply(PauseEvent(False))
        for _ in range(10_000):
            if self.ws.missing:
                self.apply(RefreshWhoHas({k: [PEERS[0]] for k in self.ws.missing}))
            if self.running:
                self.finish_one(success=True)
            elif self.gathers:
                self.answer_gather("ok")
            elif not self.ws.missing:
                break
        assert not self.running and not self.gathers
        self.apply(FreeKeys(list(self.ws.tasks)))
        # Freed while cancelled ones finish: once more for whatever they left.
        while self.running or self.gathers:
            if self.running:
                self.finish_one(success=True)
            else:
                self.answer_gather("ok")
        self.apply(FreeKeys(list(self.ws.tasks)))


@pytest.mark.parametrize("seed", range(12))
def test_random_event_sequences_keep_invariants(seed, tmp_path):
    d = Driver(seed, str(tmp_path / "spill"))
    for _ in range(400):
        d.step()
    d.drain()
    ws = d.ws
    assert not ws.tasks, {k: ts.state for k, ts in ws.tasks.items()}
    assert len(ws.data) == 0 and ws.data.total_nbytes == 0
    assert not ws.executing and not ws.long_running and not ws.in_flight_workers
    assert ws.available_resources == {"R": 1}
    assert d.finished  # work actually got done
    if isinstance(ws.data, SpillStore):
        assert ws.data.spill_count > 0 and not list((tmp_path / "spill").iterdir())
