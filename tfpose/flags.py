"""Command-line flags: the one place where defaults live.

Scripts call `define_*_flags()` before `app.run`; library code never reads
flags. A flagfile (`--flagfile=configs/<name>.cfg`) lists only the values
that differ from these defaults.
"""

import sys

from absl import flags

from tfpose import camera, fileio
from tfpose.data.sources import DATASETS
from tfpose.inference import protocols
from tfpose.models import MODELS, dgnet, ugcn
from tfpose.training import distribute, runner, schedules


def define_data_flags():
    """Flags that choose and shape the data."""
    flags.DEFINE_enum("dataset", "synthetic", DATASETS,
                      "synthetic: procedural motion made in code; hdm05: ASF/AMC "
                      "motion capture through virtual cameras; h36m: VideoPose3D's "
                      "Human3.6M files; mocap: your own folder of BVH or ASF/AMC takes "
                      "through virtual cameras (docs/DATA.md).")
    flags.DEFINE_string("data_dir", None,
                        "hdm05: the folder with asf/, train/, test/. h36m: the "
                        "folder with data_3d_h36m.npz. mocap: the folder of takes.")
    flags.DEFINE_string("h36m_2d", None,
                        "h36m: a data_2d_h36m_<detector>.npz with 2D detections; "
                        "unset: ground-truth 2D projected through the cameras.")
    flags.DEFINE_string("mocap_mapping", None,
                        "mocap: the joint mapping, a built-in name (asf, bvh, mixamo) or a "
                        "JSON file; unset: the folder's splits.json, else bvh for .bvh "
                        "takes and asf for .amc takes.")
    flags.DEFINE_list("train_glob", None,
                      "mocap: globs of the training takes, relative to --data_dir; "
                      "unset: the folder's splits.json.")
    flags.DEFINE_list("test_glob", None,
                      "mocap: globs of the test takes, relative to --data_dir; unset: the "
                      "folder's splits.json.")
    flags.DEFINE_float("fps", 50.0, "Frame rate HDM05 and mocap are resampled to.",
                      lower_bound=1.0)
    flags.DEFINE_integer("num_cameras", 4,
                         "Virtual cameras per sequence (synthetic, hdm05, mocap).", lower_bound=1)
    flags.DEFINE_integer("camera_seed", 0, "Seed of the virtual cameras.")
    flags.DEFINE_integer("synthetic_sequences", 40,
                         "Training sequences of the synthetic dataset.", lower_bound=1)
    flags.DEFINE_integer("synthetic_frames", 400,
                         "Frames per synthetic sequence.", lower_bound=1)
    flags.DEFINE_integer("num_frames", 96, "Frames per input window (T).", lower_bound=1)
    flags.DEFINE_integer("stride", 1, "Frames between training windows.", lower_bound=1)
    flags.DEFINE_integer("batch_size", 256,
                         "Global batch size, split over all replicas of all workers.",
                         lower_bound=1)
    flags.DEFINE_bool("flip", True, "Horizontal flip augmentation in training.")
    flags.DEFINE_float("noise_std", 0.0,
                       "Gaussian noise on training 2D input, normalised units.",
                       lower_bound=0.0)
    flags.DEFINE_integer("seed", 0, "Seed of weights, shuffling and augmentation.")
    flags.DEFINE_enum("training_cameras", "auto", TRAINING_CAMERAS,
                      "fresh: every training window is seen through its own virtual camera, "
                      "drawn in the input pipeline (synthetic, hdm05); fixed: the "
                      "--num_cameras seeded views of each take; auto: fresh where the "
                      "dataset has virtual cameras, else fixed. Validation and test always "
                      "use fixed seeded views.")
    # Unset: tfpose.camera.VirtualCameras' own value (today's fixed-view ranges).
    flags.DEFINE_list("camera_distance", None, "Fresh cameras: min,max horizontal distance "
                      "to the window's mean hip, metres.")
    flags.DEFINE_list("camera_height", None, "Fresh cameras: min,max height above the "
                      "ground, metres.")
    flags.DEFINE_list("camera_azimuth", None, "Fresh cameras: min,max azimuth, degrees.")
    flags.DEFINE_list("camera_focal_length", None, "Fresh cameras: min,max focal length, "
                      "pixels.")
    flags.DEFINE_list("camera_image_size", None, "Fresh cameras: width,height in pixels.")
    flags.DEFINE_float("camera_principal_jitter", None, "Fresh cameras: maximum principal-"
                       "point offset from the image centre, pixels.", lower_bound=0.0)
    flags.DEFINE_float("camera_roll", None, "Fresh cameras: maximum roll, degrees.",
                       lower_bound=0.0)
    flags.DEFINE_float("camera_target_jitter", None, "Fresh cameras: the point looked at "
                       "lies within this many metres (horizontally) of the window's mean hip, "
                       "so subjects are not always centred.", lower_bound=0.0)
    flags.DEFINE_float("body_scale", 0.0, "Fresh cameras: scale each training window's body "
                       "by a factor uniform in 1 +- this.", lower_bound=0.0, upper_bound=0.5)
    flags.DEFINE_float("bone_scale", 0.0, "Fresh cameras: scale each bone (left and right "
                       "alike) by a factor uniform in 1 +- this, per window.",
                       lower_bound=0.0, upper_bound=0.5)


TRAINING_CAMERAS = ("auto", "fresh", "fixed")


def training_cameras(flag_values=flags.FLAGS):
    """The `tfpose.camera.VirtualCameras` to draw training windows' cameras
    from, or `None` for the fixed views."""
    choice = flag_values.training_cameras
    if choice == "auto":
        choice = "fixed" if flag_values.dataset == "h36m" else "fresh"
    if choice == "fixed":
        return None
    if flag_values.dataset == "h36m":
        raise flags.ValidationError(
            "--training_cameras=fresh needs world-frame motion without real cameras "
            "(synthetic, hdm05); Human3.6M trains on its own four cameras.")
    ranges = {}
    for name in ("distance", "height", "azimuth", "focal_length", "image_size"):
        value = flag_values[f"camera_{name}"].value
        if value is not None:
            ranges[name] = tuple(float(v) for v in value)
    for name in ("principal_jitter", "roll", "target_jitter"):
        value = flag_values[f"camera_{name}"].value
        if value is not None:
            ranges[name] = value
    return camera.VirtualCameras(**ranges)


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
        mocap_mapping=flag_values.mocap_mapping,
        train_glob=flag_values.train_glob,
        test_glob=flag_values.test_glob,
    )


def define_model_flags():
    """Flags of the model and its loss."""
    flags.DEFINE_enum("model", "ugcn", sorted(MODELS), "Which lifter.")
    # UGCN (Wang et al. 2020). Defaults are the paper's where it gives them.
    flags.DEFINE_list("ugcn_down_channels", [str(c) for c in ugcn.DOWN_CHANNELS],
                      "Widths of UGCN's 9 downsampling blocks (the paper gives none).")
    flags.DEFINE_integer("ugcn_merge_channels", 64, "Width of each scale in the merging stage.",
                         lower_bound=1)
    flags.DEFINE_integer("ugcn_num_pairs", 4, "Down/up-sampling pairs (Table 3 ablation).",
                         lower_bound=0, upper_bound=4)
    flags.DEFINE_bool("ugcn_merge", True, "Use the merging stage (Table 4 ablation).")
    flags.DEFINE_bool("ugcn_spatial_graph", True,
                      "Use the skeleton graph; off = joints independent (Table 4 ablation).")
    # DG-Net (Zhang et al. 2021). Defaults are the paper's.
    flags.DEFINE_integer("dgnet_channels", 128, "DG-Net feature width.", lower_bound=1)
    flags.DEFINE_integer("dgnet_blocks", 5, "DG-Conv blocks (Table IX ablation).", lower_bound=1)
    flags.DEFINE_integer("dgnet_k_spatial", 3, "Neighbours in DSG (Table VI).", lower_bound=1)
    flags.DEFINE_integer("dgnet_k_temporal", 4, "Neighbours in DTG (Table VI).", lower_bound=1)
    flags.DEFINE_enum("dgnet_graph", "dynamic", dgnet.GRAPH_VARIANTS,
                      "Graph style of DSG and DTG (Table VII ablation).")
    flags.DEFINE_enum("dgnet_weighting", "fc", dgnet.WEIGHTINGS,
                      "Edge weighting of DSG and DTG: fully connected, embedded Gaussian or "
                      "none (Table VII ablation).")
    flags.DEFINE_list("dgnet_spatial_unit", ["fsg", "dsg"],
                      "Graph convolutions of the dynamical spatial unit (Table VIII).")
    flags.DEFINE_list("dgnet_temporal_unit", ["ftg", "dtg", "ftg"],
                      "Graph convolutions of the dynamical temporal unit, may be empty "
                      "(Table VIII).")
    flags.DEFINE_bool("dgnet_balanced", False,
                      "Balanced coordinate output: the model also takes the camera intrinsics "
                      "(Table XI).")
    flags.DEFINE_bool("dgnet_non_local", True, "Spatial non-local blocks (Table XI).")
    flags.DEFINE_bool("dgnet_multi_level", True,
                      "Block-level heads and their losses (Eq. 17; Table XI).")
    flags.DEFINE_float("dgnet_block_weight", 0.1, "lambda of the block-level losses (Eq. 17).",
                       lower_bound=0.0)
    # TCN (Pavllo et al. 2019, VideoPose3D), the baseline.
    flags.DEFINE_list("tcn_filter_widths", ["3", "3", "3", "3", "3"],
                      "TCN temporal kernel widths; receptive field = their product "
                      "(3,3,3,3,3: 243 frames; 3,3,3: 27). --num_frames must be at least it.")
    flags.DEFINE_integer("tcn_channels", 1024, "TCN feature width.", lower_bound=1)
    flags.DEFINE_integer("temporal_kernel", 5, "Temporal kernel size.", lower_bound=1)
    flags.DEFINE_float("dropout", 0.5, "Dropout rate.", lower_bound=0.0, upper_bound=1.0)
    flags.DEFINE_float("weight_decay", 1e-5, "Weight decay on convolution kernels.",
                       lower_bound=0.0)
    # Loss (Eq. 5-6).
    flags.DEFINE_float("motion_weight", 1.0, "lambda of the motion loss; 0 = position only.",
                       lower_bound=0.0)
    flags.DEFINE_list("motion_intervals", ["8", "12", "16", "24"], "Motion intervals tau.")
    flags.DEFINE_enum("motion_operator", "cross", ["cross", "inner", "subtract"],
                      "Pairwise motion encoding operator.")
    flags.DEFINE_enum("position_loss", "mse", ["mse", "mpjpe"],
                      "Position term: squared joint error (Eq. 5) or MPJPE.")


def define_training_flags():
    """Flags of the optimiser, schedule, run directory and evaluation."""
    flags.DEFINE_string("model_dir", None, "Run directory: checkpoints, logs, flags.cfg.")
    flags.DEFINE_string("init_from", None,
                        "Fine-tune: start from the weights of this .keras model (a run's "
                        "model.keras); the flags must build the same architecture.")
    flags.DEFINE_integer("epochs", 10, "Training epochs.", lower_bound=1)
    flags.DEFINE_integer("steps_per_epoch", 0,
                         "Batches per epoch; 0 = one pass over the training windows.",
                         lower_bound=0)
    flags.DEFINE_float("learning_rate", 1e-3, "Initial Adam learning rate.", lower_bound=0.0)
    flags.DEFINE_enum("lr_schedule", "constant", schedules.SCHEDULES,
                      "piecewise: times lr_decay_rate at each of lr_decay_epochs; "
                      "exponential: times lr_decay_rate every epoch; cosine: linear warm-up "
                      "over lr_warmup_steps, then cosine decay to 0 at the last epoch's end.")
    flags.DEFINE_integer("lr_warmup_steps", 0, "Warm-up steps of the cosine schedule.",
                         lower_bound=0)
    flags.DEFINE_list("lr_decay_epochs", [], "Epochs where the piecewise schedule decays.")
    flags.DEFINE_float("lr_decay_rate", 0.1, "Decay factor of the schedule.", lower_bound=0.0)
    flags.DEFINE_bool("validate", True, "Validate on test-split windows after every epoch.")
    flags.DEFINE_integer("validation_steps", 0, "Validation batches; 0 = all.", lower_bound=0)
    flags.DEFINE_integer("backup_every_steps", 0,
                         "Also back up for resumption every N steps (custom loop); 0 = after "
                         "every epoch only.", lower_bound=0)
    flags.DEFINE_enum("strategy", "default", distribute.STRATEGIES,
                      "default: one device; mirrored: MirroredStrategy over the local GPUs "
                      "(logical CPU devices where there is none); multi_worker: "
                      "MultiWorkerMirroredStrategy over the cluster in TF_CONFIG.")
    flags.DEFINE_integer("num_devices", 0,
                         "mirrored: local GPUs to use, 0 = all; without GPUs, logical CPU "
                         "devices to split the CPU into, 0 = 2.", lower_bound=0)
    flags.DEFINE_enum("training_loop", "auto", runner.LOOPS,
                      "fit: Keras model.fit; custom: the strategy.run loop of tfpose.training.loop "
                      "(same losses, metrics, schedule, callbacks); auto: fit, except under "
                      "multi_worker or with --backup_every_steps.")
    flags.DEFINE_bool("sync_batch_norm", True,
                      "With several replicas, batch-norm statistics over the global batch, "
                      "so results do not depend on the device count.")
    flags.DEFINE_enum("precision", "float32", PRECISIONS,
                      "Compute dtype policy. mixed_float16: GPUs with tensor cores (dynamic "
                      "loss scaling); mixed_bfloat16: CPUs with AVX512-BF16/AMX and recent "
                      "GPUs (elsewhere it is emulated: several times slower than float32); "
                      "auto: mixed_float16 on a GPU, mixed_bfloat16 on a CPU with native "
                      "bfloat16, else float32. Variables, loss and outputs stay float32.")
    flags.DEFINE_bool("mixed_precision", False, "Shorthand for --precision=mixed_float16.")
    flags.DEFINE_bool("evaluate", True,
                      "After training, evaluate whole test sequences (evaluate.py's protocol).")
    flags.DEFINE_integer("eval_step", 5, "Sliding-window step of sequence evaluation.",
                         lower_bound=1)
    flags.DEFINE_bool("eval_flip", True, "Flip test-time augmentation in evaluation.")
    flags.DEFINE_enum("eval_protocol", "model", ("model",) + protocols.PROTOCOLS,
                      "How sequences are lifted (tfpose.inference.protocols): "
                      "model = the model's own "
                      "(UGCN average, DG-Net center, TCN convolutional); tiled = the fast mode, "
                      "windows every --eval_step frames keeping their central --eval_step.")
    flags.DEFINE_integer("lookahead", 0,
                         "--eval_protocol=causal: future frames each pose may see (0 = strictly "
                         "causal, live); less than the model's window (a TCN's receptive "
                         "field). export.py: also the lookahead of the stream signature.",
                         lower_bound=0)
    flags.DEFINE_integer("verbose", 1, "Keras fit verbosity: 0 silent, 1 progress bar, "
                         "2 one line per epoch. Debugging lines (the final weights' SHA-256): "
                         "absl's --verbosity=1.", lower_bound=0, upper_bound=2)


PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")


def precision_policy(flag_values=flags.FLAGS):
    """The Keras dtype policy the flags ask for."""
    if flag_values.mixed_precision:
        if flag_values.precision not in ("float32", "mixed_float16"):
            raise flags.ValidationError(
                f"--mixed_precision means mixed_float16; it contradicts "
                f"--precision={flag_values.precision}.")
        return "mixed_float16"
    if flag_values.precision == "auto":
        return distribute.auto_precision()
    return flag_values.precision


def model_kwargs(flag_values=flags.FLAGS):
    """Constructor arguments of the chosen model from flags."""
    if flag_values.model == "ugcn":
        return dict(
            num_frames=flag_values.num_frames,
            down_channels=[int(c) for c in flag_values.ugcn_down_channels],
            merge_channels=flag_values.ugcn_merge_channels,
            num_pairs=flag_values.ugcn_num_pairs,
            merge=flag_values.ugcn_merge,
            spatial_graph=flag_values.ugcn_spatial_graph,
            temporal_kernel=flag_values.temporal_kernel,
            dropout=flag_values.dropout,
            weight_decay=flag_values.weight_decay,
        )
    if flag_values.model == "dgnet":
        return dict(
            num_frames=flag_values.num_frames,
            channels=flag_values.dgnet_channels,
            num_blocks=flag_values.dgnet_blocks,
            k_spatial=flag_values.dgnet_k_spatial,
            k_temporal=flag_values.dgnet_k_temporal,
            graph=flag_values.dgnet_graph,
            weighting=flag_values.dgnet_weighting,
            spatial_unit=list(flag_values.dgnet_spatial_unit),
            temporal_unit=list(flag_values.dgnet_temporal_unit),
            non_local=flag_values.dgnet_non_local,
            multi_level=flag_values.dgnet_multi_level,
            balanced=flag_values.dgnet_balanced,
            dropout=flag_values.dropout,
            weight_decay=flag_values.weight_decay,
        )
    if flag_values.model == "tcn":
        return dict(
            filter_widths=[int(w) for w in flag_values.tcn_filter_widths],
            channels=flag_values.tcn_channels,
            num_frames=flag_values.num_frames,
            dropout=flag_values.dropout,
            weight_decay=flag_values.weight_decay,
        )
    raise ValueError(f"No flags for model {flag_values.model!r}.")


def loss_kwargs(flag_values=flags.FLAGS):
    return dict(
        weight=flag_values.motion_weight,
        intervals=[int(t) for t in flag_values.motion_intervals],
        operator=flag_values.motion_operator,
        position=flag_values.position_loss,
    )


def write_flagfile(path, modules=("tfpose.flags",), flag_values=flags.FLAGS):
    """Writes the resolved flags of `modules` (and the main script) as a flagfile.

    `python <script> --flagfile=<path>` repeats the run. Written to a
    temporary name first, so a crash never leaves half a file.
    """
    names = set()
    for module in list(modules) + [sys.argv[0]]:
        names.update(f.name for f in flag_values.get_flags_for_module(module))
    lines = []
    for name in sorted(names):
        flag = flag_values[name]
        if name == "flagfile" or flag.value is None:
            continue
        lines.append(flag.serialize())
    fileio.write_text(path, "\n".join(lines) + "\n")
