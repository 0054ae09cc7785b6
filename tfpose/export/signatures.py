"""Serving functions with named inputs, for SavedModels and TFLite files.

Every exported entry point takes `keypoints_2d` `[batch, frames, J, 2]`
(and `intrinsics` `[batch, 4]` for a model that takes the camera) and
returns `{"poses_3d": ...}`; this module is the one place they are built.
"""

import tensorflow as tf

from tfpose.inference import protocols


def input_specs(batch, frames, num_joints, with_intrinsics):
    specs = [tf.TensorSpec([batch, frames, num_joints, 2], tf.float32, name="keypoints_2d")]
    if with_intrinsics:
        specs.append(tf.TensorSpec([batch, 4], tf.float32, name="intrinsics"))
    return specs


def signature(fn, *, batch, frames, num_joints, with_intrinsics):
    """`fn(keypoints_2d, intrinsics=None) -> dict` as a `tf.function` whose
    inputs are exactly the named tensors (no `intrinsics` argument where
    the model takes none, as serving clients see it)."""
    if with_intrinsics:
        endpoint = lambda keypoints_2d, intrinsics: fn(keypoints_2d, intrinsics)  # noqa: E731
    else:
        endpoint = lambda keypoints_2d: fn(keypoints_2d)  # noqa: E731
    return tf.function(endpoint, autograph=False, input_signature=input_specs(
        batch, frames, num_joints, with_intrinsics))


def window_signature(model, *, batch=1, frames=None, num_joints=17):
    """One model call on a window: `[batch, frames, J, 2] -> poses_3d`."""
    with_intrinsics = protocols.needs_intrinsics(model)

    def window(keypoints_2d, intrinsics=None):
        inputs = [keypoints_2d, intrinsics] if with_intrinsics else keypoints_2d
        return {"poses_3d": model(inputs, training=False)}

    return signature(window, batch=batch, frames=frames, num_joints=num_joints,
                     with_intrinsics=with_intrinsics)


def variables_module(model):
    """A `tf.Module` that tracks the model's variables, for
    `tf.saved_model.save` (which then freezes them for TFLite)."""
    module = tf.Module()
    module.model_variables = [v.value for v in model.variables]
    return module
