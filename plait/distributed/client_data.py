"""The Client's data movement: gather (straight from the workers that hold the data,
batched per worker), scatter (to workers, then registered with the scheduler), and
waiting for workers. A mixin of :class:`plait.distributed.client.Client`."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

from ..tokenize import tokenize
from .as_completed import _futures_in, _wait_async
from .comm.serialize import Serialize, Serialized, deserialize
from .future import FINISHED, Future, FutureState

__all__ = ["GatherScatter"]

GET_DATA_BATCH = 10_000  # keys per get_data request to one worker


def _pack_like(template: Any, values: dict, skip: set) -> Any:
    """Futures inside ``template`` replaced by their values; with errors="skip", the
    futures in ``skip`` are left out of lists and dicts."""
    t = type(template)
    if isinstance(template, Future):
        return values[template.key]
    if t is list or t is tuple or t is set or t is frozenset:
        items = [_pack_like(i, values, skip) for i in template
                 if not (isinstance(i, Future) and i.key in skip)]
        return items if t is list else t(items)
    if t is dict:
        return {k: _pack_like(v, values, skip) for k, v in template.items()
                if not (isinstance(v, Future) and v.key in skip)}
    return template


def _bare(address: str) -> str:
    return address.split("://")[-1]


def _loaded(obj: Any, key: Any, what: str) -> Any:
    """``obj`` unpickled if it arrived still pickled; None stays None; failures give a
    RuntimeError naming ``key`` (never raised here: the caller decides)."""
    if obj is None:
        return None
    if isinstance(obj, (Serialized, Serialize)):
        try:
            return deserialize(obj)
        except Exception as exc:
            return RuntimeError(f"the {what} of task {key!r} could not be unpickled on the "
                                f"client: {exc}")
    return obj


def _loaded_value(obj: Any, key: Any) -> Any:
    t = type(obj)
    if t is Serialized or t is Serialize:
        return deserialize(obj, key)
    return obj


class GatherScatter:
    """gather, scatter and wait_for_workers (uses the Client's sync, _rpc, rpc,
    timeout and reference counting)."""

    # -- getting results ----------------------------------------------------------------------
    def gather(self, futures: Any, errors: str = "raise", direct: Any = None,
               asynchronous: Any = None) -> Any:
        """The values of futures, in the same structure (lists, tuples, dicts).

        ``errors="raise"``: a failed future raises its exception; ``"skip"``: failed
        futures are left out. Data comes straight from the workers that hold it.
        """
        if errors not in ("raise", "skip"):
            raise ValueError(f"gather(errors=...) is 'raise' or 'skip', got {errors!r}")
        if isinstance(futures, Future) or (
                hasattr(futures, "__iter__") and not isinstance(futures, (str, bytes, dict))
                and not isinstance(futures, (list, tuple, set, frozenset))):
            futures = futures if isinstance(futures, Future) else list(futures)
        return self.sync(self._gather, futures, errors)

    async def _gather(self, futures: Any, errors: str = "raise") -> Any:
        flat = _futures_in(futures, strict=False)
        for f in flat:
            if f._client is not self and f._client is not None:
                raise ValueError(f"future {f.key!r} belongs to another client; gather it "
                                 f"with that client")
        await _wait_async(flat, None, "ALL_COMPLETED" if errors == "skip"
                          else "FIRST_EXCEPTION")
        bad: set = set()
        for f in flat:
            status = f._state.status
            if status != FINISHED:
                if errors == "raise":
                    if status == "pending":
                        continue
                    raise f._state.error_to_raise()
                bad.add(f.key)
        if errors == "raise":
            await _wait_async(flat, None, "ALL_COMPLETED")
            for f in flat:
                if f._state.status != FINISHED:
                    raise f._state.error_to_raise()
        keys = list(dict.fromkeys(f.key for f in flat if f.key not in bad))
        values = await self._gather_keys(keys, errors)
        bad.update(k for k in keys if k not in values)
        return _pack_like(futures, values, bad)

    async def _gather_keys(self, keys: list, errors: str = "raise") -> dict:
        """Fetch the values of finished keys: from the workers holding them (asked of
        the scheduler with ``who_has``), batched per worker; the scheduler's own
        ``gather`` as a fallback."""
        values: dict = {}
        missing = list(keys)
        for _attempt in range(3):
            if not missing:
                break
            if not self._direct:
                break
            who_has = await self._rpc("who_has", keys=missing)
            per_worker: dict = {}
            for k in missing:
                holders = who_has.get(k) if isinstance(who_has, dict) else None
                if holders:
                    per_worker.setdefault(random.choice(list(holders)), []).append(k)
            if not per_worker:
                break
            calls = []
            for w, ks in per_worker.items():
                for i in range(0, len(ks), GET_DATA_BATCH):
                    calls.append(self._get_data(w, ks[i:i + GET_DATA_BATCH]))
            for got in await asyncio.gather(*calls, return_exceptions=True):
                if isinstance(got, dict):
                    values.update(got)
                elif isinstance(got, BaseException) and not isinstance(got, OSError):
                    # A worker that answered with an error (a result it cannot
                    # serialize, one we cannot unpickle) will answer the same again:
                    # raise it. A connection failure (OSError: the worker left) is
                    # retried with a fresh who_has, then the scheduler.
                    raise got
            missing = [k for k in missing if k not in values]
        if missing:
            reply = await self.rpc.send_recv(self.scheduler_address, "gather", keys=missing)
            if isinstance(reply, dict) and reply.get("status", "OK") == "OK":
                for k, v in reply.get("data", {}).items():
                    values[k] = _loaded_value(v, k)
            missing = [k for k in missing if k not in values]
        if missing and errors == "raise":
            raise KeyError(f"could not get the data of {len(missing)} finished keys from "
                           f"the cluster (their workers left?): {missing[:5]!r}")
        return values

    async def _get_data(self, worker: str, keys: list) -> dict:
        reply = await self.rpc.send_recv(worker, "get_data", keys=keys, who=None)
        data = reply.get("data", {}) if isinstance(reply, dict) else {}
        return {k: _loaded_value(v, k) for k, v in data.items()}

    # -- putting data -----------------------------------------------------------------------
    def scatter(self, data: Any, workers: Any = None, broadcast: bool = False,
                direct: Any = None, hash: bool = True, timeout: Any = None,
                asynchronous: Any = None) -> Any:
        """Send data to workers; Futures of it, in the same structure (a list, a dict
        keyed like ``data``, or one Future for a single object). ``broadcast=True``
        sends every item to every worker."""
        if hasattr(data, "__next__"):
            data = list(data)
        return self.sync(self._scatter, data, workers, broadcast, hash)

    async def _scatter(self, data: Any, workers: Any, broadcast: bool, hash: bool) -> Any:
        from .comm import Serialize

        if isinstance(data, dict):
            items = dict(data)
        elif isinstance(data, (list, tuple, set, frozenset)):
            seq = list(data)
            items = {}
            keys = []
            for v in seq:
                k = (f"{type(v).__name__}-{tokenize(v)}" if hash
                     else f"{type(v).__name__}-{uuid.uuid4().hex}")
                items[k] = v
                keys.append(k)
        else:
            k = (f"{type(data).__name__}-{tokenize(data)}" if hash
                 else f"{type(data).__name__}-{uuid.uuid4().hex}")
            items = {k: data}
        ncores = await self._wait_for_workers_ncores()
        targets = sorted(ncores)
        if workers is not None:
            wanted = [workers] if isinstance(workers, str) else list(workers)
            targets = [w for w in targets if w in wanted or _bare(w) in map(_bare, wanted)]
            if not targets:
                raise ValueError(f"scatter: none of the workers {wanted!r} is in the "
                                 f"cluster ({sorted(ncores)!r})")
        per_worker: dict = {w: {} for w in targets}
        if broadcast:
            for w in targets:
                per_worker[w] = dict(items)
        else:
            weights = [w for w in targets for _ in range(max(1, int(ncores[w] or 1)))]
            for i, (k, v) in enumerate(items.items()):
                per_worker[weights[i % len(weights)]][k] = v
        who_has: dict = {}
        nbytes: dict = {}

        async def send(w: str, part: dict) -> None:
            reply = await self.rpc.send_recv(
                w, "update_data", data={k: Serialize(v) for k, v in part.items()},
                report=False)
            for k in part:
                who_has.setdefault(k, []).append(w)
            got = reply.get("nbytes", {}) if isinstance(reply, dict) else {}
            nbytes.update(got)

        await asyncio.gather(*[send(w, part) for w, part in per_worker.items() if part])
        futures = {}
        for k, v in items.items():
            state = FutureState(k)
            f = Future(k, self, state)
            if not f._state.done() or f._state.status != FINISHED:
                f._state.reset()
                f._state.finish(type(v).__name__)
            futures[k] = f
        await self._rpc("update-data", who_has=who_has, nbytes=nbytes, client=self.id)
        if isinstance(data, dict):
            return {k: futures[k] for k in data}
        if isinstance(data, (list, tuple, set, frozenset)):
            out = [futures[k] for k in keys]
            return out if type(data) is list else type(data)(out)
        return futures[next(iter(items))]

    async def _wait_for_workers_ncores(self) -> dict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            ncores = await self._rpc("ncores")
            if ncores:
                return ncores
            if loop.time() > deadline:
                raise TimeoutError(f"no workers joined the scheduler at "
                                   f"{self.scheduler_address} within {self.timeout} s")
            await asyncio.sleep(0.05)

    def wait_for_workers(self, n_workers: int, timeout: float | None = None) -> None:
        """Block until the cluster has at least ``n_workers`` workers."""
        async def run() -> None:
            loop = asyncio.get_running_loop()
            deadline = None if timeout is None else loop.time() + timeout
            while len(await self._rpc("ncores")) < n_workers:
                if deadline is not None and loop.time() > deadline:
                    raise TimeoutError(f"fewer than {n_workers} workers after {timeout} s")
                await asyncio.sleep(0.05)
        return self.sync(run)
