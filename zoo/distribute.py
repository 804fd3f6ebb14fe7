"""Distribution strategies and global/per-replica batch arithmetic.

Everything here is plain `tf.distribute`: build and compile the model inside
`strategy.scope()`, feed datasets batched with the global batch size, and
Keras splits each batch over the replicas.

`split_cpu(n)` turns the CPU into `n` logical devices so MirroredStrategy can
run, and be tested, on a machine with no GPU. It must run before TensorFlow
initializes its devices (before the first op or device query).

Example:

>>> strategy = zoo.distribute.get_strategy("auto")   # Mirrored when >1 GPU
>>> with strategy.scope():
...     model = zoo.get_model("resnet20")
...     zoo.get_recipe("resnet20").compile(model, steps_per_epoch=100)
"""

from __future__ import annotations

from zoo import errors, validation

STRATEGIES = ("auto", "mirrored", "one_device", "default")


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
        name: str. `"auto"`: MirroredStrategy over the GPUs when more than one
            is visible, over the logical CPUs when the CPU was split, else the
            default strategy. `"mirrored"`: MirroredStrategy over all GPUs, or
            over all logical CPUs when there is no GPU. `"one_device"`: the
            first GPU, else the CPU. `"default"`: TensorFlow's default
            (no-op) strategy.
        cpu_replicas: int or None. Split the CPU into this many logical
            devices first (see `split_cpu`).

    Example:

    >>> strategy = get_strategy("mirrored", cpu_replicas=2)
    >>> strategy.num_replicas_in_sync
    2
    """
    validation.check_choice("strategy", name, STRATEGIES)
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


def num_replicas(strategy) -> int:
    """Replicas that share each global batch (1 for no strategy)."""
    return 1 if strategy is None else int(strategy.num_replicas_in_sync)


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
