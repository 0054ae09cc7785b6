"""tf.distribute strategies, the cluster from TF_CONFIG, and who writes.

- `"default"`: one device (TensorFlow's default strategy).
- `"mirrored"`: `MirroredStrategy` over the local GPUs, or over logical CPU
  devices where there is no GPU (for trying it out, and for tests).
- `"multi_worker"`: `MultiWorkerMirroredStrategy` over the workers listed
  in the `TF_CONFIG` environment variable (one process per host, each
  with all its GPUs).

Only the chief writes into the run directory; other workers write what
they must write (every worker takes part in saving) into a temporary
directory of their own.
"""

import json
import os
import shutil
import tempfile

import keras
import tensorflow as tf
from absl import logging

STRATEGIES = ("default", "mirrored", "multi_worker")


def cluster_spec():
    """`(cluster, task_type, task_index)` from `TF_CONFIG`, checked.

    Raises a `ValueError` naming the problem when `TF_CONFIG` is missing,
    not JSON, or does not place this task in its cluster.
    """
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise ValueError(
            "--strategy=multi_worker needs the TF_CONFIG environment variable, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}} (see docs/DISTRIBUTED.md).'
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not JSON: {error}.") from None
    cluster = config.get("cluster") or {}
    task = config.get("task") or {}
    task_type, index = task.get("type"), task.get("index")
    if not cluster or task_type not in cluster:
        raise ValueError(
            f"TF_CONFIG's task type {task_type!r} is not in its cluster {sorted(cluster)}."
        )
    if not isinstance(index, int) or not 0 <= index < len(cluster[task_type]):
        raise ValueError(
            f"TF_CONFIG's task index {index!r} is outside its {len(cluster[task_type])} "
            f"{task_type!r} addresses."
        )
    return cluster, task_type, index


def configure_devices(strategy, num_devices=0):
    """Splits the CPU into `num_devices` logical devices where a mirrored
    run has no GPU. Must run before TensorFlow initialises its devices."""
    if strategy != "mirrored" or tf.config.list_physical_devices("GPU"):
        return
    count = int(num_devices) or 2
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])


def make_strategy(name="default", num_devices=0):
    """A `tf.distribute.Strategy` by name.

    `num_devices` (mirrored only): how many local GPUs to use, 0 = all; on
    a machine without GPUs, how many logical CPU devices to mirror over
    (`configure_devices` must have split the CPU first).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = gpus or tf.config.list_logical_devices("CPU")
        if num_devices:
            if num_devices > len(devices):
                kind = "GPUs" if gpus else "logical CPU devices"
                raise ValueError(
                    f"--num_devices={num_devices} but this machine has {len(devices)} {kind}.")
            devices = devices[:num_devices]
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "multi_worker":
        cluster_spec()
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"Unknown strategy {name!r}; expected one of {STRATEGIES}.")


def task(strategy):
    """`(task_type, task_id)` of this process (`(None, None)` outside a cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return None, None
    return resolver.task_type, resolver.task_id


def is_chief(strategy):
    """Whether this process writes the run: the chief, or worker 0 of a
    cluster without one, or the only process."""
    task_type, task_id = task(strategy)
    if task_type is None:
        return True
    has_chief = "chief" in strategy.cluster_resolver.cluster_spec().as_dict()
    return task_type == "chief" or (not has_chief and task_type == "worker" and task_id == 0)


class WriteDir:
    """The directory this process writes the run into.

    The chief writes into `model_dir`; another worker into a fresh
    temporary directory, removed by `cleanup()`.
    """

    def __init__(self, model_dir, strategy):
        self.chief = is_chief(strategy)
        if self.chief:
            self.path = model_dir
        else:
            task_type, task_id = task(strategy)
            self.path = tempfile.mkdtemp(prefix=f"tfpose-{task_type}-{task_id}-")
        os.makedirs(self.path, exist_ok=True)

    def cleanup(self):
        if not self.chief:
            shutil.rmtree(self.path, ignore_errors=True)


def synchronize_batch_norm(model):
    """Makes every BatchNormalization of `model` compute its batch
    statistics over the global batch (all replicas) rather than each
    replica's share, so that results do not depend on the device count.
    Returns how many layers it changed. The layers read the attribute when
    called, so it applies to a built model."""
    count = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
            count += 1
    return count


def cpu_has_native_bfloat16(cpuinfo="/proc/cpuinfo"):
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX-BF16);
    False where that cannot be read (not Linux)."""
    try:
        with open(cpuinfo) as f:
            flags_line = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return False
    return bool({"avx512_bf16", "amx_bf16"} & set(flags_line.split()))


def auto_precision():
    """The fastest dtype policy here that keeps float32 accuracy where it
    matters: mixed_float16 on a GPU, mixed_bfloat16 on a CPU with native
    bfloat16, else float32 (emulated bfloat16 is several times slower)."""
    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_has_native_bfloat16() else "float32"


def warn_if_emulated_bfloat16():
    """Logs a warning where mixed_bfloat16 would run on a CPU that emulates
    bfloat16; returns whether it did."""
    if tf.config.list_physical_devices("GPU") or cpu_has_native_bfloat16():
        return False
    # TF 2.21's oneDNN aborted ("double free or corruption") in the filter
    # gradient of a strided 1x1 convolution with 8 channels on 4 frames on
    # an AVX-512 Xeon without AVX512-BF16 (docs/BENCHMARKS.md); float32 and
    # oneDNN off (TF_ENABLE_ONEDNN_OPTS=0) ran it.
    logging.warning(
        "mixed_bfloat16 on a CPU without AVX512-BF16 or AMX (or whose /proc/cpuinfo cannot "
        "say): bfloat16 is emulated, several times slower than float32, and TensorFlow's "
        "oneDNN kernels have crashed on some small convolutions there (TF_ENABLE_ONEDNN_OPTS=0 "
        "avoids them). --precision=auto picks float32 on this CPU.")
    return True
