"""The futures Client: submit work to a plait cluster and get results back.

A Client holds one long-lived stream to the scheduler (``register-client``, then batched
messages both ways: ``update-graph``, ``client-releases-keys``, ... out; ``key-in-memory``,
``task-erred``, ... in) and a connection pool for request/reply calls (``who_has``,
``get_data`` to workers, ...). Its state (which keys it holds futures for, and what the
scheduler said about each) lives on one asyncio event loop:

- synchronous clients (the default) run that loop on a :class:`LoopRunner` thread of
  their own, or share the loop of the in-process cluster or worker they belong to; each
  public method runs its coroutine there and waits (:meth:`Client.sync`);
- ``asynchronous=True`` clients use the running loop; the same methods return
  awaitables.

Messages to the scheduler are always queued on the loop in call order, so a release of a
key can never overtake the graph that needs it.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import sys
import threading
import uuid
from typing import Any, Callable, Iterable

from .. import config
from ..collection import collections_to_graph, flatten_keys, is_collection
from ..graph import Data, Ref, Task, convert_graph
from ..tokenize import tokenize
from .as_completed import _futures_in
from .future import CANCELLED, Future, FutureState
from .packing import pack_graph, replace_futures
from .pickling import ByValue, needs_cloudpickle
from . import worker_client as _registry
from .client_cluster import ClusterCalls
from .client_data import GatherScatter, _loaded
from .client_repr import client_repr, client_repr_html
from .comm.core import seconds as _seconds

__all__ = ["Client", "fire_and_forget"]

DEFAULT_TIMEOUT = 30.0
GET_DATA_BATCH = 10_000  # keys per get_data request to one worker


_ATOMS = (int, float, str, bytes, bool, type(None))


def _call_key(name: str, base: str, args: tuple) -> str:
    """The key of a pure call: ``base`` tokenizes the function and keywords once, the
    arguments are hashed here (plain numbers and strings by their repr, which tells
    ``1``, ``1.0``, ``True`` and ``"1"`` apart, without tokenize's dispatch)."""
    if all(type(a) in _ATOMS for a in args):
        digest = hashlib.md5(f"{base}{args!r}".encode(), usedforsecurity=False)
        return f"{name}-{digest.hexdigest()}"
    return f"{name}-{tokenize(base, *args)}"


def _funcname(func: Callable) -> str:
    name = getattr(func, "__name__", None) or type(func).__name__
    return "lambda" if name == "<lambda>" else name


def _finalize(results: Any, finalize: Callable, extra: tuple) -> Any:
    return finalize(results, *extra)


def _refs(keys: Any) -> Any:
    if type(keys) is list:
        return [_refs(k) for k in keys]
    return Ref(keys)


class Client(GatherScatter, ClusterCalls):
    """Connect to a plait cluster and run work on it.

    Parameters
    ----------
    address : str, LocalCluster or None
        The scheduler's address (``"tcp://127.0.0.1:8786"``, ``"127.0.0.1:8786"``), a
        cluster object (anything with ``scheduler_address``), or None to start a
        :class:`LocalCluster` (one worker process per core; ``**cluster_kwargs`` go to
        it), which the client closes when it closes.
    asynchronous : bool
        Use from ``async`` code: ``client = await Client(..., asynchronous=True)``;
        methods that talk to the cluster return awaitables.
    timeout : float
        Seconds to wait for the scheduler when connecting.
    set_as_default : bool
        Become the default client and the scheduler of every collection's
        ``.compute()`` until closed.
    name : str, optional
        Shown in the scheduler's logs and dashboards.
    loop : asyncio loop, optional
        Share a loop running on another thread (what in-process clusters do).
    security : Security, bool or None
        TLS and shared-secret settings (:class:`plait.distributed.Security`). None: the
        cluster's own when given a cluster object, else from config (and
        ``$PLAIT_SECRET``); False: explicitly none; True (only when the client starts
        its own LocalCluster): a temporary self-signed TLS setup for that cluster.
    """

    def __init__(self, address: Any = None, loop: Any = None, timeout: float | None = None,
                 set_as_default: bool = True, asynchronous: bool = False,
                 name: str | None = None, direct_to_workers: bool = True,
                 security: Any = None, **cluster_kwargs: Any):
        self.id = f"Client-{uuid.uuid4().hex}"
        self.name = name
        self.asynchronous = asynchronous
        self.status = "newly-created"
        self.timeout = _seconds(timeout if timeout is not None else config.get(
            "distributed.comm.timeouts.connect", DEFAULT_TIMEOUT))
        self._set_as_default = set_as_default
        self._direct = direct_to_workers
        self.cluster: Any = None
        self._own_cluster = False
        self._cluster_kwargs = cluster_kwargs
        self.scheduler_address: str | None = None
        self._scheduler_object: Any = None
        if address is None:
            pass
        elif isinstance(address, str):
            self.scheduler_address = address
        elif hasattr(address, "scheduler_address"):
            self.cluster = address
        elif hasattr(address, "address") and hasattr(address, "state"):  # a Scheduler
            self.scheduler_address = address.address
            self._scheduler_object = address
        else:
            raise TypeError(f"Client(address) takes a scheduler address such as "
                            f"'tcp://127.0.0.1:8786', a cluster, or None for a local "
                            f"cluster; got {type(address).__name__} {address!r}")
        if cluster_kwargs and address is not None:
            raise TypeError(f"Client got cluster options {sorted(cluster_kwargs)} but also "
                            f"an address; they only apply when Client() starts its own "
                            f"LocalCluster")
        if security is True and address is not None:
            raise TypeError("Client(security=True) makes temporary credentials for a "
                            "LocalCluster the client starts itself; to join an existing "
                            "cluster pass its Security object (e.g. cluster.security)")
        if security is True:
            cluster_kwargs["security"] = True
            security = None  # taken from the cluster once it is started
        self._security_arg = security
        self.security: Any = None
        self._scheduler_announced_close = False
        self._lock = threading.RLock()
        self._futures: dict = {}  # key -> FutureState, while some Future holds the key
        self._refcount: dict = {}
        self._to_release: list = []
        self._release_scheduled = False
        self._stream: Any = None
        self._comm: Any = None
        self._stream_task: Any = None
        self.rpc: Any = None
        self._runner: Any = None
        self.loop: Any = None
        self._loop_thread: int | None = None
        self._scheduler_identity: dict = {}
        self._config_before: list = []
        self._given_loop = loop
        self._start_lock: Any = None
        if not asynchronous:
            self._start_sync()

    # -- starting ------------------------------------------------------------------------
    def _start_sync(self) -> None:
        loop = self._given_loop
        if loop is None and self.cluster is not None:
            loop = getattr(self.cluster, "loop", None)
        if loop is None and self.scheduler_address is None:
            loop = None  # our own loop; the cluster is started from it
        if loop is not None and not isinstance(loop, asyncio.AbstractEventLoop):
            loop = getattr(loop, "loop", loop)  # a LoopRunner
        if loop is None:
            from .loop import LoopRunner

            self._runner = LoopRunner()
            self._runner.start()
            loop = self._runner.loop
        self.loop = loop
        try:
            self.sync(self._start, timeout=self.timeout + 60)
        except BaseException:
            self._stop_runner()
            raise

    def __await__(self):
        async def start() -> "Client":
            if self.status == "newly-created":
                await self._start()
            return self
        return start().__await__()

    async def _start(self) -> None:
        from .comm import AuthenticationError, connect
        from .core import ConnectionPool

        self.loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.status = "connecting"
        if self.cluster is None and self.scheduler_address is None:
            from .cluster import LocalCluster

            kwargs = dict(self._cluster_kwargs)
            if self.asynchronous:
                self.cluster = await LocalCluster(asynchronous=True, **kwargs)
            else:
                # Started from the loop thread: build it on a plain thread so that its
                # own synchronous start does not wait on the loop it runs on.
                self.cluster = await asyncio.get_running_loop().run_in_executor(
                    None, functools.partial(LocalCluster, **kwargs))
            self._own_cluster = True
        if self.scheduler_address is None:
            self.scheduler_address = self.cluster.scheduler_address
        self.security = self._resolve_security()
        # Replies stay pickled until the client unpickles each value itself, so that a
        # failure names the key it belongs to.
        self.rpc = ConnectionPool(timeout=self.timeout, deserialize=False,
                                  security=self.security, role="client")
        try:
            comm = await connect(self.scheduler_address, timeout=self.timeout,
                                 security=self.security, role="client", deserialize=False)
        except AuthenticationError as exc:
            raise AuthenticationError(f"the plait scheduler at {self.scheduler_address} "
                                      f"refused this client: {exc}") from exc
        except (OSError, asyncio.TimeoutError) as exc:
            raise OSError(f"could not connect to the plait scheduler at "
                          f"{self.scheduler_address} within {self.timeout} s: {exc}. Is "
                          f"`plait scheduler` running there?") from exc
        await comm.write({"op": "register-client", "client": self.id, "name": self.name,
                          "reply": True})
        reply = await comm.read()
        if not isinstance(reply, dict) or reply.get("status") != "OK":
            await comm.close()
            raise OSError(f"the scheduler at {self.scheduler_address} refused this "
                          f"client: {reply!r}")
        from .comm import BatchedSend

        self._comm = comm
        self._stream = BatchedSend(interval=0.002)
        self._stream.start(comm)
        self._stream_task = asyncio.ensure_future(self._read_stream(comm))
        self.status = "running"
        _registry._register(self, self._set_as_default)
        if self._set_as_default:
            self._take_over_config()
        try:
            self._scheduler_identity = await self._rpc("identity")
        except Exception:  # the description is for display only
            self._scheduler_identity = {}

    def _resolve_security(self) -> Any:
        from .security import resolve_security

        given = self._security_arg
        # A cluster or Scheduler object given as the address brings its own settings.
        for source in (self.cluster, self._scheduler_object):
            if given is None and source is not None:
                given = getattr(source, "security", None)
        return resolve_security(given)

    def _take_over_config(self) -> None:
        """Become the scheduler of ``.compute()`` (undone by close)."""
        self._config_before.append(config.get("scheduler", None))
        config.set(scheduler=self)

    def _give_back_config(self) -> None:
        if not self._config_before:
            return
        before = self._config_before[0]
        self._config_before.clear()
        if config.get("scheduler", None) is self:
            nxt = _registry.default_client()
            while isinstance(before, Client) and before.status != "running":
                before = before._config_before[0] if before._config_before else None
            config.set(scheduler=nxt if nxt is not None else before)

    # -- the loop ---------------------------------------------------------------------------
    def _on_loop_thread(self) -> bool:
        return self._loop_thread == threading.get_ident()

    def sync(self, fn: Callable, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Run the coroutine function ``fn(*args, **kwargs)`` on the client's loop.

        Asynchronous clients (on their loop) get the awaitable back; everything else
        blocks for the result (at most ``timeout`` seconds).
        """
        if self.asynchronous and (self._loop_thread is None or self._on_loop_thread()):
            return fn(*args, **kwargs)
        if self._on_loop_thread():
            raise RuntimeError(
                "a synchronous plait Client method was called from the client's own event "
                "loop, which would wait on itself; use an asynchronous client "
                "(Client(asynchronous=True)) in async code")
        if self.loop is None or self.loop.is_closed():
            raise RuntimeError(f"the client is {self.status}: its event loop is not running")
        from .loop import sync

        return sync(self.loop, fn, *args, timeout=timeout, **kwargs)

    def _call_on_loop(self, fn: Callable[[], Any]) -> None:
        """Run ``fn()`` on the loop, after everything queued before it."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        if self._on_loop_thread():
            fn()
        else:
            try:
                loop.call_soon_threadsafe(fn)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def _scheduler_gone_text(self) -> str:
        if self._scheduler_announced_close:
            return f"the scheduler at {self.scheduler_address} closed"
        return (f"the scheduler at {self.scheduler_address} went away (its connection "
                f"closed)")

    def _check_scheduler(self) -> None:
        """Fail at once, naming the scheduler, once its connection is gone: nothing
        sent now could be answered."""
        if self.status == "closed-by-scheduler":
            raise ConnectionError(f"{self._scheduler_gone_text()}; create a new Client "
                                  f"once a scheduler runs there again")

    def _send(self, *msgs: dict) -> None:
        """Queue messages for the scheduler stream, in call order."""
        self._check_scheduler()
        if self.status not in ("running", "connecting"):
            raise RuntimeError(f"the client is {self.status}; create a new Client to "
                               f"submit work")

        def send() -> None:
            if self._stream is not None:
                self._stream.send(*msgs)

        loop = self.loop
        if self._on_loop_thread():
            send()
        else:
            loop.call_soon_threadsafe(send)

    async def _rpc(self, op: str, **kwargs: Any) -> Any:
        self._check_scheduler()
        return await self.rpc.send_recv(self.scheduler_address, op, **kwargs)

    # -- the scheduler's reports --------------------------------------------------------------
    async def _read_stream(self, comm: Any) -> None:
        from .comm import CommClosedError

        handlers = {
            "key-in-memory": self._on_key_in_memory,
            "task-erred": self._on_task_erred,
            "cancelled-keys": self._on_cancelled_keys,
            "lost-data": self._on_lost_data,
            "stream-closed": functools.partial(self._on_stream_closed, announced=True),
        }
        try:
            while True:
                msgs = await comm.read()
                if isinstance(msgs, dict):
                    msgs = [msgs]
                for msg in msgs:
                    handler = handlers.get(msg.get("op"))
                    if handler is not None:
                        handler(**{k: v for k, v in msg.items() if k != "op"})
        except (CommClosedError, OSError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            raise
        finally:
            if self.status == "running":
                self._on_stream_closed()

    def _on_key_in_memory(self, key: Any, type: str | None = None, **_: Any) -> None:
        state = self._futures.get(key)
        if state is not None and state.status != CANCELLED:
            state.finish(type)

    def _on_task_erred(self, key: Any, exception: Any = None, traceback: Any = None,
                       exception_text: str | None = None, traceback_text: str | None = None,
                       cause: Any = None, **_: Any) -> None:
        state = self._futures.get(key)
        if state is None:
            return
        exc = _loaded(exception, key, "exception")
        if not isinstance(exc, BaseException):
            exc = RuntimeError(f"task {key!r} failed with an exception that could not be "
                               f"sent to the client: {exception_text or exc!r}")
        tb = _loaded(traceback, key, "traceback")
        tb, traceback_text = _task_frames(tb if not isinstance(tb, BaseException) else None,
                                          traceback_text)
        state.set_error(exc, tb, traceback_text, cause)

    def _on_cancelled_keys(self, keys: Iterable, reason: str | None = None, **_: Any) -> None:
        for key in keys:
            state = self._futures.get(key)
            if state is not None and not state.done():
                state.cancel(reason)

    def _on_lost_data(self, key: Any, **_: Any) -> None:
        state = self._futures.get(key)
        if state is not None:
            state.reset()

    def _on_stream_closed(self, announced: bool = False, **_: Any) -> None:
        """The scheduler went away (or said it is closing): every pending future fails
        now with a CancelledError naming the scheduler, rather than waiting forever."""
        self._scheduler_announced_close |= announced
        if self.status == "running":
            self.status = "closed-by-scheduler"
        reason = f"{self._scheduler_gone_text()} before the result was ready"
        for state in list(self._futures.values()):
            if not state.done():
                state.cancel(reason)

    # -- reference counting ------------------------------------------------------------------
    def _acquire_key(self, key: Any, state: FutureState | None = None) -> FutureState:
        with self._lock:
            self._refcount[key] = self._refcount.get(key, 0) + 1
            existing = self._futures.get(key)
            if existing is not None:
                return existing
            if state is None:
                state = FutureState(key)
            self._futures[key] = state
            return state

    def _holds(self, key: Any) -> bool:
        return key in self._refcount  # a live Future; not a key waiting to be released

    def _release_key(self, key: Any) -> None:
        """One Future of ``key`` is gone; at zero, tell the scheduler (batched)."""
        with self._lock:
            n = self._refcount.get(key, 0) - 1
            if n > 0:
                self._refcount[key] = n
                return
            self._refcount.pop(key, None)
            if self.status != "running":
                self._futures.pop(key, None)
                return
            # The state stays until the release is sent: a Future made for the key
            # before then takes it up again, and the scheduler, which still counts this
            # client as a holder, is then never told to release it.
            self._to_release.append(key)
            if self._release_scheduled:
                return
            self._release_scheduled = True
        loop = self.loop
        try:
            # Always through the queue, never inline: a graph queued earlier that
            # needs this key must reach the scheduler first.
            loop.call_soon_threadsafe(self._flush_releases)
        except (RuntimeError, AttributeError):  # loop closed: the scheduler forgets us anyway
            pass

    def _flush_releases(self) -> None:
        with self._lock:
            keys = [k for k in dict.fromkeys(self._to_release) if k not in self._refcount]
            for k in keys:
                self._futures.pop(k, None)
            self._to_release = []
            self._release_scheduled = False
        if keys and self._stream is not None and self.status == "running":
            self._stream.send({"op": "client-releases-keys", "keys": keys})

    def _desire_keys(self, keys: list, holder: str | None = None) -> None:
        msg: dict = {"op": "client-desires-keys", "keys": keys}
        if holder is not None:
            msg["holder"] = holder
        if self.status == "running":
            self._send(msg)

    def _adopt_keys(self, keys: list, holder: str) -> None:
        """Take over keys the scheduler held for ``holder`` on this client's behalf."""
        self._send({"op": "client-desires-keys", "keys": keys},
                   {"op": "client-releases-keys", "keys": keys, "holder": holder})

    # -- submitting work -------------------------------------------------------------------
    def _new_futures(self, keys: Iterable) -> dict:
        out = {}
        for k in keys:
            f = Future(k, self)
            if f._state.status == CANCELLED:
                f._state.reset()
            out[k] = f
        return out

    def _graph_message(self, tasks: dict, dependencies: dict, keys: list, priority: dict,
                       user_priority: int = 0, retries: int | None = None,
                       resources: dict | None = None, workers: Any = None,
                       allow_other_workers: bool = False, annotations: dict | None = None
                       ) -> dict:
        from .comm.serialize import serialize
        from .pickling import serialize_nodes, share_functions

        if isinstance(workers, str):
            workers = [workers]
        pickled, changed = serialize_nodes(share_functions(tasks), serialize)
        if changed:
            dependencies = dict(dependencies)
            for k, n in changed.items():
                dependencies[k] = list(n.dependencies)
        return {
            "op": "update-graph",
            "tasks": pickled,
            "dependencies": dependencies,
            "keys": keys,
            "priority": priority,
            "user_priority": user_priority,
            "retries": retries,
            "resources": resources,
            "workers": list(workers) if workers is not None else None,
            "allow_other_workers": allow_other_workers,
            "annotations": annotations or {},
        }

    def submit(self, func: Callable, *args: Any, key: Any = None, workers: Any = None,
               resources: dict | None = None, retries: int | None = None,
               priority: int = 0, fifo_timeout: Any = None,
               allow_other_workers: bool = False, actor: bool = False,
               actors: bool = False, pure: bool = True, **kwargs: Any) -> Future:
        """Run ``func(*args, **kwargs)`` on the cluster; a Future of its result.

        Futures among the arguments (also inside lists, tuples and dicts) are replaced
        by their values on the worker. ``pure=True`` (default): the same call gives the
        same key, so it runs once; ``pure=False`` for functions with side effects or
        randomness. ``key=`` names the task yourself.
        """
        if not callable(func):
            raise TypeError(f"submit takes a callable first, got {type(func).__name__} "
                            f"{func!r}")
        if actor or actors:
            raise NotImplementedError("actors are not part of plait.distributed yet")
        if key is None:
            if pure:
                key = _call_key(_funcname(func), tokenize(func, kwargs), args)
            else:
                key = f"{_funcname(func)}-{uuid.uuid4().hex}"
        with self._lock:
            if key in self._futures and self._futures[key].status != CANCELLED:
                return Future(key, self)
        found: dict = {}
        args2 = replace_futures(args, found)
        kwargs2 = replace_futures(kwargs, found)
        task = Task(key, func, *args2, **kwargs2)
        future = self._new_futures([key])[key]
        self._send(self._graph_message({key: task}, {key: list(task.dependencies)}, [key],
                                       {key: 0}, priority, retries, resources, workers,
                                       allow_other_workers))
        return future

    def map(self, func: Callable, *iterables: Iterable, key: Any = None,
            workers: Any = None, retries: int | None = None, resources: dict | None = None,
            priority: int = 0, allow_other_workers: bool = False, fifo_timeout: Any = None,
            actor: bool = False, actors: bool = False, pure: bool = True,
            batch_size: int | None = None, **kwargs: Any) -> list:
        """``submit(func, *items)`` for the items of the iterables, zipped: a list of
        Futures. Sent in one message (or one per ``batch_size`` items)."""
        if not callable(func):
            raise TypeError(f"map takes a callable first, got {type(func).__name__}")
        if not iterables:
            raise TypeError("map needs at least one iterable of arguments")
        if actor or actors:
            raise NotImplementedError("actors are not part of plait.distributed yet")
        columns = [list(it) for it in iterables]
        n = min(len(c) for c in columns)
        rows = list(zip(*(c[:n] for c in columns)))
        name = _funcname(func)
        if isinstance(key, (list, tuple)):
            keys = list(key)
            if len(keys) != n:
                raise ValueError(f"map got {len(keys)} keys for {n} calls")
        elif pure:
            prefix = key if isinstance(key, str) else name
            base = tokenize(func, kwargs)
            keys = [_call_key(prefix, base, row) for row in rows]
        else:
            prefix = key if isinstance(key, str) else name
            keys = [f"{prefix}-{uuid.uuid4().hex}" for _ in rows]
        size = batch_size or n or 1
        out: list = []
        found: dict = {}
        kwargs2 = replace_futures(kwargs, found) if kwargs else kwargs
        shared = ByValue.wrap(func) if needs_cloudpickle(func) else func  # pickled once
        for start in range(0, n, size):
            tasks: dict = {}
            deps: dict = {}
            prio: dict = {}
            for i in range(start, min(start + size, n)):
                k = keys[i]
                if k in tasks:
                    continue
                row = rows[i]
                if not all(type(a) in _ATOMS for a in row):
                    row = replace_futures(row, found)
                task = Task(k, shared, *row, **kwargs2)
                tasks[k] = task
                deps[k] = list(task.dependencies)
                prio[k] = i
            futures = self._new_futures(keys[start:start + size])
            out.extend(futures[k] for k in keys[start:start + size])
            if tasks:
                self._send(self._graph_message(tasks, deps, list(tasks), prio, priority,
                                               retries, resources, workers,
                                               allow_other_workers))
        return out

    def _graph_to_futures(self, dsk: dict, keys: list, raw: dict | None = None,
                          priority: int = 0, retries: int | None = None,
                          resources: dict | None = None, workers: Any = None,
                          allow_other_workers: bool = False) -> dict:
        from ..annotations import for_keys

        table = for_keys(raw if raw is not None else dsk)
        packed = pack_graph(dsk, keys, known=self._holds, annotations=table, raw=raw)
        for deps in packed.dependencies.values():
            for dep in deps:
                state = self._futures.get(dep) if dep not in packed.nodes else None
                if state is not None and state.status == CANCELLED:
                    # The scheduler forgot it: say so now rather than fail over there.
                    raise state.error_to_raise()
        futures = self._new_futures(keys)
        if packed.nodes:
            self._send(self._graph_message(
                packed.nodes, packed.dependencies, [k for k in keys if k in packed.nodes],
                packed.priority, priority, retries, resources, workers,
                allow_other_workers, packed.annotations))
        # Keys of the graph that other futures already hold: make sure the scheduler
        # counts them for this client too.
        held = [k for k in keys if k not in packed.nodes]
        if held:
            self._desire_keys(held)
        del packed
        return futures

    def compute(self, collections: Any, sync: bool = False, optimize_graph: bool = True,
                workers: Any = None, allow_other_workers: bool = False,
                resources: dict | None = None, retries: int | None = None,
                priority: int = 0, fifo_timeout: Any = None, actors: Any = None,
                traverse: bool = True, **kwargs: Any) -> Any:
        """Compute collections on the cluster: a Future per collection (``sync=True``:
        the results). A list in, a list out."""
        single = not isinstance(collections, (list, tuple, set))
        items = [collections] if single else list(collections)
        variables = [c for c in items if is_collection(c)]
        futures_by_id: dict = {}
        if variables:
            dsk = collections_to_graph(variables, optimize_graph, **kwargs)
            raw = None
            from .. import annotations

            if annotations._by_key and optimize_graph:
                raw = collections_to_graph(variables, False)
            fkeys = []
            for c in variables:
                keys = c.__plait_keys__()
                finalize, extra = c.__plait_postcompute__()
                fkey = f"finalize-{tokenize(keys, finalize, extra)}"
                dsk[fkey] = Task(fkey, _finalize, _refs(keys), finalize, extra)
                fkeys.append(fkey)
            futures = self._graph_to_futures(dsk, fkeys, raw, priority, retries, resources,
                                             workers, allow_other_workers)
            for c, k in zip(variables, fkeys):
                futures_by_id[id(c)] = futures[k]
        out = [futures_by_id.get(id(c), c) if is_collection(c) else c for c in items]
        if sync:
            out_values = self.gather(out)
            return out_values[0] if single else out_values
        return out[0] if single else out

    def persist(self, collections: Any, optimize_graph: bool = True, workers: Any = None,
                allow_other_workers: bool = False, resources: dict | None = None,
                retries: int | None = None, priority: int = 0, fifo_timeout: Any = None,
                actors: Any = None, **kwargs: Any) -> Any:
        """Start computing collections on the cluster; the same collections, backed by
        futures of their keys (returns at once). A list in, a list out."""
        single = not isinstance(collections, (list, tuple, set))
        items = [collections] if single else list(collections)
        variables = [c for c in items if is_collection(c)]
        if not variables:
            return collections
        dsk = collections_to_graph(variables, optimize_graph, **kwargs)
        raw = None
        from .. import annotations

        if annotations._by_key and optimize_graph:
            raw = collections_to_graph(variables, False)
        keys: list = []
        for c in variables:
            keys.extend(flatten_keys(c.__plait_keys__()))
        keys = list(dict.fromkeys(keys))
        futures = self._graph_to_futures(dsk, keys, raw, priority, retries, resources,
                                         workers, allow_other_workers)
        rebuilt = {}
        for c in variables:
            graph = {k: Data(k, futures[k]) for k in flatten_keys(c.__plait_keys__())}
            rebuild, extra = c.__plait_postpersist__()
            rebuilt[id(c)] = rebuild(graph, *extra)
        out = [rebuilt.get(id(c), c) for c in items]
        return out[0] if single else out

    def get(self, dsk: dict, keys: Any, workers: Any = None, allow_other_workers: bool = False,
            resources: dict | None = None, sync: bool = True, asynchronous: Any = None,
            direct: Any = None, retries: int | None = None, priority: int = 0,
            fifo_timeout: Any = None, actors: Any = None, **kwargs: Any) -> Any:
        """Run a graph on the cluster and return the values of ``keys`` (nested lists
        of keys give nested lists of values): the scheduler function that
        ``.compute()`` calls while this client is the default. ``sync=False``: Futures
        instead of values, in the same nesting."""
        graph = convert_graph(dsk)
        flat = list(dict.fromkeys(flatten_keys(keys) if type(keys) is list else [keys]))
        futures = self._graph_to_futures(graph, flat, None, priority, retries, resources,
                                         workers, allow_other_workers)
        if not sync:
            return _pack_keys(keys, futures)

        async def run() -> Any:
            try:
                values = await self._gather(futures)
            finally:
                for f in futures.values():
                    f.release()
            return _pack_keys(keys, values)
        return self.sync(run)

    def __del__(self) -> None:
        # A forgotten synchronous client still disconnects (and stops its own cluster);
        # not at interpreter exit, when threads and loops are being torn down anyway.
        if (getattr(self, "status", None) == "running" and not self.asynchronous
                and not sys.is_finalizing() and not self._on_loop_thread()):
            try:
                self.close(timeout=2)
            except Exception:
                pass

    # -- closing -----------------------------------------------------------------------------
    def close(self, timeout: float | None = None) -> Any:
        """Release everything this client holds, disconnect, and close the cluster it
        started. The default scheduler goes back to what it was."""
        if self.status in ("closed", "newly-created"):
            if self.asynchronous:
                async def nothing() -> None:
                    return None
                return nothing()
            self._stop_runner()
            return None
        if self.asynchronous and (self._loop_thread is None or self._on_loop_thread()):
            return self._close()
        try:
            if self.loop is None or self.loop.is_closed() or not self.loop.is_running():
                self._close_without_loop()  # e.g. the in-process cluster closed first
            else:
                self.sync(self._close, timeout=timeout or 30)
        finally:
            self._stop_runner()

    def _close_without_loop(self) -> None:
        self.status = "closed"
        _registry._unregister(self)
        self._give_back_config()
        for state in list(self._futures.values()):
            if not state.done():
                state.status = CANCELLED
                state.reason = "the client closed"

    async def _close(self) -> None:
        if self.status == "closed":
            return
        self.status = "closing"
        _registry._unregister(self)
        self._give_back_config()
        with self._lock:
            keys = list(self._futures)
            for state in self._futures.values():
                if not state.done():
                    state.cancel("the client closed")
        if self._stream is not None:
            try:
                if keys:
                    self._stream.send({"op": "client-releases-keys", "keys": keys})
                self._stream.send({"op": "close-client"})
                await asyncio.wait_for(self._stream.close(), 5)
            except Exception:
                pass
        if self._stream_task is not None:
            self._stream_task.cancel()
            try:
                await self._stream_task
            except BaseException:
                pass
        if self._comm is not None:
            try:
                self._comm.abort()
            except Exception:
                pass
        if self.rpc is not None:
            await self.rpc.close()
        self.status = "closed"
        if self._own_cluster and self.cluster is not None:
            cluster = self.cluster
            if self.asynchronous:
                res = cluster.close()
                if asyncio.iscoroutine(res) or isinstance(res, asyncio.Future):
                    await res
            else:
                await asyncio.get_running_loop().run_in_executor(None, cluster.close)

    def _stop_runner(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            runner.stop()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    async def __aenter__(self) -> "Client":
        if self.status == "newly-created":
            await self._start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._close()

    # -- display -----------------------------------------------------------------------------
    @property
    def dashboard_link(self) -> str | None:
        link = getattr(self.cluster, "dashboard_link", None) if self.cluster else None
        if link:
            return link
        ident = self._scheduler_identity or {}
        return ident.get("dashboard_link") or ident.get("dashboard_address")

    def __repr__(self) -> str:
        return client_repr(self)

    def _repr_html_(self) -> str:
        return client_repr_html(self)


_PLAIT_DISTRIBUTED = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _task_frames(tb: Any, text: str | None) -> tuple[Any, str | None]:
    """The remote traceback without the plait frames that called the task (the
    wrapper that runs a function shipped by value): the task's own frames only. The
    text is rebuilt from the frames when frames were dropped."""
    import traceback as tb_module

    if not isinstance(tb, tb_module.StackSummary):
        return tb, text
    frames = list(tb)
    start = 0
    while start < len(frames) - 1 and frames[start].filename.startswith(_PLAIT_DISTRIBUTED):
        start += 1
    if start == 0:
        return tb, text
    kept = tb_module.StackSummary.from_list(frames[start:])
    return kept, "".join(kept.format())


def _pack_keys(keys: Any, values: dict) -> Any:
    if type(keys) is list:
        return [_pack_keys(k, values) for k in keys]
    return values[keys]


def fire_and_forget(obj: Any) -> None:
    """Let futures run to completion even if no Future of them is kept: the scheduler
    holds their keys for a pseudo-client until they finish."""
    for f in _futures_in(obj):
        f.client._desire_keys([f.key], holder="fire-and-forget")
