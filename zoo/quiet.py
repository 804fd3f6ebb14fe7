"""Quiet front ends: TensorFlow's start-up noise off, real errors on.

Without help, a first `zoo info resnet20` prints absl's "All log messages
before absl::InitializeLog()" preamble, `cudart_stub.cc` "Could not find cuda
drivers" (twice), the oneDNN/CPU-feature notice and, on a machine with no GPU,
"failed call to cuInit: ... UNKNOWN ERROR (303)"; exporting adds a NumPy
`FutureWarning` from Keras' ONNX path. `console()` is what the CLI and the
demo run their command in:

- `TF_CPP_MIN_LOG_LEVEL=2` unless the environment sets it: TensorFlow's C++
  INFO and WARNING lines are off, ERROR and FATAL lines show.
- the `tensorflow` and `absl` Python loggers at ERROR.
- the first `import tensorflow` (and its device discovery) writes file
  descriptor 2 through a filter that drops only `NOISE_LINES`, the start-up
  lines that level 2 lets through (absl writes the first two whatever the
  level; the cuInit failure is an ERROR line), and the C++ lines below the
  level that TensorFlow writes before reading it (the oneDNN notice). The
  filter is a separate process (this file run as a script), so a crash in
  the middle still gets its last lines out.
- Python warnings in `NOISE_WARNINGS` are ignored; any other warning shows.
  zoo's own warnings show as one `zoo: warning: ...` line (the message is
  written for the user; Python's file, line and source line are not).

`console(verbose=True)` (`zoo -v`, `python -m zoo.demo -v`) shows everything:
`TF_CPP_MIN_LOG_LEVEL=0`, no filter, loggers and warnings as they are. Errors
are never touched: a `ZooError` is the caller's one line, any other
exception its traceback.

Example:

>>> with zoo.quiet.console(verbose=False):
...     zoo.get_model("resnet20")   # imports TensorFlow without the noise

This module imports only the standard library (it also runs as the filter
with `python -I -S`), and imports nothing from zoo.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import logging
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterable, Iterator

QUIET_TF_CPP_MIN_LOG_LEVEL = "2"  # INFO and WARNING off; ERROR and FATAL show
VERBOSE_TF_CPP_MIN_LOG_LEVEL = "0"

# Python loggers set to ERROR while quiet.
QUIET_LOGGERS = ("tensorflow", "absl")

# (category, message regex, module regex) of warnings that are known noise.
NOISE_WARNINGS = (
    # Keras' tf2onnx patch probes `hasattr(np, "object")`, which NumPy 2 warns about.
    (
        FutureWarning,
        r"In the future `np\.object` will be defined as the corresponding NumPy scalar",
        r"keras\.src\.export\.tf2onnx_lib",
    ),
)

_ABSL_PREAMBLE = re.compile(
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
)
# An absl/TensorFlow C++ log line: severity, date, time, thread, file:line].
_CPP = r"^[IWEF]\d{4} \S+\s+\d+ "
_NO_CUDA_DRIVER = re.compile(
    _CPP + r"cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, "
    r"GPU will not be used\.$"
)
_CUINIT_FAILED = re.compile(_CPP + r"cuda_platform\.cc:\d+\] failed call to cuInit: ")
# C++ log severities in TF_CPP_MIN_LOG_LEVEL order, and a line's severity.
_SEVERITIES = "IWEF"
_SEVERITY = re.compile(r"^([IWEF])\d{4} \S+\s+\d+ \S+:\d+\] ")

# What the filter drops, for the docs: the cuInit failure only after the
# driver was reported missing (or with CUDA_VISIBLE_DEVICES empty or -1), so a
# machine with a driver that fails still shows it.
NOISE_LINES = (
    _ABSL_PREAMBLE.pattern,
    _NO_CUDA_DRIVER.pattern,
    _CUINIT_FAILED.pattern + " (when no driver or no visible GPU is expected)",
    "C++ log lines below TF_CPP_MIN_LOG_LEVEL (2: INFO and WARNING), which TensorFlow "
    "writes before it reads the variable",
)


def drop_noise(
    lines: Iterable[str], *, no_gpu_expected: bool = False, min_level: int = 0
) -> Iterator[str]:
    """Yields `lines` without the known TensorFlow start-up noise.

    Args:
        lines: iterable of str. Lines of stderr, with or without their ends.
        no_gpu_expected: bool. The environment hides every GPU
            (`CUDA_VISIBLE_DEVICES` empty or `-1`), so a cuInit failure
            is expected too.
        min_level: int. `TF_CPP_MIN_LOG_LEVEL`: C++ log lines below it (0
            INFO, 1 WARNING, 2 ERROR) are dropped too. TensorFlow 2.21's
            libraries write some INFO lines before they read the variable
            (the oneDNN notice, on CPUs where oneDNN is on).

    Example:

    >>> list(drop_noise(["I0000 00:00:1.5  7 cudart_stub.cc:31] Could not find cuda "
    ...                  "drivers on your machine, GPU will not be used.", "real"]))
    ['real']
    """
    no_gpu = no_gpu_expected
    for line in lines:
        text = line.rstrip("\r\n")
        if _ABSL_PREAMBLE.match(text):
            continue
        if _NO_CUDA_DRIVER.match(text):
            no_gpu = True
            continue
        if no_gpu and _CUINIT_FAILED.match(text):
            continue
        severity = _SEVERITY.match(text)
        if severity and _SEVERITIES.index(severity.group(1)) < min_level:
            continue
        yield line


def _min_level(environ=os.environ) -> int:
    try:
        return int(environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def _no_gpu_expected(environ=os.environ) -> bool:
    return environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1")


@contextlib.contextmanager
def console(verbose: bool = False):
    """Runs a front-end command quietly, or with everything shown.

    Restores the environment variable, the logger levels and the warning
    filters it changed when the block ends. A TensorFlow imported inside
    the block keeps the C++ log level it started with.

    Args:
        verbose: bool. `True` sets `TF_CPP_MIN_LOG_LEVEL=0` and changes
            nothing else; `False` (default) quiets the known noise.

    Example:

    >>> with console(verbose=args.verbose):
    ...     return args.handler(args)
    """
    saved_env = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    saved_format = warnings.formatwarning
    saved_levels = {}
    added_filters = []
    hook = None
    if verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = VERBOSE_TF_CPP_MIN_LOG_LEVEL
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_TF_CPP_MIN_LOG_LEVEL)
        with contextlib.suppress(ImportError):
            # Made by absl first, so the "absl" logger stays absl's own class.
            import absl.logging  # noqa: F401
        for name in QUIET_LOGGERS:
            logger = logging.getLogger(name)
            saved_levels[name] = logger.level
            logger.setLevel(logging.ERROR)
        for category, message, module in NOISE_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category, module=module)
            added_filters.append(warnings.filters[0])
        warnings.formatwarning = _one_line_for_zoo(saved_format)
        if "tensorflow" not in sys.modules:
            hook = _QuietTensorFlowImport()
            sys.meta_path.insert(0, hook)
    try:
        yield
    finally:
        warnings.formatwarning = saved_format
        if hook is not None:
            hook.remove()
        for item in added_filters:
            with contextlib.suppress(ValueError):
                warnings.filters.remove(item)  # an "ignore" leaves no registry entry behind
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
        if saved_env is None:
            os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
        else:
            os.environ["TF_CPP_MIN_LOG_LEVEL"] = saved_env


@contextlib.contextmanager
def known_warnings_ignored():
    """Ignores the `NOISE_WARNINGS` inside the block, for any caller.

    For library calls zoo's own API makes: a script that calls `zoo.export`
    is not inside `console()`, and the warning is about Keras' code, not
    the script's.

    Example:

    >>> with known_warnings_ignored():
    ...     model.export(path, format="onnx")
    """
    with warnings.catch_warnings():
        for category, message, module in NOISE_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category, module=module)
        yield


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _one_line_for_zoo(others):
    """A `warnings.formatwarning` that writes zoo's warnings as one line."""

    def format_warning(message, category, filename, lineno, line=None):
        if os.path.abspath(filename).startswith(_PACKAGE_DIR):
            return f"zoo: warning: {message}\n"
        return others(message, category, filename, lineno, line)

    return format_warning


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Wraps the first `import tensorflow` in `_filtered_stderr()`."""

    def remove(self) -> None:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        self.remove()  # one import only
        for finder in list(sys.meta_path):
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(fullname, path, target) if find_spec else None
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self._loader
        with _filtered_stderr():
            self._loader.exec_module(module)
            # Device discovery logs the cuInit failure: do it inside the filter.
            # Listing devices still allows logical device setup afterwards.
            with contextlib.suppress(Exception):
                module.config.list_physical_devices()


@contextlib.contextmanager
def _filtered_stderr():
    """File descriptor 2 through the `drop_noise` filter process."""
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
        real = os.dup(2)
    except (OSError, ValueError):
        real = None
    child = None
    if real is not None and sys.executable:
        read_end, write_end = os.pipe()
        try:
            child = subprocess.Popen(
                [sys.executable, "-I", "-S", os.path.abspath(__file__)],
                stdin=read_end,
                stdout=real,
                stderr=real,
            )
        except OSError:
            os.close(write_end)
        else:
            os.dup2(write_end, 2)
            os.close(write_end)
        finally:
            os.close(read_end)
    try:
        yield
    finally:
        if real is not None:
            with contextlib.suppress(OSError, ValueError):
                if sys.stderr is not None:
                    sys.stderr.flush()
            os.dup2(real, 2)  # closes our pipe end: the filter reads to its end and exits
            os.close(real)
        if child is not None:
            # A process started meanwhile may hold the pipe open; the filter
            # then forwards its lines until it ends.
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=10)


def _forward(source, sink) -> None:
    """The filter process: copies `source` to `sink` line by line, less noise."""
    lines = (raw.decode("utf-8", "surrogateescape") for raw in iter(source.readline, b""))
    for line in drop_noise(lines, no_gpu_expected=_no_gpu_expected(), min_level=_min_level()):
        sink.write(line.encode("utf-8", "surrogateescape"))
        sink.flush()


if __name__ == "__main__":
    import signal

    # Ctrl-C is for the zoo process; the filter drains the pipe until that one lets go.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(BrokenPipeError):
        _forward(sys.stdin.buffer, sys.stdout.buffer)
