"""Quiet front ends: TensorFlow's start-up noise off by default, `-v` shows it,
errors and unknown warnings always show."""

import logging
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import zoo
from zoo import cli, quiet

ABSL_PREAMBLE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
)
NO_DRIVER = (
    "I0000 00:00:1795824993.641974    9866 cudart_stub.cc:31] Could not find cuda drivers "
    "on your machine, GPU will not be used."
)
CUINIT = (
    "E0000 00:00:1795825002.604526    9866 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)"
)
REAL_ERROR = "E0000 00:00:1795825002.7    9866 some_kernel.cc:12] a real error"
ONEDNN = (
    "I0000 00:00:1795917535.714962   11676 port.cc:153] oneDNN custom operations are on. You "
    "may see slightly different numerical results due to floating-point round-off errors from "
    "different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`."
)
WARNING_LINE = "W0000 00:00:1795825002.7    9866 some_op.cc:7] a warning"
CPP_LOG_LINE = re.compile(r"^[IWEF]\d{4} \S+\s+\d+ \S+:\d+\] ")


def clean_env(**extra):
    """The caller's environment without the settings that would hide noise."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",)}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return {**env, **extra}


def test_drop_noise_drops_only_known_lines():
    lines = [ABSL_PREAMBLE, NO_DRIVER, "progress", CUINIT, REAL_ERROR, ABSL_PREAMBLE + " and more"]
    assert list(quiet.drop_noise(lines)) == ["progress", REAL_ERROR, ABSL_PREAMBLE + " and more"]
    # A cuInit failure on a machine whose driver was found is a real error.
    assert list(quiet.drop_noise([CUINIT])) == [CUINIT]
    assert list(quiet.drop_noise([CUINIT + "\n"], no_gpu_expected=True)) == []
    assert list(quiet.drop_noise([NO_DRIVER + "\n", "x\n"])) == ["x\n"]
    # The level TensorFlow 2.21 ignores before it reads it: INFO and WARNING off at 2.
    assert list(quiet.drop_noise([ONEDNN, WARNING_LINE, REAL_ERROR], min_level=2)) == [REAL_ERROR]
    assert list(quiet.drop_noise([ONEDNN, WARNING_LINE], min_level=1)) == [WARNING_LINE]
    assert list(quiet.drop_noise([ONEDNN])) == [ONEDNN]


def test_console_sets_and_restores_level_loggers_and_warning_filters(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    before = list(warnings.filters)
    levels = {name: logging.getLogger(name).level for name in quiet.QUIET_LOGGERS}
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with quiet.console():
            assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"
            assert all(logging.getLogger(n).level == logging.ERROR for n in quiet.QUIET_LOGGERS)
            noise = "In the future `np.object` will be defined as the corresponding NumPy scalar."
            warnings.warn_explicit(
                noise, FutureWarning, "tf2onnx_lib.py", 21, module="keras.src.export.tf2onnx_lib"
            )
            warnings.warn_explicit(noise, FutureWarning, "mine.py", 1, module="mine")
            warnings.warn_explicit("your input is odd", UserWarning, "x.py", 1, module="keras")
    assert [(w.category, w.filename) for w in shown] == [
        (FutureWarning, "mine.py"),
        (UserWarning, "x.py"),
    ]
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    assert {name: logging.getLogger(name).level for name in quiet.QUIET_LOGGERS} == levels
    assert warnings.filters == before

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")  # the user's own setting wins
    with quiet.console():
        assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"
    with quiet.console(verbose=True):
        assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
        assert logging.getLogger("tensorflow").level == levels["tensorflow"]
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"


def test_console_writes_zoo_warnings_as_one_line_and_others_as_python_does(capsys):
    from zoo import transfer

    def show(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show  # Python's own, not pytest's recorder
        with quiet.console():
            warnings.warn_explicit("Loaded 19 variables", UserWarning, transfer.__file__, 193)
            warnings.warn_explicit("your input is odd", UserWarning, "x.py", 7)
        warnings.warn_explicit("after the block", UserWarning, transfer.__file__, 193)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "zoo: warning: Loaded 19 variables"
    assert lines[1] == "x.py:7: UserWarning: your input is odd"
    assert lines[2].endswith("transfer.py:193: UserWarning: after the block")  # restored


@pytest.mark.parametrize(
    "argv, level",
    [
        (["list", "resnet2*"], "2"),
        (["-v", "list", "resnet2*"], "0"),
        (["list", "resnet2*", "--verbose"], "0"),
    ],
)
def test_cli_runs_its_command_quiet_unless_v(monkeypatch, capsys, argv, level):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    seen = []
    original = cli._cmd_list
    monkeypatch.setattr(
        cli,
        "_cmd_list",
        lambda args: seen.append(os.environ["TF_CPP_MIN_LOG_LEVEL"]) or original(args),
    )
    assert cli.main(argv) == 0
    assert seen == [level] and capsys.readouterr().out.split() == ["resnet20"]
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ


def test_unexpected_exception_still_raises(monkeypatch):
    def boom(args):
        raise RuntimeError("not a user error")

    monkeypatch.setattr(cli, "_cmd_list", boom)
    with pytest.raises(RuntimeError, match="not a user error"):
        cli.main(["list"])


FAKE_TENSORFLOW = f"""
import os
os.write(2, {(ABSL_PREAMBLE + chr(10)).encode()!r})
os.write(2, {(NO_DRIVER + chr(10)).encode()!r})
os.write(2, {(REAL_ERROR + chr(10)).encode()!r})
print("level", os.environ.get("TF_CPP_MIN_LOG_LEVEL"), flush=True)

class config:
    @staticmethod
    def list_physical_devices():
        os.write(2, {(CUINIT + chr(10)).encode()!r})
        return []

if os.environ.get("FAKE_TF") == "raise":
    raise RuntimeError("tensorflow is broken")
if os.environ.get("FAKE_TF") == "exit":  # dies in the import, no cleanup
    os.write(2, b"F0000 00:00:1.0    9866 init.cc:1] Check failed: last words\\n")
    os._exit(3)
"""


def run_fake_tensorflow_import(tmp_path, mode="", verbose=False):
    """`import tensorflow` inside `quiet.console()`, TensorFlow being a stub
    that writes the real start-up noise to file descriptor 2."""
    (tmp_path / "tensorflow").mkdir(exist_ok=True)
    (tmp_path / "tensorflow" / "__init__.py").write_text(FAKE_TENSORFLOW)
    script = textwrap.dedent(
        f"""
        import sys
        from zoo import quiet
        with quiet.console(verbose={verbose}):
            import tensorflow
        print("after the import", file=sys.stderr)
        """
    )
    path = os.pathsep.join(
        [
            str(tmp_path),
            str(Path(zoo.__file__).resolve().parents[1]),
            os.environ.get("PYTHONPATH", ""),
        ]
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=clean_env(PYTHONPATH=path, FAKE_TF=mode),
    )


def test_tensorflow_import_noise_is_filtered_and_real_lines_kept(tmp_path):
    done = run_fake_tensorflow_import(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "level 2\n"
    assert done.stderr.splitlines() == [REAL_ERROR, "after the import"]

    done = run_fake_tensorflow_import(tmp_path, verbose=True)
    assert done.stdout == "level 0\n"
    assert done.stderr.splitlines() == [
        ABSL_PREAMBLE,
        NO_DRIVER,
        REAL_ERROR,
        "after the import",
    ]


def test_a_failing_or_dying_tensorflow_import_still_shows_its_errors(tmp_path):
    done = run_fake_tensorflow_import(tmp_path, mode="raise")
    assert done.returncode == 1
    assert REAL_ERROR in done.stderr and "Traceback" in done.stderr
    assert done.stderr.rstrip().endswith("RuntimeError: tensorflow is broken")
    assert "cudart_stub" not in done.stderr

    done = run_fake_tensorflow_import(tmp_path, mode="exit")
    assert done.returncode == 3
    assert done.stderr.splitlines() == [
        REAL_ERROR,
        "F0000 00:00:1.0    9866 init.cc:1] Check failed: last words",
    ]


def run_zoo(*argv):
    return subprocess.Popen(
        [sys.executable, "-m", "zoo", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )


def test_cli_v_shows_tensorflow_logs(tmp_path):
    """`-v` shows TensorFlow's C++ log lines (level 0), here on a run that stops
    at its bad dataset once TensorFlow is up. The quiet default is checked on a
    whole `zoo train` run, in tests/test_cli.py (one training, not two). (`zoo
    info` no longer imports TensorFlow at all: zoo.cards.)"""
    verbose_run = run_zoo(
        "-v", "train", "resnet20", "--dataset", "nosuch", "--out", str(tmp_path / "v")
    )
    _, v_err = verbose_run.communicate(timeout=300)
    assert verbose_run.returncode == 2 and "Unknown dataset 'nosuch'" in v_err
    assert [line for line in v_err.splitlines() if CPP_LOG_LINE.match(line)], v_err


def test_cli_user_error_after_tensorflow_import_is_still_one_line(tmp_path):
    run = run_zoo("train", "resnet20", "--dataset", "nosuch", "--out", str(tmp_path / "r"))
    out, err = run.communicate(timeout=180)
    assert run.returncode == 2 and out == ""
    assert err.startswith("zoo: error: Unknown dataset 'nosuch'") and err.count("\n") == 1, err
