"""Result files: atomic JSON writes, append-only logs, environment and code version."""

import json
import os
import stat
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
import torch

import hypermod
from hypermod.records import read_json
from hypermod.results import append_jsonl, code_version, environment, write_json_atomic


def test_atomic_write_replaces_whole_files_with_normal_permissions(tmp_path):
    path = write_json_atomic(tmp_path / "sub" / "r.json", {"a": 1, "t": (1, 2)})
    assert json.loads(path.read_text()) == {"a": 1, "t": [1, 2]}
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    write_json_atomic(path, {"a": 2})
    assert read_json(path) == {"a": 2}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = write_json_atomic(tmp_path / "r.json", {"a": 1})
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_json_atomic(path, {"a": object()})
    assert read_json(path) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_read_json_names_a_broken_file(tmp_path):
    (tmp_path / "bad.json").write_text('{"a": ')
    with pytest.raises(ValueError, match="bad.json: not a valid JSON result file"):
        read_json(tmp_path / "bad.json")


def test_jsonl_appends_one_line_per_record(tmp_path):
    for epoch in (1, 2):
        append_jsonl(tmp_path / "m.jsonl", {"epoch": epoch})
    lines = (tmp_path / "m.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"epoch": 1}, {"epoch": 2}]


def test_environment_and_code_version_describe_the_run():
    env = environment("cpu")
    assert env["torch"] == torch.__version__ and env["device"] == "cpu"
    code = code_version()
    assert code["hypermod"] == metadata.version("hypermod") == hypermod.__version__
    root = Path(hypermod.__file__).resolve().parents[1]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                          text=True)
    if head.returncode != 0:
        pytest.skip(f"{root} is not a git checkout")
    assert code["git_commit"] == head.stdout.strip()
    assert isinstance(code["git_dirty"], bool)


def test_a_failed_append_leaves_no_torn_line(tmp_path, monkeypatch):
    import builtins
    import errno

    log = tmp_path / "m.jsonl"
    append_jsonl(log, {"epoch": 1})
    real_open = builtins.open

    class HalfWrite:
        """A file that takes half of what it is given, then reports a full disk."""

        def __init__(self, fh):
            self.fh = fh

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(builtins, "open", lambda *a, **k: HalfWrite(real_open(*a, **k)))
    with pytest.raises(OSError, match=r"could not append to .*m.jsonl: No space left"):
        append_jsonl(log, {"epoch": 2, "train_loss": 0.5})
    monkeypatch.undo()
    assert log.read_text() == '{"epoch": 1}\n'
