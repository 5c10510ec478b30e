"""A cluster started with the `ray start` command (a head and a second node on 127.0.0.1)
takes a sweep from `hypermod sweep --executor ray --ray-address` (issue 19 item 10).

With a token available, Ray 2.60's `ray start` turns token authentication on; a driver
that connects to an explicit address then needs RAY_AUTH_MODE=token (Ray enables it by
itself only for `address="auto"`). The test gives the cluster a token of its own
(RAY_AUTH_TOKEN_PATH), so that it does not depend on ~/.ray/auth_token, and checks both
the refusal without RAY_AUTH_MODE and the sweep with it.

The nodes are stopped by their process ids (every process of the cluster has the test's
marker variable in its environment, the agents that rename themselves too), not with
`ray stop`, which stops every Ray instance of the machine, other users' and other tests'
included; none may be left.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

pytest.importorskip("ray")
from test_sweep_ray import _processes  # noqa: E402 - pid -> command line, by cmdline or env

RAY = Path(sys.executable).with_name("ray")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not RAY.exists(), reason=f"no `ray` command beside {sys.executable}"),
]
TESTS = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(tag: str, grace: float = 10.0) -> dict[int, str]:
    """SIGTERM every process naming `tag`, then SIGKILL what is left; what survives."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _processes(tag):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while _processes(tag) and time.monotonic() < deadline:
            time.sleep(0.2)
    return _processes(tag)


def _node_ports() -> list[str]:
    """Ports of one node's agents, chosen free: two nodes on one machine must not share."""
    return ["--dashboard-agent-listen-port", str(_free_port()),
            "--dashboard-agent-grpc-port", str(_free_port()),
            "--runtime-env-agent-port", str(_free_port()),
            "--metrics-export-port", str(_free_port()),
            "--node-manager-port", str(_free_port()),
            "--object-manager-port", str(_free_port())]


@pytest.fixture
def cluster(tmp_path):
    """A head and a second node, one CPU each, started by `ray start`; yields
    (address, environment without RAY_AUTH_MODE)."""
    temp = tempfile.mkdtemp(prefix="hmrc", dir="/tmp")  # short: socket paths <= 107 bytes
    token = tmp_path / "auth_token"
    token.write_text(uuid.uuid4().hex)
    env = {k: v for k, v in os.environ.items()
           if k not in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_ADDRESS")}
    marker = f"HYPERMOD_TEST_CLUSTER={uuid.uuid4().hex}"  # in every process of the cluster
    env.update(RAY_AUTH_TOKEN_PATH=str(token), RAY_USAGE_STATS_ENABLED="0",
               HYPERMOD_TEST_CLUSTER=marker.split("=")[1],
               PYTHONPATH=os.pathsep.join([str(TESTS.parent), env.get("PYTHONPATH", "")]))
    port = _free_port()
    address = f"127.0.0.1:{port}"
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--disable-usage-stats"]
    try:
        head = subprocess.run(
            [str(RAY), "start", "--head", "--port", str(port), "--temp-dir", temp,
             "--include-dashboard", "false", "--ray-client-server-port", str(_free_port()),
             *common, *_node_ports()], env=env, capture_output=True, text=True, timeout=120)
        assert head.returncode == 0, head.stdout + head.stderr
        assert "Token authentication is enabled" in head.stdout + head.stderr
        second = subprocess.run(
            [str(RAY), "start", "--address", address, *common, *_node_ports()],
            env={**env, "RAY_AUTH_MODE": "token"}, capture_output=True, text=True,
            timeout=120)
        assert second.returncode == 0, second.stdout + second.stderr
        yield address, env
    finally:
        left = _stop(marker)
        shutil.rmtree(temp, ignore_errors=True)
        assert not left, f"Ray processes left running: {left}"


def _sweep(address: str, env: dict[str, str], out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hypermod", "--threads", "1", "sweep", "rotation-depth",
         "--executor", "ray", "--ray-address", address, "--seeds", "2", "--no-progress",
         "--out", str(out), "--set", "datasets=digits", "--set", "depths=0,1", "--set",
         "train.epochs=1", "--set", "limit_train=128", "--set", "limit_test=64"],
        env=env, capture_output=True, text=True, timeout=300)


def test_a_sweep_runs_on_a_cluster_started_with_ray_start(cluster, tmp_path):
    address, env = cluster
    refused = _sweep(address, env, tmp_path / "refused")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert (f"hypermod: error: the Ray cluster at {address} uses token authentication and "
            "refused this driver (RAY_AUTH_MODE is unset); run hypermod with "
            "RAY_AUTH_MODE=token") in refused.stderr
    assert not (tmp_path / "refused").exists()  # nothing written before joining

    done = _sweep(address, {**env, "RAY_AUTH_MODE": "token"}, tmp_path / "out")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Ray: {address}, 2 node(s), 2 CPUs, 0 GPUs" in done.stdout
    assert "rotation-depth: 8 runs done, 0 were already finished" in done.stdout
    runs = sorted((tmp_path / "out" / "rotation-depth" / "runs").glob("*.json"))
    assert len(runs) == 8  # 2 methods x 2 depths x 2 seeds
    for path in runs:
        record = json.loads(path.read_text())
        assert record["status"] == "finished" and record["worker"]["attempts"] == 1
