"""SavedModel export for TF Serving: whole sequences in, 3D poses out.

Signatures of an exported lifter (`keypoints_2d` is float32 in normalised
screen coordinates, `poses_3d` float32 metres, root-relative, camera frame):

- `serving_default`: `keypoints_2d [B, T, 17, 2]` -> `poses_3d [B, T, 17, 3]`,
  any `B >= 1` and `T >= 1`: the model's sequence protocol (windows, flip
  augmentation, averaging or centre frames) runs inside the graph
  (`tfpose.inference.protocols.lift_sequences`), so a client sends whole sequences.
- `serve_tflite`: the same with the batch fixed to 1, the signature the
  `.tflite` files are converted from (the number of frames stays dynamic).
- `window`: the bare network on one window, `[1, num_frames, 17, 2]`,
  fixed shape (for accelerators and calibration that need static shapes).
- `stream` (exports with a stream lookahead): one live frame per call,
  `(state [1, T + 1, 17, 2], keypoints_2d [1, 17, 2], intrinsics [1, 4])`
  -> `poses_3d`, `poses_3d_camera` `[1, 17, 3]`, `root_position` `[1, 3]`,
  `frame` `[1]` int32 and the next `state` (`tfpose.inference.streaming`: the causal
  protocol; the caller carries the state, zeros to start; the pose is that
  of frame `frame`, `lookahead` frames back, none while `frame < 0`;
  `intrinsics`, normalised, place the camera-space outputs). Its TFLite
  conversions are `stream.tflite` (fp32) and, in releases,
  `stream_int8.tflite` (dynamic-range int8 weights: about half the time
  per frame on a CPU core, docs/BENCHMARKS.md).

Models with DG-Net's balanced output take a second input, `intrinsics`
`[B, 4]`, in every signature.
"""

import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from tfpose.export import signatures as signatures_lib
from tfpose.inference import protocols

SERVING = "serving_default"
TFLITE = "serve_tflite"
WINDOW = "window"
STREAM = "stream"
# The stream signature's TFLite files by quantisation (the fp32 one first):
# only quantisations that need no calibration.
STREAM_TFLITE_NAMES = {"fp32": "stream.tflite", "fp16": "stream_fp16.tflite",
                       "dynamic_int8": "stream_int8.tflite"}
STREAM_QUANTIZATIONS = tuple(STREAM_TFLITE_NAMES)
SIGNATURES = (SERVING, TFLITE, WINDOW, STREAM)


def build_module(model, *, num_frames, protocol, step=5, flip=True, num_joints=17,
                 lookahead=0, stream_lookahead=None, margin=0):
    """A `tf.Module` holding the model's variables, and its signatures
    `{name: tf.function}`, ready for `tf.saved_model.save`.

    `lookahead`: of the `"causal"` protocol; `margin`: of `"average"`;
    `stream_lookahead`: `None`, or the lookahead of a `stream` signature.

    (Not `keras.export.ExportArchive`: with Keras 3.15 it saved every
    variable twice, doubling the SavedModel's size.)
    """
    with_intrinsics = protocols.needs_intrinsics(model)

    def sequences(keypoints_2d, intrinsics=None):
        poses = protocols.lift_sequences(model, keypoints_2d, intrinsics, num_frames=num_frames,
                                         protocol=protocol, step=step, flip=flip,
                                         lookahead=lookahead, margin=margin)
        return {"poses_3d": poses}

    module = signatures_lib.variables_module(model)
    signatures = {
        name: signatures_lib.signature(sequences, batch=batch, frames=None,
                                       num_joints=num_joints, with_intrinsics=with_intrinsics)
        for name, batch in ((SERVING, None), (TFLITE, 1))}
    signatures[WINDOW] = signatures_lib.window_signature(model, batch=1, frames=num_frames,
                                                         num_joints=num_joints)
    for name, fn in signatures.items():
        setattr(module, name, fn)
    if stream_lookahead is not None:
        from tfpose.inference import streaming

        signatures[STREAM] = streaming.step_function(
            model, protocols.window_frames(model, num_frames), stream_lookahead, flip)
        setattr(module, STREAM, signatures[STREAM])
    return module, signatures


def write(model, directory, **protocol):
    """Writes the SavedModel of `model` to `directory` (see `build_module`)."""
    module, signatures = build_module(model, **protocol)
    tf.saved_model.save(module, directory, signatures=signatures)


def export(model, export_dir, *, num_frames, protocol, step=5, flip=True, tflite_files=None,
           representative_data=None, extra_files=None, overwrite=False, check_tflite=None,
           lookahead=0, stream_lookahead=None, stream_tflite=None, check_stream=None,
           margin=0):
    """Writes the SavedModel, its TFLite conversions and extra files to
    `export_dir`, all or nothing: everything goes to a temporary directory
    beside it, renamed into place at the end.

    Args:
        model: the inference model.
        export_dir: `<base>/<model_name>/<version>`.
        num_frames, protocol, step, flip, lookahead, margin: the sequence
            protocol (`tfpose.inference.protocols`).
        stream_lookahead: `None`, or add the `stream` signature with this
            lookahead.
        stream_tflite: `None`, the file name of its fp32 TFLite conversion
            (e.g. `"stream.tflite"`), or `{file name: quantisation}`, each
            one of `STREAM_QUANTIZATIONS`.
        tflite_files: `{file name: quantisation}` converted from the
            `serve_tflite` signature (see `tfpose.export.tflite`).
        representative_data: calibration inputs for `"int8"` and
            `"int16x8"` (`tfpose.export.calibration`).
        extra_files: `{name: bytes or str}`, or a callable taking
            `{file name: (quantisation, size in bytes)}` of the TFLite
            files (and, with `check_tflite`, `{file name: its result}`)
            and returning such a dict (e.g. a model card).
        overwrite: replace an existing `export_dir`.
        check_tflite: optional callable `(file name, flatbuffer) -> result`
            run on every converted file before anything is written (e.g.
            its accuracy, for the model card).
        check_stream: the same for the stream files; both callables'
            results reach `extra_files` in one dict.

    Returns:
        `{file name: (quantisation, size in bytes)}` of the TFLite files.
    """
    from tfpose.export import tflite  # the converter is only needed here

    stream_files = stream_tflite_files(stream_tflite)
    if stream_files and stream_lookahead is None:
        raise ValueError("`stream_tflite` needs `stream_lookahead`.")
    export_dir = os.path.abspath(os.fspath(export_dir))
    if os.path.exists(export_dir) and not overwrite:
        raise FileExistsError(f"{export_dir} exists; choose a new version or pass overwrite.")
    parent = os.path.dirname(export_dir)
    os.makedirs(parent, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=f".{os.path.basename(export_dir)}.", dir=parent)
    try:
        write(model, temporary, num_frames=num_frames, protocol=protocol, step=step, flip=flip,
              lookahead=lookahead, stream_lookahead=stream_lookahead, margin=margin)
        converted, checks = {}, {}
        for name, quantization in stream_files.items():
            flatbuffer = tflite.convert_saved_model(temporary, STREAM, quantization)
            _smoke_run_stream(flatbuffer, quantization)
            with open(os.path.join(temporary, name), "wb") as f:
                f.write(flatbuffer)
            converted[name] = (quantization, len(flatbuffer))
            if check_stream is not None:
                checks[name] = check_stream(name, flatbuffer)
        for name, quantization in (tflite_files or {}).items():
            flatbuffer = tflite.convert_saved_model(temporary, TFLITE, quantization,
                                                    representative_data)
            _smoke_run(flatbuffer, quantization, with_intrinsics=protocols.needs_intrinsics(model))
            with open(os.path.join(temporary, name), "wb") as f:
                f.write(flatbuffer)
            converted[name] = (quantization, len(flatbuffer))
            if check_tflite is not None:
                checks[name] = check_tflite(name, flatbuffer)
        if callable(extra_files):
            extra_files = (extra_files(converted, checks) if check_tflite or check_stream
                           else extra_files(converted))
        for name, content in (extra_files or {}).items():
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(os.path.join(temporary, name), mode) as f:
                f.write(content)
        os.chmod(temporary, 0o755)
        if os.path.exists(export_dir):
            shutil.rmtree(export_dir)
        os.replace(temporary, export_dir)
    finally:
        if os.path.exists(temporary):
            shutil.rmtree(temporary)
    return converted


def _smoke_run(flatbuffer, quantization, with_intrinsics):
    """Runs a converted file once: a conversion can succeed and still hold
    an op the interpreter has no kernel for at that precision."""
    from tfpose.export import tflite

    x = np.zeros((1, 5, 17, 2), np.float32)
    k = np.array([[2.0, 2.0, 0.0, 0.0]], np.float32) if with_intrinsics else None
    try:
        tflite.run(flatbuffer, x, intrinsics=k)
    except RuntimeError as error:
        raise RuntimeError(f"The {quantization} TFLite model converts but does not run on "
                           f"ai-edge-litert ({str(error).strip()}); leave {quantization} out.") \
            from None


def stream_tflite_files(stream_tflite):
    """`{file name: quantisation}` of `export`'s `stream_tflite` argument."""
    if not stream_tflite:
        return {}
    files = ({stream_tflite: "fp32"} if isinstance(stream_tflite, (str, os.PathLike))
             else dict(stream_tflite))
    unknown = sorted({q for q in files.values() if q not in STREAM_QUANTIZATIONS})
    if unknown:
        raise ValueError(f"Unknown stream quantization {unknown}; the stream file takes one "
                         f"of {STREAM_QUANTIZATIONS} (no calibrated integer modes: their "
                         "ranges would have to be calibrated on stream states).")
    return files


def _smoke_run_stream(flatbuffer, quantization="fp32"):
    """`_smoke_run` for a stream file: one frame through `StreamingLifter`."""
    from tfpose.inference import streaming

    try:
        with tempfile.NamedTemporaryFile(suffix=".tflite") as f:
            f.write(flatbuffer)
            f.flush()
            streaming.StreamingLifter(f.name).push(np.zeros((17, 2), np.float32))
    except RuntimeError as error:
        raise RuntimeError(f"The {quantization} stream TFLite model converts but does not "
                           f"run on ai-edge-litert ({str(error).strip()}).") from None


def load_signature(export_dir, name=SERVING):
    """The signature `name` of a SavedModel, or a clear error."""
    export_dir = os.fspath(export_dir)
    if not os.path.exists(os.path.join(export_dir, "saved_model.pb")):
        raise ValueError(f"{export_dir} is not a SavedModel directory (no saved_model.pb).")
    loaded = tf.saved_model.load(export_dir)
    if name not in loaded.signatures:
        raise ValueError(f"{export_dir} has no signature {name!r}; it has "
                         f"{sorted(loaded.signatures)}.")
    signature = loaded.signatures[name]
    signature._loaded = loaded  # keep the variables alive with the function
    return signature
