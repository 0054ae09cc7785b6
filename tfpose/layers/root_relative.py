"""Root-relative output: every joint minus the root joint."""

import keras

from tfpose import skeleton as skeleton_lib


@keras.saving.register_keras_serializable(package="tfpose")
class RootRelative(keras.layers.Layer):
    """`poses - poses[..., root, :]` (no weights).

    A head whose joints share one kernel (a graph convolution) cannot put
    its root exactly at zero, and the pose metrics measure every joint
    from the predicted root: the root's error then shifts the whole pose.
    Subtracting the predicted root makes the output root-relative by
    construction, as the targets are.

    Args:
        root: index of the root joint.

    Call arguments:
        poses: `[..., J, 3]`.

    Returns:
        `[..., J, 3]` with the root at zero.
    """

    def __init__(self, root=0, **kwargs):
        super().__init__(**kwargs)
        self.root = int(root)

    def call(self, poses):
        return skeleton_lib.root_relative(poses, self.root)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["root"] = self.root
        return config
