"""Distribution strategies and global/per-replica batch arithmetic.

Everything here is plain `tf.distribute`: build and compile the model inside
`strategy.scope()`, feed datasets batched with the global batch size, and
Keras splits each batch over the replicas.

`split_cpu(n)` turns the CPU into `n` logical devices so MirroredStrategy can
run, and be tested, on a machine with no GPU. It must run before TensorFlow
initializes its devices (before the first op or device query).

Past one machine, `"multi_worker"` is `MultiWorkerMirroredStrategy`, set up
from the standard `TF_CONFIG` variable that every worker process gets (the
same cluster, its own task). Like the CPU split, it must be created before
the first TensorFlow op.

Example:

>>> strategy = zoo.distribute.get_strategy("auto")   # Mirrored when >1 GPU
>>> with strategy.scope():
...     model = zoo.get_model("resnet20")
...     zoo.get_recipe("resnet20").compile(model, steps_per_epoch=100)
"""

from __future__ import annotations

import json
import os

from zoo import errors, keras_fixes, validation

STRATEGIES = ("auto", "mirrored", "multi_worker", "one_device", "default")


def split_cpu(num_devices: int) -> list:
    """Splits the physical CPU into `num_devices` logical CPU devices.

    Args:
        num_devices: int. Logical devices to create (>= 1).

    Returns:
        The logical CPU devices.

    Raises:
        StrategyError: TensorFlow already initialized its devices with a
            different layout (call this first thing in the program).

    Example:

    >>> zoo.distribute.split_cpu(2)
    >>> zoo.distribute.get_strategy("mirrored").num_replicas_in_sync
    2
    """
    import tensorflow as tf

    validation.check_positive_int("cpu_replicas", num_devices)
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == num_devices:
        return tf.config.list_logical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(num_devices)]
        )
    except RuntimeError as err:
        have = len(tf.config.list_logical_devices("CPU"))
        if have == num_devices:
            return tf.config.list_logical_devices("CPU")
        raise errors.StrategyError(
            f"Cannot split the CPU into {num_devices} logical devices: TensorFlow "
            f"already initialized {have}. Call zoo.distribute.split_cpu({num_devices}) "
            f"(or pass --cpu-replicas) before any TensorFlow op runs."
        ) from err
    return tf.config.list_logical_devices("CPU")


def get_strategy(name: str = "auto", *, cpu_replicas: int | None = None):
    """Returns a `tf.distribute.Strategy` by name.

    Args:
        name: str. `"auto"`: MultiWorkerMirroredStrategy when `TF_CONFIG`
            names more than one worker, else MirroredStrategy over the GPUs
            when more than one is visible, over the logical CPUs when the CPU
            was split, else the default strategy. `"mirrored"`:
            MirroredStrategy over all GPUs, or over all logical CPUs when
            there is no GPU. `"multi_worker"`: MultiWorkerMirroredStrategy
            over the cluster in `TF_CONFIG` (each worker uses its GPUs, or its
            CPU). `"one_device"`: the first GPU, else the CPU. `"default"`:
            TensorFlow's default (no-op) strategy.
        cpu_replicas: int or None. Split the CPU into this many logical
            devices first (see `split_cpu`).

    Example:

    >>> strategy = get_strategy("mirrored", cpu_replicas=2)
    >>> strategy.num_replicas_in_sync
    2
    """
    validation.check_choice("strategy", name, STRATEGIES)
    if name == "multi_worker" or (name == "auto" and cluster_size() > 1):
        return _multi_worker_strategy()
    if cpu_replicas is not None:
        split_cpu(cpu_replicas)
    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy((gpus or cpus)[0])
    if name == "mirrored" or len(gpus) > 1 or (not gpus and len(cpus) > 1):
        return tf.distribute.MirroredStrategy(gpus or cpus)
    return tf.distribute.get_strategy()


def cluster_size() -> int:
    """Worker processes (chief included) that `TF_CONFIG` names; 0 without it.

    Raises:
        StrategyError: `TF_CONFIG` is set but is not the JSON TensorFlow reads.
    """
    config = _tf_config()
    if config is None:
        return 0
    return sum(len(config["cluster"].get(role, ())) for role in ("chief", "worker"))


def _tf_config() -> dict | None:
    """`TF_CONFIG` parsed and checked as TensorFlow's cluster resolver reads it.

    TensorFlow itself fails on a malformed one with a bare `TypeError` from
    deep inside the strategy's constructor; here the message quotes the
    variable and shows the accepted form.
    """
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    try:
        config = json.loads(raw)
        problem = _tf_config_problem(config)
    except ValueError as err:
        problem = str(err)
    if problem:
        raise errors.StrategyError(
            f"TF_CONFIG is not valid: {raw[:200]!r} ({problem}). Expected JSON like "
            '{"cluster": {"worker": ["host1:port", "host2:port"]}, '
            '"task": {"type": "worker", "index": 0}}.'
        )
    return config


def _tf_config_problem(config) -> str | None:
    """What is wrong with a parsed `TF_CONFIG`, or None."""
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        return "it needs a 'cluster' object"
    for role, hosts in config["cluster"].items():
        if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
            return f"cluster[{role!r}] must be a list of 'host:port' strings"
    task = config.get("task")
    if task is None:
        return None  # the cluster alone is enough to count workers
    if isinstance(task, dict) and task.get("type") == "evaluator":
        return None  # TensorFlow's side-car evaluator is not a member of the cluster
    if not isinstance(task, dict) or task.get("type") not in config["cluster"]:
        return f"task.type must be one of the cluster's roles {sorted(config['cluster'])}"
    index, hosts = task.get("index", 0), config["cluster"][task["type"]]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(hosts):
        return f"task.index must be an integer in [0, {len(hosts)})"
    return None


def is_chief(strategy) -> bool:
    """Whether this process writes a run's shared files.

    True on one device, under MirroredStrategy, and on the chief of a
    multi-worker cluster (the `chief` task, or worker 0 when there is none).
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    from tensorflow.python.distribute import multi_worker_util

    return multi_worker_util.is_chief(resolver.cluster_spec(), resolver.task_type, resolver.task_id)


def worker_name(strategy) -> str:
    """`"<task type>-<index>"` in a multi-worker cluster, else `"local"`."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or resolver.task_type is None:
        return "local"
    return f"{resolver.task_type}-{resolver.task_id}"


def num_workers(strategy) -> int:
    """Worker processes taking part in each step (1 outside a cluster)."""
    extended = getattr(strategy, "extended", None)
    return int(getattr(extended, "_num_workers", 1) or 1)


def is_multi_worker(strategy) -> bool:
    """Whether `strategy` is a MultiWorkerMirroredStrategy over several workers."""
    import tensorflow as tf

    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and num_workers(strategy) > 1
    )


def _multi_worker_strategy():
    import tensorflow as tf

    if cluster_size() < 1:
        raise errors.StrategyError(
            "strategy='multi_worker' needs the TF_CONFIG environment variable, set "
            "differently in each worker process: its cluster (the same everywhere) "
            'and its own task, e.g. TF_CONFIG=\'{"cluster": {"worker": '
            '["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
            '"index": 0}}\'.'
        )
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except (RuntimeError, ValueError) as err:
        raise errors.StrategyError(
            f"Cannot start MultiWorkerMirroredStrategy from TF_CONFIG: {err}. Create it "
            f"first thing in the program, before any TensorFlow op runs."
        ) from err
    keras_fixes.patch_multi_worker_fit(is_multi_worker)
    return strategy


def num_replicas(strategy) -> int:
    """Replicas that share each global batch (1 for no strategy)."""
    if strategy is None:
        return 1
    if not hasattr(strategy, "num_replicas_in_sync"):
        raise errors.InvalidArgumentError(
            f"strategy must be a tf.distribute.Strategy or None; to pick one by name use "
            f"zoo.distribute.get_strategy({strategy!r}) (names: {', '.join(STRATEGIES)}). "
            f"Received: strategy={strategy!r}."
        )
    return int(strategy.num_replicas_in_sync)


def per_replica_batch_size(global_batch_size: int, strategy) -> int:
    """The batch each replica sees for a given global batch.

    Args:
        global_batch_size: int. Examples per step over all replicas.
        strategy: tf.distribute.Strategy or None.

    Example:

    >>> per_replica_batch_size(128, get_strategy("mirrored", cpu_replicas=2))
    64
    """
    validation.check_positive_int("batch_size", global_batch_size)
    replicas = num_replicas(strategy)
    if global_batch_size % replicas:
        raise errors.InvalidArgumentError(
            f"The global batch size must be a multiple of the {replicas} replicas in "
            f"sync. Received: batch_size={global_batch_size}. Try "
            f"{max(replicas, global_batch_size // replicas * replicas)}."
        )
    return global_batch_size // replicas


def global_batch_size(per_replica: int, strategy) -> int:
    """The global batch for `per_replica` examples on each replica.

    Args:
        per_replica: int. Examples per replica per step.
        strategy: tf.distribute.Strategy or None.
    """
    validation.check_positive_int("per_replica_batch_size", per_replica)
    return per_replica * num_replicas(strategy)
