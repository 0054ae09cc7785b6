"""SavedModel export for TF Serving: whole sequences in, 3D poses out.

Signatures of an exported lifter (`keypoints_2d` is float32 in normalised
screen coordinates, `poses_3d` float32 metres, root-relative, camera frame):

- `serving_default`: `keypoints_2d [B, T, 17, 2]` -> `poses_3d [B, T, 17, 3]`,
  any `B >= 1` and `T >= 1`: the model's sequence protocol (windows, flip
  augmentation, averaging or centre frames) runs inside the graph
  (`tfpose.inference.lift_sequences`), so a client sends whole sequences.
- `serve_tflite`: the same with the batch fixed to 1, the signature the
  `.tflite` files are converted from (the number of frames stays dynamic).
- `window`: the bare network on one window, `[1, num_frames, 17, 2]`,
  fixed shape (for accelerators and calibration that need static shapes).

Models with DG-Net's balanced output take a second input, `intrinsics`
`[B, 4]`, in every signature.
"""

import os
import shutil
import tempfile

import keras
import tensorflow as tf

from tfpose import inference

SERVING = "serving_default"
TFLITE = "serve_tflite"
WINDOW = "window"
SIGNATURES = (SERVING, TFLITE, WINDOW)


def _specs(batch, frames, num_joints, with_intrinsics):
    specs = [tf.TensorSpec([batch, frames, num_joints, 2], tf.float32, name="keypoints_2d")]
    if with_intrinsics:
        specs.append(tf.TensorSpec([batch, 4], tf.float32, name="intrinsics"))
    return specs


def build_archive(model, *, num_frames, protocol, step=5, flip=True, num_joints=17):
    """A `keras.export.ExportArchive` with the three signatures."""
    with_intrinsics = inference.needs_intrinsics(model)
    archive = keras.export.ExportArchive()
    archive.track(model)

    def sequences(keypoints_2d, intrinsics=None):
        poses = inference.lift_sequences(model, keypoints_2d, intrinsics, num_frames=num_frames,
                                         protocol=protocol, step=step, flip=flip)
        return {"poses_3d": tf.identity(poses, name="poses_3d")}

    def window(keypoints_2d, intrinsics=None):
        inputs = [keypoints_2d, intrinsics] if with_intrinsics else keypoints_2d
        return {"poses_3d": model(inputs, training=False)}

    for name, fn, batch, frames in ((SERVING, sequences, None, None),
                                    (TFLITE, sequences, 1, None),
                                    (WINDOW, window, 1, num_frames)):
        specs = _specs(batch, frames, num_joints, with_intrinsics)
        if with_intrinsics:
            endpoint = (lambda f: lambda keypoints_2d, intrinsics: f(keypoints_2d, intrinsics))(fn)
        else:
            endpoint = (lambda f: lambda keypoints_2d: f(keypoints_2d))(fn)
        archive.add_endpoint(name, endpoint, input_signature=specs)
    return archive


def export(model, export_dir, *, num_frames, protocol, step=5, flip=True, extra_files=None,
           overwrite=False):
    """Writes the SavedModel (and `extra_files`, `{name: bytes or str}`) to
    `export_dir`, all or nothing: everything goes to a temporary directory
    beside it, renamed into place at the end.

    Returns `export_dir`.
    """
    export_dir = os.path.abspath(os.fspath(export_dir))
    if os.path.exists(export_dir) and not overwrite:
        raise FileExistsError(f"{export_dir} exists; choose a new version or pass overwrite.")
    parent = os.path.dirname(export_dir)
    os.makedirs(parent, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=f".{os.path.basename(export_dir)}.", dir=parent)
    try:
        build_archive(model, num_frames=num_frames, protocol=protocol, step=step,
                      flip=flip).write_out(temporary, verbose=False)
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
    return export_dir


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
