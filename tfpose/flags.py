"""Command-line flags.

Scripts call `define_*_flags()` before `app.run`; library code never reads
flags. A model or loss flag left unset passes nothing, so the model's own
default holds: its constructor's argument (the paper's value) or its
class's `LOSS`, so `--model=dgnet` alone builds `DGNet()`. Every other
default lives here. A flagfile (`--flagfile=configs/<name>.cfg`) lists
only the values that differ from these defaults.

Importing this module loads no TensorFlow: the vocabularies of the choices
stay in the modules that define them (models, losses, protocols, ...),
which the `define_*_flags()` and helpers that use them import.
"""

import inspect
import sys

from absl import flags

from tfpose import fileio

_UNSET = "unset: the model's own"


def define_data_flags():
    """Flags that choose and shape the data."""
    from tfpose.data.sources import DATASETS

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
    flags.DEFINE_integer("num_frames", None, "Frames per input window (T), the models' "
                         f"`num_frames`; {_model_defaults('num_frames')}.", lower_bound=1)
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
    flags.DEFINE_float("speed_scale", 0.0, "Fresh cameras: play each training window at a "
                       "rate log-uniform in [1/(1+this), 1+this] times the capture's "
                       "(other tempos of the same motion).", lower_bound=0.0, upper_bound=1.0)


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
    from tfpose import camera

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
    """Flags of the model and its loss: each unset by default, which passes
    nothing, so the model's own value holds (see `model_kwargs`)."""
    from tfpose.layers.dynamic_graph import WEIGHTINGS
    from tfpose.losses import OPERATORS, POSITION_LOSSES
    from tfpose.models import MODELS, DGNet
    from tfpose.models.dgnet import GRAPH_VARIANTS

    def define(kind, name, text, **kwargs):
        getattr(flags, f"DEFINE_{kind}")(name, None, help=f"{text}; {_model_defaults(name)}.",
                                         **kwargs)

    flags.DEFINE_enum("model", "ugcn", sorted(MODELS), "Which lifter.")
    # UGCN (Wang et al. 2020).
    define("list", "ugcn_down_channels",
           "Widths of UGCN's 9 downsampling blocks (the paper gives none)")
    define("integer", "ugcn_merge_channels", "Width of each scale in UGCN's merging stage",
           lower_bound=1)
    define("integer", "ugcn_num_pairs", "UGCN's down/up-sampling pairs (Table 3 ablation)",
           lower_bound=0, upper_bound=4)
    define("bool", "ugcn_merge", "Use UGCN's merging stage (Table 4 ablation)")
    define("bool", "ugcn_spatial_graph",
           "UGCN uses the skeleton graph; off = joints independent (Table 4 ablation)")
    define("bool", "ugcn_joint_embedding",
           "A learned vector per joint after UGCN's first block, so that it can tell left from "
           "right (off: exactly left/right-swap equivariant, the paper's network)")
    define("bool", "ugcn_causal",
           "UGCN's temporal convolutions see past frames only, for live lifting with no delay; "
           "such a model lifts sequences with the causal protocol (not in the paper)")
    define("integer", "temporal_kernel", "UGCN's temporal kernel size", lower_bound=1)
    # DG-Net (Zhang et al. 2021).
    define("integer", "dgnet_channels", "DG-Net feature width", lower_bound=1)
    define("integer", "dgnet_blocks", "DG-Conv blocks (Table IX ablation)", lower_bound=1)
    define("integer", "dgnet_k_spatial", "Neighbours in DSG (Table VI)", lower_bound=1)
    define("integer", "dgnet_k_temporal", "Neighbours in DTG (Table VI)", lower_bound=1)
    define("enum", "dgnet_graph", "Graph of DSG and DTG (Table VII ablation)",
           enum_values=GRAPH_VARIANTS)
    define("enum", "dgnet_weighting", "Edge weighting of DSG and DTG: fully connected, "
           "embedded Gaussian or none (Table VII ablation)", enum_values=WEIGHTINGS)
    define("list", "dgnet_spatial_unit",
           "Graph convolutions of the dynamical spatial unit (Table VIII)")
    define("list", "dgnet_temporal_unit",
           "Graph convolutions of the dynamical temporal unit, may be empty (Table VIII)")
    define("bool", "dgnet_balanced",
           "Balanced coordinate output: the model also takes the camera intrinsics (Table XI)")
    define("bool", "dgnet_root_relative",
           "Subtract each head's predicted root joint (off: heads as in runs before it)")
    define("bool", "dgnet_joint_embedding",
           "A learned vector per joint after the input embedding, so that the network can "
           "tell left from right (off: exactly left/right-swap equivariant, as runs before it)")
    define("bool", "dgnet_non_local", "Spatial non-local blocks (Table XI)")
    define("bool", "dgnet_multi_level", "Block-level heads and their losses (Eq. 17; Table XI)")
    flags.DEFINE_float("dgnet_block_weight", None,
                       f"lambda of the block-level losses (Eq. 17); {_UNSET} "
                       f"({DGNet.BLOCK_LOSS_WEIGHT}).", lower_bound=0.0)
    # TCN (Pavllo et al. 2019, VideoPose3D), the baseline.
    define("list", "tcn_filter_widths",
           "TCN temporal kernel widths; receptive field = their product (3,3,3,3,3: 243 "
           "frames; 3,3,3: 27). --num_frames must be at least it")
    define("integer", "tcn_channels", "TCN feature width", lower_bound=1)
    define("integer", "tcn_lookahead",
           "Future frames in the receptive field of the frame TCN predicts (0: "
           "VideoPose3D's causal model; unset: the centre)", lower_bound=0)
    define("bool", "tcn_root_relative",
           "Subtract TCN's predicted root from every joint (its MPJPE loss does not train the "
           "root's own output)")
    # Every model.
    define("float", "dropout", "Dropout rate", lower_bound=0.0, upper_bound=1.0)
    define("float", "weight_decay", "Weight decay on convolution kernels", lower_bound=0.0)
    # Loss (UGCN's Eq. 5-6; the others train without the motion term).
    define("float", "motion_weight", "lambda of the motion loss; 0 = position only",
           lower_bound=0.0)
    define("list", "motion_intervals", "Motion intervals tau")
    define("enum", "motion_operator", "Pairwise motion encoding operator",
           enum_values=OPERATORS)
    define("enum", "position_loss", "Position term: squared joint error (Eq. 5) or MPJPE",
           enum_values=POSITION_LOSSES)
    define("float", "stream_weight", "Training for live use: extra weight w of the window "
           "frame that the causal protocol reads (position T - 1 - --lookahead); w = 1 makes "
           "it count as much as the whole window. 0 = every frame equal, as the papers "
           "train. Needs a model that outputs every window frame (ugcn, dgnet)",
           lower_bound=0.0)
    define("integer", "stream_reads", "With --stream_weight: how many frames the extra "
           "weight is spread over, the read frame and the earlier ones at its place in every "
           "scale's grid, 2 ** --ugcn_num_pairs apart, each the live reading of a shorter "
           "window. A causal UGCN only (--ugcn_causal)", lower_bound=1)


# The flag that sets each constructor argument of each model (`MODELS`).
MODEL_FLAGS = {
    "ugcn": {
        "num_frames": "num_frames", "down_channels": "ugcn_down_channels",
        "merge_channels": "ugcn_merge_channels", "num_pairs": "ugcn_num_pairs",
        "merge": "ugcn_merge", "spatial_graph": "ugcn_spatial_graph",
        "temporal_kernel": "temporal_kernel", "dropout": "dropout",
        "weight_decay": "weight_decay", "joint_embedding": "ugcn_joint_embedding",
        "causal": "ugcn_causal",
    },
    "dgnet": {
        "num_frames": "num_frames", "channels": "dgnet_channels", "num_blocks": "dgnet_blocks",
        "k_spatial": "dgnet_k_spatial", "k_temporal": "dgnet_k_temporal",
        "graph": "dgnet_graph", "weighting": "dgnet_weighting",
        "spatial_unit": "dgnet_spatial_unit", "temporal_unit": "dgnet_temporal_unit",
        "non_local": "dgnet_non_local", "multi_level": "dgnet_multi_level",
        "balanced": "dgnet_balanced", "root_relative": "dgnet_root_relative",
        "joint_embedding": "dgnet_joint_embedding",
        "dropout": "dropout", "weight_decay": "weight_decay",
    },
    "tcn": {
        "filter_widths": "tcn_filter_widths", "channels": "tcn_channels",
        "num_frames": "num_frames", "dropout": "dropout", "weight_decay": "weight_decay",
        "lookahead": "tcn_lookahead", "root_relative": "tcn_root_relative",
    },
}
# The flag that sets each `tfpose.losses.MotionLoss` argument.
LOSS_FLAGS = {"weight": "motion_weight", "intervals": "motion_intervals",
              "operator": "motion_operator", "position": "position_loss",
              "stream_weight": "stream_weight", "stream_reads": "stream_reads"}
_INTEGER_LISTS = ("ugcn_down_channels", "tcn_filter_widths", "motion_intervals")


def _defaults(function):
    return {name: parameter.default
            for name, parameter in inspect.signature(function).parameters.items()}


def _model_defaults(flag):
    """`"unset: the model's own (tcn 0.25, ugcn 0.5)"`: what each model a
    flag sets takes when it is not given, read off the models themselves."""
    from tfpose.losses import MotionLoss
    from tfpose.models import MODELS

    values = {}
    for model, cls in sorted(MODELS.items()):
        table, defaults = MODEL_FLAGS[model], _defaults(cls.__init__)
        if flag in LOSS_FLAGS.values():
            table, defaults = LOSS_FLAGS, {**_defaults(MotionLoss.__init__), **cls.LOSS}
        for argument, name in table.items():
            if name == flag:
                values[model] = defaults[argument]
    texts = {model: ",".join(map(str, value)) if isinstance(value, (tuple, list))
             else str(value).lower() if isinstance(value, bool) else str(value)
             for model, value in values.items()}
    if len(set(texts.values())) == 1:
        return f"{_UNSET} ({next(iter(texts.values()))})"
    return f"{_UNSET} ({', '.join(f'{model} {text}' for model, text in texts.items())})"


def define_training_flags():
    """Flags of the optimiser, schedule, run directory and evaluation."""
    from tfpose.inference.protocols import PROTOCOLS
    from tfpose.training.distribute import STRATEGIES
    from tfpose.training.loop import LOOPS
    from tfpose.training.schedules import SCHEDULES

    flags.DEFINE_string("model_dir", None, "Run directory: checkpoints, logs, flags.cfg.")
    flags.DEFINE_string("init_from", None,
                        "Fine-tune: start from the weights of this .keras model (a run's "
                        "model.keras); the flags must build the same architecture.")
    flags.DEFINE_integer("epochs", 10, "Training epochs.", lower_bound=1)
    flags.DEFINE_integer("steps_per_epoch", 0,
                         "Batches per epoch; 0 = one pass over the training windows.",
                         lower_bound=0)
    flags.DEFINE_float("learning_rate", 1e-3, "Initial Adam learning rate.", lower_bound=0.0)
    flags.DEFINE_enum("lr_schedule", "constant", SCHEDULES,
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
    flags.DEFINE_enum("strategy", "default", STRATEGIES,
                      "default: one device; mirrored: MirroredStrategy over the local GPUs "
                      "(logical CPU devices where there is none); multi_worker: "
                      "MultiWorkerMirroredStrategy over the cluster in TF_CONFIG.")
    flags.DEFINE_integer("num_devices", 0,
                         "mirrored: local GPUs to use, 0 = all; without GPUs, logical CPU "
                         "devices to split the CPU into, 0 = 2.", lower_bound=0)
    flags.DEFINE_enum("training_loop", "auto", LOOPS,
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
    flags.DEFINE_enum("eval_protocol", "model", ("model",) + PROTOCOLS,
                      "How sequences are lifted (tfpose.inference.protocols): "
                      "model = the model's own "
                      "(UGCN average, DG-Net center, TCN convolutional); tiled = the fast mode, "
                      "windows every --eval_step frames keeping their central --eval_step.")
    flags.DEFINE_integer("eval_margin", 0,
                         "--eval_protocol=average: window positions at each end that are not "
                         "read (the sequence is edge-padded so that every frame is covered); 0 = "
                         "the paper's protocol, every position averaged.", lower_bound=0)
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
        from tfpose.training import distribute

        return distribute.auto_precision()
    if flag_values.precision == "mixed_bfloat16":
        from tfpose.training import distribute

        distribute.warn_if_emulated_bfloat16()
    return flag_values.precision


def _given(flag_values, table):
    """`{argument: value}` of the flags of `table` (`{argument: flag}`) that
    were given: an unset flag passes nothing."""
    given = {}
    for argument, name in table.items():
        value = flag_values[name].value
        if value is not None:
            given[argument] = [int(v) for v in value] if name in _INTEGER_LISTS else value
    return given


def _text(value):
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def ignored_model_flags(flag_values=flags.FLAGS):
    """`{flag: value}` of the other models' flags that were given a value
    their own models would not take by default: the chosen model ignores
    them, which is most likely a mistake (`--model=ugcn --dgnet_blocks=3`).
    Values equal to the owner's default are left out, so the flags.cfg of
    older runs, which lists every model's flag, stays quiet."""
    from tfpose.models import MODELS

    own = set(MODEL_FLAGS[flag_values.model].values())
    ignored = {}
    for model, table in MODEL_FLAGS.items():
        if model == flag_values.model:
            continue
        defaults = _defaults(MODELS[model].__init__)
        for argument, name in table.items():
            value = _given(flag_values, {argument: name}).get(argument)
            if name in own or value is None:
                continue
            default = defaults[argument]
            if isinstance(default, (tuple, list)):
                default = list(default)
            if value != default:
                ignored[name] = value
    return ignored


def model_kwargs(flag_values=flags.FLAGS):
    """Constructor arguments of the chosen model: the model flags given, so
    that `MODELS[name](**model_kwargs())` with no flags is `MODELS[name]()`.
    Logs a warning naming the other models' flags that it ignores
    (`ignored_model_flags`)."""
    from absl import logging

    if flag_values.model not in MODEL_FLAGS:
        raise ValueError(f"No flags for model {flag_values.model!r}.")
    ignored = ignored_model_flags(flag_values)
    if ignored:
        given = ", ".join(f"--{name}={_text(value)}" for name, value in sorted(ignored.items()))
        logging.warning("--model=%s ignores %s: these flags set other models.",
                        flag_values.model, given)
    return _given(flag_values, MODEL_FLAGS[flag_values.model])


def loss_kwargs(flag_values=flags.FLAGS):
    """`tfpose.losses.MotionLoss` arguments: the chosen model's own
    (`tfpose.models.loss_arguments`) with the loss flags given in place."""
    from tfpose.models import MODELS, loss_arguments

    given = _given(flag_values, LOSS_FLAGS)
    if given.get("stream_weight") and "lookahead" in flag_values:
        # The frame trained for is the one the causal protocol reads.
        given["lookahead"] = flag_values.lookahead
    return loss_arguments(MODELS[flag_values.model], given)


def write_flagfile(path, modules=("tfpose.flags",), flag_values=flags.FLAGS):
    """Writes the resolved flags of `modules` (and the main script) as a flagfile.

    `python <script> --flagfile=<path>` repeats the run. An unset flag is
    left out and reads back unset: the model's own value again, which the
    run's `.keras` files also record. Written to a temporary name first, so
    a crash never leaves half a file.
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
