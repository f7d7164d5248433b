"""The Client's calls about the cluster rather than about futures: restart, cancel,
retry, run a function on every worker or on the scheduler, who holds what, threads per
worker, the scheduler's description, upload_file. A mixin of
:class:`plait.distributed.client.Client`."""

from __future__ import annotations

import os
from typing import Any, Callable

from .as_completed import _futures_in
from .client_data import _loaded, _loaded_value
from .future import ERROR, FINISHED

__all__ = ["ClusterCalls"]


class ClusterCalls:
    """restart, cancel, retry, run, run_on_scheduler, who_has, has_what, nthreads,
    scheduler_info, upload_file (uses the Client's sync, _send, _rpc and _call_on_loop)."""

    def restart(self, timeout: float | None = None, wait_for_workers: bool = True) -> Any:
        """Restart every worker (through its nanny) and forget every task on the cluster.

        Every future of this client is cancelled (``result()`` raises CancelledError);
        data scattered or computed before is gone. With ``wait_for_workers`` this
        returns once as many workers as before are back, within ``timeout`` seconds
        (None: the scheduler's default, 60 s), else raises TimeoutError. Workers
        started without a nanny are not restarted: their data is freed and they stay.
        """
        async def run() -> None:
            reason = "the cluster was restarted (Client.restart)"
            for state in list(self._futures.values()):
                # The scheduler forgets every task: results and errors are gone too.
                state.cancel(reason)
            await self._rpc("restart", timeout=timeout, wait_for_workers=wait_for_workers)
        limit = None if timeout is None else float(timeout) + 30
        return self.sync(run, timeout=limit)

    # -- control ---------------------------------------------------------------------------
    def cancel(self, futures: Any, asynchronous: Any = None, force: bool = False) -> Any:
        """Stop computing these futures and forget their results on the cluster.

        ``futures``: futures, lists or dicts of them, or persisted collections (their
        futures). Queued tasks do not run; results are released on the workers; each
        future's ``result()`` raises CancelledError.
        """
        from .progress import futures_of

        flat = futures_of(futures)
        keys = [f.key for f in flat]

        def mark() -> None:
            for f in flat:
                if not f._state.done() or f._state.status == FINISHED:
                    f._state.cancel("cancelled by the client")

        self._send({"op": "cancel-keys", "keys": keys, "force": force})
        self._call_on_loop(mark)

        async def settle() -> None:
            return None
        return self.sync(settle)

    def retry(self, futures: Any, asynchronous: Any = None) -> Any:
        """Run failed futures again, from the tasks that actually failed (their erred
        inputs rerun too). Their futures are pending again until the new run settles."""
        flat = _futures_in(futures)

        async def run() -> None:
            erred = [f for f in flat if f._state.status == ERROR]
            for f in erred:
                f._state.reset()  # on the loop: before the scheduler's new reports
            if erred:
                await self._rpc("retry", keys=list(dict.fromkeys(f.key for f in erred)),
                                client=self.id)
        return self.sync(run)

    def run(self, function: Callable, *args: Any, workers: Any = None, wait: bool = True,
            nanny: bool = False, on_error: str = "raise", **kwargs: Any) -> Any:
        """Run ``function(*args, **kwargs)`` on every worker (or ``workers``) outside
        the task system: ``{worker address: result}``."""
        if on_error not in ("raise", "return", "ignore"):
            raise ValueError(f"run(on_error=...) is 'raise', 'return' or 'ignore', "
                             f"got {on_error!r}")
        return self.sync(self._run, function, args, kwargs, workers, wait, on_error)

    async def _run(self, function: Callable, args: tuple, kwargs: dict, workers: Any,
                   wait: bool, on_error: str) -> Any:
        from .comm import Serialize

        if isinstance(workers, str):
            workers = [workers]
        msg = {"op": "run", "function": Serialize(function), "args": Serialize(args),
               "kwargs": Serialize(kwargs), "wait": wait}
        replies = await self._rpc("broadcast", msg=msg, workers=workers)
        out = {}
        for addr, reply in replies.items():
            if isinstance(reply, dict) and reply.get("status") == "error":
                exc = _loaded(reply.get("exception"), addr, "exception")
                if not isinstance(exc, BaseException):
                    exc = RuntimeError(reply.get("text") or f"run failed on {addr}")
                if on_error == "raise":
                    raise exc
                if on_error == "return":
                    out[addr] = exc
                continue
            result = reply.get("result") if isinstance(reply, dict) else reply
            out[addr] = _loaded_value(result, addr)
        return out if wait else None

    def run_on_scheduler(self, function: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run ``function(*args, **kwargs)`` in the scheduler process; its result."""
        async def run() -> Any:
            from .comm import Serialize

            reply = await self._rpc("run_function", function=Serialize(function),
                                    args=Serialize(args), kwargs=Serialize(kwargs))
            result = reply.get("result") if isinstance(reply, dict) else reply
            return _loaded_value(result, "run_on_scheduler")
        return self.sync(run)

    def who_has(self, futures: Any = None) -> Any:
        """``{key: [worker addresses]}`` for these futures (all keys when None)."""
        keys = None if futures is None else [f.key for f in _futures_in(futures)]
        return self.sync(self._rpc, "who_has", keys=keys)

    def has_what(self, workers: Any = None) -> Any:
        """``{worker address: [keys]}``."""
        if isinstance(workers, str):
            workers = [workers]
        return self.sync(self._rpc, "has_what", workers=workers)

    def nthreads(self, workers: Any = None) -> Any:
        """``{worker address: number of threads}``."""
        async def run() -> dict:
            ncores = await self._rpc("ncores")
            if workers is None:
                return ncores
            wanted = [workers] if isinstance(workers, str) else list(workers)
            return {w: n for w, n in ncores.items() if w in wanted}
        return self.sync(run)

    ncores = nthreads

    def scheduler_info(self) -> Any:
        """The scheduler's description of itself and its workers."""
        async def run() -> dict:
            self._scheduler_identity = await self._rpc("identity")
            return self._scheduler_identity
        return self.sync(run)

    def upload_file(self, filename: str, load: bool = True) -> Any:
        """Send a .py, .zip or .egg file to every worker and make it importable there."""
        if not os.path.isfile(filename):
            raise FileNotFoundError(f"upload_file: no file {filename!r}")
        if not filename.endswith((".py", ".zip", ".egg")):
            raise ValueError(f"upload_file takes a .py, .zip or .egg file, got {filename!r}")
        with open(filename, "rb") as fh:
            data = fh.read()

        async def run() -> dict:
            msg = {"op": "upload_file", "filename": os.path.basename(filename),
                   "data": data, "load": load}
            replies = await self._rpc("broadcast", msg=msg, workers=None)
            for addr, reply in replies.items():
                if isinstance(reply, dict) and reply.get("status") == "error":
                    exc = _loaded(reply.get("exception"), addr, "exception")
                    raise exc if isinstance(exc, BaseException) else RuntimeError(
                        f"upload_file failed on {addr}: {reply.get('text')}")
            return replies
        return self.sync(run)
