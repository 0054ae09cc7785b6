"""Command-line flags: the one place where defaults live.

Scripts call `define_*_flags()` before `app.run`; library code never reads
flags. A flagfile (`--flagfile=configs/<name>.cfg`) lists only the values
that differ from these defaults.
"""

from absl import flags

from tfpose.data.sources import DATASETS


def define_data_flags():
    """Flags that choose and shape the data."""
    flags.DEFINE_enum("dataset", "synthetic", DATASETS,
                      "synthetic: procedural motion made in code; hdm05: ASF/AMC "
                      "motion capture through virtual cameras; h36m: VideoPose3D's "
                      "Human3.6M files.")
    flags.DEFINE_string("data_dir", None,
                        "hdm05: the folder with asf/, train/, test/. h36m: the "
                        "folder with data_3d_h36m.npz.")
    flags.DEFINE_string("h36m_2d", None,
                        "h36m: a data_2d_h36m_<detector>.npz with 2D detections; "
                        "unset: ground-truth 2D projected through the cameras.")
    flags.DEFINE_float("fps", 50.0, "Frame rate HDM05 is resampled to.", lower_bound=1.0)
    flags.DEFINE_integer("num_cameras", 4,
                         "Virtual cameras per sequence (synthetic, hdm05).", lower_bound=1)
    flags.DEFINE_integer("camera_seed", 0, "Seed of the virtual cameras.")
    flags.DEFINE_integer("synthetic_sequences", 40,
                         "Training sequences of the synthetic dataset.", lower_bound=1)
    flags.DEFINE_integer("synthetic_frames", 400,
                         "Frames per synthetic sequence.", lower_bound=1)
    flags.DEFINE_integer("num_frames", 96, "Frames per input window (T).", lower_bound=1)
    flags.DEFINE_integer("stride", 1, "Frames between training windows.", lower_bound=1)
    flags.DEFINE_integer("batch_size", 256, "Global batch size.", lower_bound=1)
    flags.DEFINE_bool("flip", True, "Horizontal flip augmentation in training.")
    flags.DEFINE_float("noise_std", 0.0,
                       "Gaussian noise on training 2D input, normalised units.",
                       lower_bound=0.0)
    flags.DEFINE_integer("seed", 0, "Seed of weights, shuffling and augmentation.")


def data_kwargs(flag_values=flags.FLAGS):
    """`tfpose.data.sources.load_sequences` keyword arguments from flags."""
    return dict(
        data_dir=flag_values.data_dir,
        h36m_2d=flag_values.h36m_2d,
        fps=flag_values.fps,
        num_cameras=flag_values.num_cameras,
        camera_seed=flag_values.camera_seed,
        synthetic_sequences=flag_values.synthetic_sequences,
        synthetic_frames=flag_values.synthetic_frames,
    )
