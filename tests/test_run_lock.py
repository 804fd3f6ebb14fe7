"""One writer per run directory: a second `zoo train` on it gets a clear error."""

import os
import signal
import subprocess
import sys

import pytest

import zoo
from zoo.runs import RunDir

HOLDER = (
    "import sys, time\n"
    "from zoo.runs import RunDir\n"
    "with RunDir(sys.argv[1]).lock():\n"
    "    print('locked', flush=True)\n"
    "    time.sleep(120)\n"
)


def _hold_lock(run_dir):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(run_dir)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_second_trainer_is_refused_and_a_killed_holder_leaves_no_stale_lock(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text('{"model": "resnet20"}')
    holder = _hold_lock(run_dir)
    try:
        with pytest.raises(zoo.RunDirError, match=f"pid {holder.pid}"):
            zoo.train("resnet20", "digits", run_dir, epochs=1, verbose=0)
        # Nothing of the refused run was written.
        assert sorted(p.name for p in run_dir.iterdir()) == [".lock", "config.json"]
        assert (run_dir / "config.json").read_text() == '{"model": "resnet20"}'
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    with RunDir(run_dir).lock():  # the system released the dead process's lock
        pass


def test_lock_on_a_new_directory_leaves_nothing_when_nothing_was_written(tmp_path):
    run = RunDir(tmp_path / "new" / "run")
    with run.lock():
        assert (tmp_path / "new" / "run" / ".lock").is_file()
    assert not (tmp_path / "new" / "run").exists()
