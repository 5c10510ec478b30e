"""python benchmarks/sweep_executors.py [--cpus-per-task 1] [--noop-units 40]

The quick rotation-depth sweep (digits, ensembles of seeds as the CLI runs it) timed with
the in-process executor and with `RayExecutor` on a local Ray instance of this machine:
  in-process  wall time, --threads torch threads (default 1: on this shared 2-core machine
              two threads made the sweep 6x to 16x slower, 49 s and 125 s against 7.7 s);
  ray         wall time, start-up of the local instance (`ray.init`) included and shown
              alone, the jobs' own seconds summed, and the slots (tasks at once);
  per task    Ray's cost per job, from a sweep of --noop-units units that do nothing, on
              an instance already started, one task at a time: (Ray wall - in-process
              wall) / units. It covers sending the job, a worker's reply, the driver's
              write being the same on both sides.
Figures, not assertions: the machine may be shared; rerun to see the noise.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import tempfile
import time
from pathlib import Path

import ray
import torch

from hypermod.experiments import get_experiment
from hypermod.sweep import Experiment, InProcess, SweepContext, run_sweep, unit
from hypermod.sweep.ray import RayExecutor


class Recording:
    """Wraps an executor and keeps each outcome's wall time where it ran."""

    def __init__(self, inner):
        self.inner, self.seconds = inner, []

    def run(self, jobs, done):
        def keep(job, outcome):
            self.seconds.append(outcome.seconds)
            done(job, outcome)
        self.inner.run(jobs, keep)


@dataclasses.dataclass(frozen=True)
class NoopConfig:
    units: int = 40
    seeds: int = 1


def noop_run(config, item, ctx):
    """A unit that does nothing: what remains of its time is the executor's."""
    return [{**item.as_dict(), "epoch": 0}]


NOOP = Experiment(name="noop", description="does nothing", full=NoopConfig(),
                  quick=NoopConfig(),
                  units=lambda c: [unit(1, index=i) for i in range(c.units)], run=noop_run)


def _quiet(message: str) -> None:
    pass


def _timed(experiment, config, out: Path, executor=None) -> float:
    wall = time.perf_counter()
    counts = run_sweep(experiment, config, out, SweepContext("cpu", progress=False), _quiet,
                       executor=executor)
    assert counts["ran"] == counts["total"], counts  # every unit ran: nothing reused
    return time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads in process")
    parser.add_argument("--cpus-per-task", type=float, default=1.0)
    parser.add_argument("--noop-units", type=int, default=40)
    args = parser.parse_args()
    exp = get_experiment("rotation-depth")
    config = dataclasses.replace(exp.quick, datasets=("digits",))
    torch.set_num_threads(args.threads)
    print(f"{platform.node()}: {torch.get_num_threads()} torch threads in process, "
          f"ray {ray.__version__}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        here = Recording(InProcess(SweepContext("cpu", progress=False)))
        in_process = _timed(exp, config, out / "inprocess", here)
        ray_exec = RayExecutor(cpus_per_task=args.cpus_per_task)
        there = Recording(ray_exec)
        on_ray = _timed(exp, config, out / "ray", there)
        print(f"quick rotation-depth (digits), {len(here.seconds)} jobs:")
        print(f"  in-process  {in_process:6.1f} s wall, jobs {sum(here.seconds):6.1f} s")
        print(f"  ray         {on_ray:6.1f} s wall, of which start-up "
              f"{ray_exec.startup_seconds:.1f} s; jobs {sum(there.seconds):6.1f} s summed "
              f"(cpus_per_task {args.cpus_per_task:g})")

        noop = NoopConfig(units=args.noop_units)
        wall = time.perf_counter()
        ray.init(address="local", _node_ip_address="127.0.0.1", include_dashboard=False,
                 log_to_driver=False)
        startup = time.perf_counter() - wall
        try:
            # Warm up: a worker up, with hypermod imported, before the timed sweep.
            _timed(NOOP, NoopConfig(units=2), out / "noop-warm", RayExecutor(max_in_flight=1))
            noop_ray = _timed(NOOP, noop, out / "noop-ray", RayExecutor(max_in_flight=1))
        finally:
            ray.shutdown()
        noop_here = _timed(NOOP, noop, out / "noop-inprocess")
        print(f"no-op sweep, {noop.units} units one at a time: in-process {noop_here:.2f} s, "
              f"ray {noop_ray:.2f} s -> {(noop_ray - noop_here) / noop.units * 1e3:.1f} ms "
              f"per task (second start-up {startup:.1f} s)")


if __name__ == "__main__":
    main()
