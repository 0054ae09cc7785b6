"""Times a lifter's inference on this machine: sequence lifting and window batches.

    python scripts/benchmark.py --flagfile=configs/dgnet_hdm05.cfg
    python scripts/benchmark.py --flagfile=configs/ugcn_hdm05.cfg --output_json=ugcn.json

The model comes from the flagfile's model flags (random weights: timing does
not depend on them) or from --checkpoint. Sequence lifting uses the model's
evaluation protocol (UGCN: windows of --num_frames frames, step --eval_step,
averaged; DG-Net: a window around every frame) with and without flip
augmentation. Reports medians over --repeats runs after warm-up.
"""

import json
import os
import platform

import keras
import tensorflow as tf
from absl import app, flags

from tfpose import benchmark, fileio, runner
from tfpose import flags as tfpose_flags
from tfpose.models import MODELS, inference_model

_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "A .keras model to time instead.")
_SEQUENCE_FRAMES = flags.DEFINE_integer("sequence_frames", 2000,
                                        "Length of the lifted sequence.", lower_bound=1)
_WINDOW_BATCH = flags.DEFINE_integer("window_batch", 64, "Windows per batch call.",
                                     lower_bound=1)
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed runs per measurement.", lower_bound=1)
_OUTPUT_JSON = flags.DEFINE_string("output_json", None, "Where to write the results.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    if _CHECKPOINT.value:
        model = keras.models.load_model(_CHECKPOINT.value, compile=False)
    else:
        model = MODELS[FLAGS.model](**tfpose_flags.model_kwargs())
    model = inference_model(model)
    protocol = runner.eval_protocol(FLAGS.model, FLAGS.eval_protocol)
    num_frames = model.receptive_field if protocol == "convolutional" else FLAGS.num_frames
    params = sum(int(w.numpy().size) for w in model.trainable_weights)
    results = {
        "model": FLAGS.model, "parameters": params, "num_frames": FLAGS.num_frames,
        "protocol": protocol, "step": FLAGS.eval_step, "sequence_frames": _SEQUENCE_FRAMES.value,
        "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
        "gpus": len(tf.config.list_physical_devices("GPU")),
        "tensorflow": tf.__version__, "keras": keras.__version__,
    }
    for flip in (True, False):
        results[f"sequence_flip_{flip}".lower()] = benchmark.sequence_lifting(
            model, num_frames, protocol, length=_SEQUENCE_FRAMES.value, flip=flip,
            repeats=_REPEATS.value, step=FLAGS.eval_step)
    results["window_batch"] = benchmark.window_throughput(
        model, FLAGS.num_frames, batch=_WINDOW_BATCH.value, repeats=_REPEATS.value)
    results["window_single"] = benchmark.window_throughput(
        model, FLAGS.num_frames, batch=1, repeats=_REPEATS.value)
    print(json.dumps(results, indent=2))
    if _OUTPUT_JSON.value:
        fileio.write_json(_OUTPUT_JSON.value, results)


if __name__ == "__main__":
    tfpose_flags.define_data_flags()
    tfpose_flags.define_model_flags()
    tfpose_flags.define_training_flags()
    app.run(main)
