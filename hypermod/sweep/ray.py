"""A sweep's jobs as Ray tasks, on this machine or on a cluster.

    from hypermod.sweep import run_sweep
    from hypermod.sweep.ray import RayExecutor
    run_sweep(experiment, config, "runs/x", executor=RayExecutor("head:6379", gpus_per_task=0.25))

Each job the runner hands over becomes one Ray task; its outcome comes back to this process
(the driver), which alone writes unit files, so workers need no shared disk. Data sets are
loaded once here and put into Ray's object store; each worker process fetches one once and
keeps it (or, with `data_dir_shared=True`, workers load data sets from the data dir
themselves). See docs/ray.md.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

from hypermod.data import DATASETS
from hypermod.sweep.context import SweepContext, SweepSettings
from hypermod.sweep.runner import Job, Outcome, compute, context_for

try:
    import ray
    import ray.exceptions
except ImportError:  # the executor says how to get it when it is asked for
    ray = None

CONNECT_TIMEOUT = 10.0  # seconds for a cluster's head to answer

# Failures of the machinery, not of the job: the same job may well succeed on a retry.
_RETRIABLE = ("WorkerCrashedError", "NodeDiedError", "LocalRayletDiedError",
              "OutOfMemoryError", "ObjectLostError", "OwnerDiedError")

# Worker-process state: (settings, data set name) -> id of the object last preloaded.
_FETCHED: dict[tuple[SweepSettings, str], str] = {}


class RayNotInstalledError(ImportError):
    """Ray was asked for but cannot be imported."""


class RayExecutor:
    """Runs each job as one Ray task; outcomes return to this process, which writes them.

    Args:
        address: a running cluster's head, "HOST:6379" (or "auto"); None starts a Ray
            instance on this machine (127.0.0.1) for the sweep and stops it at the end.
        cpus_per_task, gpus_per_task: what Ray reserves for each task (fractions allowed:
            0.25 GPUs lets four tasks share one card). A task uses
            max(1, int(cpus_per_task)) torch threads.
        max_retries: how many times a job whose worker died (killed, out of memory, node
            lost) is run again before it is reported failed. An exception raised by the
            job itself is never retried: it is reported failed at once with its message.
        max_in_flight: at most this many tasks at a time; None: as many as the cluster's
            CPUs (and GPUs) hold at each moment. A job is claimed only when it is sent.
        data_dir_shared: workers load data sets from `SweepSettings.data_dir` (a disk
            every node sees) instead of receiving this process's copies.
        connect_timeout: seconds to wait for the head's port to answer before joining.

    `start()` joins the cluster (the runner calls it before it writes any file) and
    `stop()` leaves it, stopping an instance it started; `run` calls both if need be.

    Raises:
        RayNotInstalledError (an ImportError) when Ray is not installed.
        ConnectionError (from `start`) naming the address when the cluster cannot be
            reached or refuses this driver (token authentication, see docs/ray.md).
    """

    def __init__(self, address: str | None = None, cpus_per_task: float = 1.0,
                 gpus_per_task: float = 0.0, max_retries: int = 2,
                 max_in_flight: int | None = None, data_dir_shared: bool = False,
                 connect_timeout: float = CONNECT_TIMEOUT):
        if ray is None:
            raise RayNotInstalledError(
                "Ray is not installed; pip install 'hypermod[ray]' (or pip install ray)")
        if cpus_per_task <= 0 or gpus_per_task < 0:
            raise ValueError(f"cpus_per_task must be positive and gpus_per_task not negative, "
                             f"got {cpus_per_task} and {gpus_per_task}")
        if max_retries < 0 or (max_in_flight is not None and max_in_flight < 1):
            raise ValueError(f"max_retries must be >= 0 and max_in_flight None or >= 1, got "
                             f"{max_retries} and {max_in_flight}")
        self.address = address
        self.cpus_per_task, self.gpus_per_task = cpus_per_task, gpus_per_task
        self.max_retries, self.max_in_flight = max_retries, max_in_flight
        self.data_dir_shared = data_dir_shared
        self.connect_timeout = connect_timeout
        self.startup_seconds: float | None = None  # how long starting or joining Ray took
        self._started_here: bool | None = None  # None: not started; True: ray.init was ours

    def start(self) -> None:
        """Join the cluster, or start a private instance; refuse tasks no node could take.

        Idempotent. Raises ConnectionError naming the address when the head does not
        answer within `connect_timeout` seconds, or refuses this driver.
        """
        if self._started_here is not None:
            return
        wall = time.perf_counter()
        self._started_here = not ray.is_initialized()
        try:
            if self._started_here:
                if self.address is None:  # a private instance, reachable from here only
                    ray.init(address="local", _node_ip_address="127.0.0.1",
                             include_dashboard=False, log_to_driver=False)
                else:
                    _join(self.address, self.connect_timeout)
            self.startup_seconds = time.perf_counter() - wall
            self._check_fits()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Leave Ray, stopping it if `start` started it (a cluster joined keeps running)."""
        if self._started_here and ray.is_initialized():
            ray.shutdown()
        self._started_here = None

    def describe(self) -> str:
        """The cluster as this driver sees it: nodes, CPUs and GPUs."""
        total = ray.cluster_resources()
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        where = self.address or "a local instance (127.0.0.1)"
        return (f"Ray: {where}, {nodes} node(s), {total.get('CPU', 0):g} CPUs, "
                f"{total.get('GPU', 0):g} GPUs (joined in {self.startup_seconds:.1f} s)")

    def run(self, jobs: Iterator[Job], done: Callable[[Job, Outcome], None]) -> None:
        """Send jobs as room frees up, hand each outcome to `done` as it arrives.

        An exception from `done` (or Ctrl-C) cancels the tasks in flight and propagates;
        their units stay unfinished, and a rerun does them.
        """
        self.start()
        # Application errors are caught in the task; worker deaths are retried here (not
        # by Ray's own max_retries) so that the outcome can say how many attempts it took.
        task = ray.remote(_run_task).options(num_cpus=self.cpus_per_task,
                                             num_gpus=self.gpus_per_task,
                                             max_retries=0, retry_exceptions=False)
        threads = max(1, int(self.cpus_per_task))
        data: dict[tuple[SweepSettings, str], Any] = {}  # (settings, name) -> object ref
        in_flight: dict[Any, tuple[Job, int, datetime, float]] = {}  # ref -> job, attempt...

        def send(job: Job, attempt: int) -> None:
            refs = {} if self.data_dir_shared else self._put_data(job, data)
            ref = task.remote(job, refs, threads)
            in_flight[ref] = (job, attempt, datetime.now(timezone.utc), time.perf_counter())

        try:
            pending = iter(jobs)
            exhausted = False
            while True:
                while not exhausted and len(in_flight) < self._room():
                    job = next(pending, None)  # pulling claims the job's units
                    if job is None:
                        exhausted = True
                    else:
                        send(job, 1)
                if not in_flight:
                    break
                [ref], _ = ray.wait(list(in_flight), num_returns=1)
                job, attempt, started, sent = in_flight.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as err:
                    reason = f"{type(err).__name__}: {_first_line(err)}"
                    if type(err).__name__ in _RETRIABLE and attempt <= self.max_retries:
                        send(job, attempt + 1)
                        continue
                    outcome = Outcome(None, started, time.perf_counter() - sent, error=reason,
                                      host="unknown (no reply from the worker)")
                outcome.attempts = attempt
                done(job, outcome)
        finally:
            for ref in in_flight:
                ray.cancel(ref, force=True)
            self.stop()

    def _check_fits(self) -> None:
        """Refuse tasks that no node could take: Ray would wait for them forever."""
        total = ray.cluster_resources()
        cpus, gpus = total.get("CPU", 0), total.get("GPU", 0)
        if cpus < self.cpus_per_task or gpus < self.gpus_per_task:
            raise ValueError(f"each task asks for {self.cpus_per_task:g} CPUs and "
                             f"{self.gpus_per_task:g} GPUs, but the Ray cluster has {cpus:g} "
                             f"CPUs and {gpus:g} GPUs; lower --cpus-per-task/--gpus-per-task "
                             "or add nodes")

    def _room(self) -> int:
        """How many tasks may be in flight: what the cluster holds now (nodes may join)."""
        if self.max_in_flight is not None:
            return self.max_in_flight
        total = ray.cluster_resources()
        room = int(total.get("CPU", 0) / self.cpus_per_task)
        if self.gpus_per_task:
            room = min(room, int(total.get("GPU", 0) / self.gpus_per_task))
        return max(1, room)

    @staticmethod
    def _put_data(job: Job, data: dict[tuple[SweepSettings, str], Any]) -> dict[str, Any]:
        """The object refs of the data sets `job` names (its units' "dataset"), put once.

        A data set this process cannot load is left for the worker to try, so that its
        failure is reported against the job.
        """
        refs = {}
        for name in {dict(u.point).get("dataset") for u in job.units} & set(DATASETS):
            key = (job.settings, name)
            if key not in data:
                try:
                    data[key] = ray.put(SweepContext(settings=job.settings).dataset(name))
                except Exception:  # noqa: BLE001 - reported by the worker, with its job
                    data[key] = None
            if data[key] is not None:
                refs[name] = data[key]
        return refs


def _join(address: str, timeout: float) -> None:
    """`ray.init(address)`, after checking that the head's port answers (Ray itself would
    wait for an unreachable head without limit); ConnectionError names the address and,
    for a cluster with token authentication, what the driver needs."""
    host, _, port = address.rpartition(":")
    if address != "auto" and not address.startswith("ray://"):
        host, port = (host, int(port)) if port.isdigit() else (address, 6379)
        try:
            socket.create_connection((host.strip("[]"), port), timeout=timeout).close()
        except OSError as err:
            reason = "no answer" if isinstance(err, TimeoutError) else (err.strerror or err)
            raise ConnectionError(
                f"cannot reach the Ray cluster at {address} ({reason} within {timeout:g} s); "
                f"is its head running (`ray start --head --port {port}`) and is the address "
                "reachable from here?") from None
    try:
        ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError) as err:
        cause = f"{err} {err.__cause__}"
        if "AuthenticationError" in cause or "InvalidAuthToken" in cause:
            mode = os.environ.get("RAY_AUTH_MODE")
            raise ConnectionError(
                f"the Ray cluster at {address} uses token authentication and refused this "
                f"driver (RAY_AUTH_MODE is {mode or 'unset'}); run hypermod with "
                "RAY_AUTH_MODE=token and the cluster's token in ~/.ray/auth_token, "
                "$RAY_AUTH_TOKEN or the file $RAY_AUTH_TOKEN_PATH (`ray get-auth-token` "
                "prints it on the head); see docs/ray.md") from None
        raise ConnectionError(f"could not join the Ray cluster at {address}: {err}") from err


def _run_task(job: Job, refs: dict[str, Any], threads: int) -> Outcome:
    """In a worker: compute `job`; its exception becomes a failed outcome (never retried).

    `refs` (name -> object ref, wrapped in a dict so Ray does not fetch them for every
    task) are fetched only when this process has not got that copy yet.
    """
    import torch

    # One thread per reserved CPU: more oversubscribes the node (two 2-thread runs on
    # 2 cores ran 5x slower than two 1-thread ones).
    torch.set_num_threads(threads)
    started, wall = datetime.now(timezone.utc), time.perf_counter()
    try:
        context = context_for(job.settings)
        for name, ref in refs.items():
            if _FETCHED.get((job.settings, name)) != ref.hex():
                context.preload(name, ray.get(ref))
                _FETCHED[job.settings, name] = ref.hex()
        return compute(job, context)
    except Exception as err:  # noqa: BLE001 - the job's own failure, reported by the driver
        return Outcome(None, started, time.perf_counter() - wall,
                       error=f"{type(err).__name__}: {_first_line(err)}")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else "(no message)"
