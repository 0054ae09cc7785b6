"""Strategy helpers, loop choice and mixed precision (in process).

The strategies themselves run in tests/scripts/train_distributed_test.py: logical
devices and clusters must be set up before TensorFlow starts.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfpose.data import sources
from tfpose.inference import protocols
from tfpose.training import cluster, distribute, runner
from tfpose.training import loop as tfpose_loop


def test_tf_config_is_checked(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs the TF_CONFIG"):
        distribute.cluster_spec()
    monkeypatch.setenv("TF_CONFIG", "{cluster")
    with pytest.raises(ValueError, match="not JSON"):
        distribute.cluster_spec()
    config = {"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    with pytest.raises(ValueError, match="index 2 is outside"):
        distribute.cluster_spec()
    config["task"] = {"type": "chief", "index": 0}
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    with pytest.raises(ValueError, match="'chief' is not in its cluster"):
        distribute.cluster_spec()
    config["task"] = {"type": "worker", "index": 1}
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    assert distribute.cluster_spec() == (config["cluster"], "worker", 1)


def test_local_cluster_configs():
    configs = [json.loads(c) for c in cluster.tf_configs(3)]
    addresses = configs[0]["cluster"]["worker"]
    assert len(set(addresses)) == 3 and all(a.startswith("127.0.0.1:") for a in addresses)
    assert [c["task"] for c in configs] == [{"type": "worker", "index": i} for i in range(3)]
    assert all(c["cluster"] == configs[0]["cluster"] for c in configs)


def test_loop_choice():
    assert tfpose_loop.choose_loop("auto", "default") == "fit"
    assert tfpose_loop.choose_loop("auto", "mirrored") == "fit"
    assert tfpose_loop.choose_loop("auto", "multi_worker") == "custom"
    assert tfpose_loop.choose_loop("auto", "default", backup_every_steps=10) == "custom"
    assert tfpose_loop.choose_loop("custom", "default") == "custom"
    with pytest.raises(ValueError, match="20585"):
        tfpose_loop.choose_loop("fit", "multi_worker")
    with pytest.raises(ValueError, match="epoch starts"):
        tfpose_loop.choose_loop("fit", "default", backup_every_steps=10)


def test_single_process_is_chief_and_writes_the_run(tmp_path):
    strategy = distribute.make_strategy("default")
    write_dir = distribute.WriteDir(str(tmp_path / "run"), strategy)
    assert distribute.is_chief(strategy) and write_dir.path == str(tmp_path / "run")
    write_dir.cleanup()
    assert (tmp_path / "run").is_dir()  # the chief's directory stays


def test_synchronize_batch_norm_reaches_nested_layers():
    from tfpose.models import UGCN

    model = UGCN(num_frames=16, down_channels=[4] * 9, merge_channels=4)
    norms = [layer for layer in model._flatten_layers(include_self=False)
             if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and not any(n.synchronized for n in norms)
    assert distribute.synchronize_batch_norm(model) == len(norms)
    assert all(n.synchronized for n in norms)


# Training UGCN too would double the time; its float32 regressor is
# checked, and the graph code is shared.
@pytest.mark.parametrize("name, kwargs, fit", [
    ("ugcn", dict(num_frames=16, down_channels=[4, 4, 4, 8, 8, 8, 8, 8, 8], merge_channels=4),
     False),
    ("dgnet", dict(num_frames=4, channels=8, num_blocks=1), True),
])
def test_mixed_precision_trains_with_float32_loss(name, kwargs, fit):
    sequences = sources.load_sequences("synthetic", "train", synthetic_sequences=4,
                                       synthetic_frames=64, num_cameras=1)
    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = runner.build_model(name, kwargs, dict(weight=1.0, intervals=[1, 2]), 3e-3)
        make_train, _, steps = runner.train_datasets(
            sequences, [], num_frames=kwargs["num_frames"], batch_size=8, stride=4, seed=0,
            flip=True, noise_std=0.0, intrinsics=protocols.needs_intrinsics(model))
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        outputs = model.output if isinstance(model.output, dict) else {"": model.output}
        assert {o.dtype for o in outputs.values()} == {"float32"}
        assert {v.dtype for v in model.weights} == {"float32"}
        if not fit:
            return
        history = model.fit(runner.match_targets(make_train(), model), epochs=4,
                            steps_per_epoch=steps, verbose=0, shuffle=False).history
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert np.isfinite(history["loss"]).all()
    assert history["loss"][-1] < history["loss"][0]


def test_auto_precision_reads_the_cpu_flags(tmp_path, monkeypatch):
    zen4 = tmp_path / "zen4"
    zen4.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 fma\n")
    avx2 = tmp_path / "avx2"
    avx2.write_text("processor\t: 0\nflags\t\t: fpu sse avx avx2 fma\n")
    assert distribute.cpu_has_native_bfloat16(str(zen4))
    assert not distribute.cpu_has_native_bfloat16(str(avx2))
    assert not distribute.cpu_has_native_bfloat16(str(tmp_path / "missing"))
    read = distribute.cpu_has_native_bfloat16
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    for path, expected in ((zen4, "mixed_bfloat16"), (avx2, "float32")):
        monkeypatch.setattr(distribute, "cpu_has_native_bfloat16", lambda p=str(path): read(p))
        assert distribute.auto_precision() == expected
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    assert distribute.auto_precision() == "mixed_float16"


def test_emulated_bfloat16_is_warned_about(monkeypatch, caplog):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    for native in (True, False):
        monkeypatch.setattr(distribute, "cpu_has_native_bfloat16", lambda: native)
        caplog.clear()
        assert distribute.warn_if_emulated_bfloat16() is not native
        assert ("AVX512-BF16" in caplog.text) is not native
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    assert not distribute.warn_if_emulated_bfloat16()
