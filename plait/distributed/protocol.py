"""The message vocabulary spoken between client, scheduler and workers.

Every message is a dict with an ``"op"`` naming what to do. Messages travel over a
:class:`plait.distributed.comm.Comm` (framed msgpack; ``Serialize(obj)`` values travel as
pickle-protocol-5 frames with their buffers out of band). Keys keep their type end to end:
``("x-3f2a", 0)`` arrives as the same tuple.

Two kinds of conversation:

*request/reply* (``rpc``): open or borrow a connection from the pool, write one message,
read one reply. Replies are dicts with ``"status": "OK"`` or ``"status": "error"`` (plus
``"exception"``/``"traceback"`` as ``Serialize``). Used for rare or bulk operations.

*streams*: long-lived comms with a ``BatchedSend`` on each side; each write carries a list
of messages gathered over a couple of milliseconds, so thousands of task events per second
cost a few hundred syscalls. Used for everything per-task.

User functions and data are pickled once at the client (``Serialize``) and stay opaque
bytes inside the scheduler (``Serialized``): the scheduler never unpickles user code.

Worker -> scheduler (rpc, then the same comm becomes the worker's stream)
-----------------------------------------------------------------------------
``register-worker``  address, name, nthreads, memory_limit, resources, pid,
                     local_directory, nbytes ({key: nbytes} of data it already holds)
                     -> {"status": "OK", "time": float, "heartbeat_interval": float}
``heartbeat-worker`` address, metrics (rpc, every ``heartbeat_interval``)
                     -> {"status": "OK" | "missing" (unknown: register again), "time",
                     "heartbeat_interval"}. ``metrics`` (``Worker.metrics()``):
                     executing, long_running, ready, in_memory, in_flight,
                     managed_bytes, reconnects, time, cpu (percent), status
                     ("running" | "paused"), memory {rss, max_rss, managed,
                     managed_in_memory, spilled, spilled_disk, unmanaged, limit}
                     (bytes; limit None when unlimited), and totals spilled_bytes,
                     spill_count, unspilled_bytes, unspill_count.
``unregister``       address (rpc, on clean shutdown)

Worker -> scheduler stream
--------------------------
``task-finished``    key, nbytes, type (str), startstops [(action, start, stop)], thread
                     (actions: "disk-read" inputs loaded from spill files, "compute",
                     "disk-write" storing the result spilled values)
``task-erred``       key, exception (Serialize), traceback (Serialize or None),
                     exception_text, traceback_text, startstops
``missing-data``     key, errant_worker (a dependency could not be fetched from it)
``add-keys``         keys (data the worker now holds: replicas fetched for it)
``release-worker-data`` key (the worker dropped it)
``long-running``     key (a task called secede(); its thread no longer counts)
``reschedule``       key (the task raised Reschedule)
``steal-response``   key, state (the worker's state of the key when asked)
``worker-status-change`` status ("paused": process memory above the pause fraction, no
                     new task starts or fetch begins there; "running": back below it;
                     sent again after registering anew while paused)

Scheduler -> worker stream
--------------------------
``compute-task``     key, run_spec (Serialized pickled plait Node), priority (tuple),
                     who_has {dep: [addresses]}, nbytes {dep: int},
                     resource_restrictions {name: amount} or None, duration (estimate)
``free-keys``        keys (forget these; the scheduler no longer needs them here)
``acquire-replicas`` who_has {key: [addresses]} (fetch copies: scatter broadcast, replicate)
``steal-request``    key (give it back if not yet started)
``close``            the worker shuts down

Worker <-> worker (rpc)
-----------------------
``get_data``         keys, who (requesting address)
                     -> {"status": "OK", "data": {key: Serialize(value)}}
                     (keys it no longer holds are simply absent from "data")
``update_data``      data {key: Serialize(value)}, report (bool)
                     -> {"status": "OK", "nbytes": {key: int}}   (also used by scatter)
``identity``         -> {"status": "OK", "type": "Worker", "id", "address", "nthreads",
                     "memory_limit", "resources", "pid", "scheduler", "dashboard_link"
                     (its HTTP server, ``/health``, or None)}
``keys``             -> {"status": "OK", "keys": [keys held]}
``terminate``        report (bool, default True) -> {"status": "OK"}; the worker then
                     closes (unregistering when ``report``): how a cluster or the
                     ``plait worker --nworkers`` parent stops a worker process.

Worker notes: ``task-erred``'s ``traceback`` is ``Serialize(traceback.StackSummary)`` of
the task's own frames (worker frames cut); an exception that does not survive a pickle
round trip is replaced by one of a class with the same name and message. A worker that
gets ``close`` closes itself. A worker whose scheduler stream closes without ``close``
(or whose heartbeat is answered "missing") forgets every task and result and sends
``register-worker`` again, with a backoff of up to 1 s, for
``distributed.worker.reconnect-timeout`` (60 s); then it closes. Fetched replicas are
reported with ``add-keys`` and dropped, once no local task needs them, with
``release-worker-data``; keys no peer holds are looked up again with the scheduler's
``who_has`` rpc about once a second.

Before any message: the handshake (every comm, every side; ``comm/handshake.py``)
-------------------------------------------------------------------------------
``connect``/``listen`` exchange four small msgpack dicts, read without unpickling,
before a comm is handed to its user: client hello (role, 32-byte challenge), server
hello (challenge, whether it requires the shared secret), client proof (HMAC-SHA256 of
both challenges under the secret, or None), server answer ("OK" with its own proof, or
"refused" with a reason). Until it succeeds frames above 4 KiB drop the connection;
after it, frames above ``distributed.comm.max-frame-size``. Under ``tls://`` the TLS
handshake (mutual certificates) comes first.

Client -> scheduler (rpc ``register-client``, then the same comm becomes the client's stream)
------------------------------------------------------------------------------------------
``register-client``  client (id) -> {"status": "OK", "time": float}

Client -> scheduler stream
--------------------------
(The client's id is not in these messages: the scheduler knows it from register-client
and passes it to its stream handlers, e.g. ``handle_stream(comm, client=id)``.)
``update-graph``     tasks {key: Serialized(pickled Node)}, dependencies {key: [deps]},
                     keys (the ones the client holds futures for), priority {key: int}
                     (static order, lower first), user_priority (int), retries,
                     resources, workers, allow_other_workers,
                     annotations {key: {name: value}} (per-key overrides)
``client-desires-keys`` keys, holder (optional: the holder to register instead of this
                     client, e.g. ``"fire-and-forget"``: keys held by that pseudo-client
                     run to completion and are then released; coordination extensions
                     use holder names such as ``"variable-<name>"``)
``client-releases-keys`` keys (futures dropped: reference counting), holder (optional:
                     release that pseudo-client's claim instead of this client's)
``cancel-keys``      keys, force
``close-client``

Scheduler -> client stream
--------------------------
``key-in-memory``    key, type (str)
``task-erred``       key, exception (Serialized), traceback (Serialized or None),
                     exception_text, traceback_text, cause (the key that actually
                     failed: ``key`` itself, or the dependency whose error this is)
``cancelled-keys``   keys (also the answer to client-desires-keys for an unknown key)
``lost-data``        key
``stream-closed``    (the scheduler is going away)

Client -> scheduler (rpc)
-------------------------
``gather``           keys -> {"status": "OK", "data": {...}} or
                     {"status": "error", "keys": [...missing]}; a client may instead ask
                     ``who_has`` and fetch from workers directly with ``get_data``
``who_has``          keys (None: all) -> {key: [addresses]}
``has_what``         workers (None: all) -> {address: [keys]}
``ncores``           -> {address: nthreads}
``identity``         -> {"type", "id", "address", "workers": {address: {...}}, ...}
``update-data``      who_has {key: [addresses]}, nbytes {key: int}, client
                     (after scatter wrote data to workers with ``update_data``)
``broadcast``        msg, workers (None: all) -> {address: reply}  (run, upload_file ...)
                     The worker ops a client broadcasts (worker rpc handlers):
                     ``run``  function (Serialize), args (Serialize tuple), kwargs
                     (Serialize dict), wait (bool) -> {"status": "OK", "result":
                     Serialize(value)}; the function gets ``dask_worker=``/``plait_worker=``
                     the Worker when its signature has that parameter; its exception
                     comes back as an error reply.
                     ``upload_file``  filename (base name), data (bytes), load (bool)
                     -> {"status": "OK", "nbytes": int}: writes the file into the
                     worker's local_directory (on sys.path), imports it when load and it
                     is a .py (.zip/.egg: put on sys.path), reloading it if imported
                     before.
``run_function``     function (Serialize), args, kwargs  (runs on the scheduler; the
                     function gets ``dask_scheduler=``/``plait_scheduler=`` the Scheduler
                     when its signature has that parameter; a coroutine function is
                     awaited) -> {"status": "OK", "result": Serialize(value)}
``retire_workers``   workers, close_workers (default True), timeout (default 60 s)
                     -> {address: worker info}: the workers get no new tasks, finish
                     what they run, and every result only they hold that is still
                     needed is copied to the others (``acquire-replicas``) before they
                     close (a worker with a nanny: its nanny is closed too, so it is not
                     started again); what is not copied within ``timeout`` is
                     recomputed where needed
``restart``          timeout (None: 60 s), wait_for_workers (True) -> {"status": "OK",
                     "workers": [addresses]} or an error naming how many came back:
                     forget every task (each client hears ``cancelled-keys`` for the
                     keys it held, each worker ``free-keys``), have every nanny
                     restart its worker, wait until as many workers as before are
                     registered. Workers without a nanny stay, their data freed.
``task-status``      keys -> {key: state} (unknown keys: "forgotten")
``retry``            keys -> {"status": "OK"}: erred keys run again from the task that
                     failed, with every erred task downstream of it (``Client.retry``,
                     ``Future.retry``; the client marks those futures pending first)
``register-scheduler-plugin`` plugin (Serialize(SchedulerPlugin)), name
                     -> {"status": "OK"} (``Client.register_plugin``; the plugin's
                     ``start(scheduler)`` is awaited)

Nanny -> scheduler (rpc)
------------------------
``register-nanny``   worker (address), nanny (address) -> {"status": "OK"}: the nanny
                     watches that worker (after each start, and every 10 s so that a
                     restarted scheduler learns it too)
``worker-died``      address, reason ("memory" | "signal" | "exit"), detail (text: "killed
                     by SIGKILL", "exit code 3", "process memory 290 MiB passed 95% of
                     its 300 MiB memory_limit; the nanny killed it") -> {"status": "OK"}:
                     the worker is removed with that reason (when its stream closed
                     first, the scheduler waited up to 1 s for this report); each task it
                     was running counts the death, and one past
                     ``distributed.scheduler.allowed-failures`` errs with ``KilledWorker``
                     quoting every reason. Workers without a nanny are removed with
                     reason "connection" (stream closed) or "heartbeat" (no heartbeat
                     for ``worker-ttl``).

Scheduler -> nanny (rpc)
------------------------
``restart``          timeout -> {"status": "OK", "worker": new address, "old_worker"}:
                     stop the worker (``terminate``, then SIGKILL) and start a new one
``close`` / ``terminate``  stop the worker and the nanny (no restart)
``kill``             SIGKILL the worker (the nanny then restarts it, as for any death)
``identity``         -> {"type": "Nanny", "address", "worker", "pid", "name", "restarts"}

A nanny restarts a worker that dies by a signal or with a non-zero exit code, at most
``distributed.nanny.max-restarts`` times in a row; a worker that exits with code 0 left
on purpose (closed by the scheduler, retired, no scheduler within
``distributed.worker.reconnect-timeout``), and its nanny closes too.

Coordination primitives (Lock, Semaphore, Event, Variable, Queue) add their own
``<name>_<verb>`` rpc handlers on the scheduler through scheduler extensions
(see ``plait.distributed.coordination``). Each reply is ``{"status": "OK", ...}``:

``lock_acquire``     name, id, timeout (None: wait forever) -> {"acquired": bool}
``lock_release``     name, id  (error if ``id`` does not hold it)
``lock_locked``      name -> {"locked": bool}
``semaphore_acquire`` name, id, max_leases, timeout -> {"acquired": bool}
``semaphore_release`` name, id
``semaphore_leases`` name -> {"leases": int, "max_leases": int}
``event_set`` / ``event_clear`` name;  ``event_wait`` name, timeout -> {"set": bool};
``event_is_set``     name -> {"set": bool}
``variable_set``     name, item, client: item is {"type": "value", "value": Serialize}
                     or {"type": "future", "key": key} (the extension then holds the
                     key for the pseudo-client "variable-<name>")
``variable_get``     name, timeout, client -> {"found": bool, "item": item} (a future's
                     key is held for the pseudo-client "transfer-<client>" before the
                     reply; the client then sends client-desires-keys and
                     client-releases-keys with holder="transfer-<client>" on its stream)
``variable_delete``  name
``queue_create``     name, maxsize;  ``queue_put`` name, item, timeout, client;
``queue_get``        name, timeout, batch (False, True: all now, or int n: wait for n),
                     client -> {"items": [item, ...]};  ``queue_qsize`` name
                     -> {"qsize": int};  ``queue_release`` name
The extensions keep a future's data alive by holding its key as a pseudo-client: they
call ``scheduler.client_desires_keys(keys=..., client=holder)`` /
``scheduler.client_releases_keys(keys=..., client=holder)`` on the Scheduler server,
which applies them to its state and sends the resulting messages.
"""

__all__: list[str] = []
