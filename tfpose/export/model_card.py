"""The model card written beside an exported model."""

import inspect

from tfpose.export import saved_model

STREAM_TFLITE_NAMES = saved_model.STREAM_TFLITE_NAMES
STREAM_TFLITE = STREAM_TFLITE_NAMES["fp32"]


MODEL_NAMES = {"ugcn": "UGCN", "dgnet": "DG-Net", "tcn": "TCN (VideoPose3D)"}

# One frame of a walking body from the synthetic data (H36M order, normalised
# screen coordinates): the serving example's input.
EXAMPLE_FRAME = ((0.018, -0.011), (-0.036, -0.011), (-0.047, 0.217), (0.018, 0.339),
                 (0.072, -0.011), (0.088, 0.216), (0.11, 0.401), (0.016, -0.118),
                 (0.013, -0.234), (0.008, -0.29), (0.011, -0.347), (0.077, -0.239),
                 (0.072, -0.105), (0.051, 0.016), (-0.048, -0.229), (-0.037, -0.098),
                 (-0.042, 0.028))


def serving_request(with_intrinsics):
    """A TF Serving predict body (valid JSON, TF Serving's row format): one
    sequence of one frame, its inputs named as in `serving_default`."""
    frame = ", ".join(f"[{x:g}, {y:g}]" for x, y in EXAMPLE_FRAME)
    instance = f'"keypoints_2d": [[{frame}]]'
    if with_intrinsics:  # 1100 px focal length, centred, on a 1000 px wide image
        instance += ', "intrinsics": [2.2, 2.2, 0, 0]'
    return '{"instances": [{' + instance + '}]}'


def _fixed_camera_text():
    from tfpose import camera

    d = {k: v.default for k, v in inspect.signature(camera.random_cameras).parameters.items()
         if v.default is not inspect.Parameter.empty}
    return (f"virtual cameras {d['distance'][0]:g}-{d['distance'][1]:g} m from the subject, "
            f"{d['height'][0]:g}-{d['height'][1]:g} m high, any azimuth, focal length "
            f"{d['focal_length'][0]:g}-{d['focal_length'][1]:g} px on "
            f"{d['image_size'][0]}x{d['image_size'][1]} images, no lens distortion, "
            "ground-truth 2D (no detector noise)")


def _drawn_camera_text(flag_values):
    """The training windows' camera and body distribution, from the run's flags."""
    from tfpose import camera

    ranges = {}
    for name in ("distance", "height", "azimuth", "focal_length", "image_size"):
        value = flag_values.get(f"camera_{name}")
        if value:
            ranges[name] = tuple(float(v) for v in value)
    for name in ("principal_jitter", "roll", "target_jitter"):
        if flag_values.get(f"camera_{name}") is not None:
            ranges[name] = flag_values[f"camera_{name}"]
    c = camera.VirtualCameras(**ranges)
    text = (f"a new virtual camera for every training window, {c.distance[0]:g}-"
            f"{c.distance[1]:g} m from the subject (farther where needed to keep the whole "
            f"body in the image), {c.height[0]:g}-{c.height[1]:g} m high, azimuth "
            f"{c.azimuth[0]:g}-{c.azimuth[1]:g} degrees, focal length "
            f"{c.focal_length[0]:g}-{c.focal_length[1]:g} px on {c.image_size[0]:g}x"
            f"{c.image_size[1]:g} images, principal point within {c.principal_jitter:g} px of "
            f"the centre, roll within {c.roll:g} degrees, looking at a point within "
            f"{c.target_jitter:g} m of the subject's hips, no lens distortion")
    body, bone = flag_values.get("body_scale") or 0, flag_values.get("bone_scale") or 0
    if body or bone:
        text += (f"; bodies rescaled by up to {100 * body:g}% and each bone by up to "
                 f"{100 * bone:g}%")
    speed = flag_values.get("speed_scale") or 0
    if speed:
        text += (f"; each window played at {1 / (1 + speed):.2g}-{1 + speed:g} times the "
                 "capture's speed")
    noise = flag_values.get("noise_std") or 0
    return text + (f"; ground-truth 2D with Gaussian noise of {noise:g} normalised units "
                   f"({noise * 500:g} px at 1000 px width)" if noise else
                   "; ground-truth 2D (no detector noise)")


def _camera_text(flag_values):
    fresh = flag_values.get("training_cameras") in ("fresh", "auto")
    return _drawn_camera_text(flag_values) if fresh else _fixed_camera_text()

DATA_LICENSES = {
    "hdm05": "HDM05 motion capture (Mueller et al., Universitaet Bonn), CC BY-SA 3.0: "
             "http://resources.mpi-inf.mpg.de/HDM05/ . Weights trained on it are shared "
             "under the same terms.",
    "h36m": "Human3.6M (Ionescu et al.), licensed for non-commercial research by its "
            "authors: http://vision.imar.ro/human3.6m/ .",
    "synthetic": "tfpose's procedural motion (no external data).",
}

METRIC_LABELS = (("mpjpe", "MPJPE (mm)"), ("p_mpjpe", "P-MPJPE (mm)"),
                 ("n_mpjpe", "N-MPJPE (mm)"), ("mpjve", "MPJVE (mm/frame)"),
                 ("pck", "PCK@150mm (%)"), ("auc", "AUC (%)"))


def _metrics_table(metrics):
    rows = ["| | " + " | ".join(label for _, label in METRIC_LABELS) + " |",
            "|---" * (len(METRIC_LABELS) + 1) + "|"]
    for key, label in (("average", "average over actions"), ("all_frames", "all frames")):
        values = metrics.get(key, {})
        rows.append(f"| {label} | " + " | ".join(
            f"{values[k]:.1f}" if k in values else "-" for k, _ in METRIC_LABELS) + " |")
    return "\n".join(rows)


def render(*, name, version, model, parameters, flag_values, num_frames, protocol, step, flip,
           with_intrinsics, metrics=None, metrics_command=None, metrics_note=None,
           tflite_files=None,
           tflite_accuracy=None, keras_file=None, loss_kwargs=None, lookahead=0, stream=None,
           margin=0):
    """Markdown text of the card. `flag_values`: the run's resolved flags
    (`{name: value}`); `num_frames`: the frames of the `window` signature;
    `tflite_files`: `{file name: (quantisation, bytes)}`;
    `tflite_accuracy`: `{"reference": summary, "views": text, file name:
    summary}` of each TFLite file against the Keras model on the same test
    views (`tfpose.inference.evaluation` summaries in mm; the stream files,
    `STREAM_TFLITE_NAMES`, against `"stream_reference"`, the Keras model's
    causal protocol at the stream's lookahead); `keras_file`: the trained
    Keras model's file name, if the export holds it, and `loss_kwargs` the
    run's `MotionLoss` arguments; `stream`: `(window frames, lookahead)`
    of the `stream` signature, or `None` without one."""
    dataset = flag_values.get("dataset", "?")
    fresh = flag_values.get("training_cameras") in ("fresh", "auto")
    seen = (", training actors only, each training window through its own virtual camera"
            if fresh else
            f", training actors only, seen through {flag_values.get('num_cameras')} random "
            f"virtual cameras per take (seed {flag_values.get('camera_seed')})")
    lines = [
        f"# tfpose {MODEL_NAMES.get(model, model)} `{name}`, version {version}",
        "",
        f"A {MODEL_NAMES.get(model, model)} 2D-to-3D human pose lifter "
        f"({parameters:,} parameters in the exported network), trained with tfpose "
        "(`python scripts/train.py --flagfile=flags.cfg`; `flags.cfg` beside this card holds "
        "every setting, and a model setting it leaves out is the model's own default).",
        "",
        "## Training data",
        "",
        f"Dataset `{dataset}`" + (
            f"{seen}, resampled to {flag_values.get('fps')} fps" if dataset == "hdm05"
            else "") + ".",
        "",
        DATA_LICENSES.get(dataset, ""),
        "",
        ("What the model has seen: " + _camera_text(flag_values) + ". Inputs far from this "
         "(other fields of view, subjects much nearer or farther, noisy detections) are "
         "outside its training distribution." if dataset in ("hdm05", "synthetic") else ""),
        "",
        "## Input and output",
        "",
        "- `keypoints_2d`: float32 `[B, T, 17, 2]`, Human3.6M 17-joint order (hip, right "
        "hip/knee/ankle, left hip/knee/ankle, spine, thorax, neck/nose, head, left "
        "shoulder/elbow/wrist, right shoulder/elbow/wrist), in VideoPose3D's normalised "
        "screen coordinates: `pixels / width * 2 - [1, height / width]`. Any `T >= 1`.",
    ]
    if with_intrinsics:
        lines.append("- `intrinsics`: float32 `[B, 4]`, `(f_x, f_y, c_x, c_y)` of the camera "
                     "in the same normalised coordinates (`2 f / width`, normalised "
                     "principal point).")
    lines += [
        "- `poses_3d`: float32 `[B, T, 17, 3]`, metres, camera frame (x right, y down, z "
        "forward), relative to the hip (joint 0, always zero).",
        "",
        "Sequence protocol inside the graph: "
        f"{protocol_text(protocol, step, flip, lookahead, margin)}.",
        "",
        "## Signatures",
        "",
        f"- `{saved_model.SERVING}`: whole sequences, any batch and length.",
        f"- `{saved_model.TFLITE}`: the same with batch 1 (the TFLite files' source).",
        f"- `{saved_model.WINDOW}`: the bare network on one window `[1, "
        f"{num_frames}, 17, 2]`.",
    ]
    if stream:
        frames, stream_lookahead = stream
        lines += [
            f"- `{saved_model.STREAM}`: live lifting, one frame per call: `(state [1, "
            f"{frames + 1}, 17, 2], keypoints_2d [1, 17, 2], intrinsics [1, 4])` -> "
            "`poses_3d`, `poses_3d_camera` `[1, 17, 3]`, `root_position` `[1, 3]` (metres, "
            "camera frame), `frame` `[1]` and the next `state`. Start with a state of zeros "
            "and pass each call's `state` to the next. The pose returned is that of frame "
            f"`frame`, {stream_lookahead} frame(s) before the one just given "
            f"(causal, lookahead {stream_lookahead}; nothing is due while `frame < 0`); "
            "non-finite joints (missing) are held from the previous frame. `intrinsics`: "
            "the camera's `(f_x, f_y, c_x, c_y)` normalised as below; they place "
            "`poses_3d_camera` and `root_position` (the root solved in closed form from "
            "the pose and the 2D)"
            + (" and feed the model." if with_intrinsics else
               "; the root-relative pose does not use them.")
            + f" `{STREAM_TFLITE}` is this signature for TFLite"
            + (f" (`{STREAM_TFLITE_NAMES['dynamic_int8']}`: with int8 weights, faster on "
               "a CPU)" if STREAM_TFLITE_NAMES["dynamic_int8"] in (tflite_files or {}) else "")
            + "; `tfpose.inference.streaming.StreamingLifter` runs any of them.",
        ]
    lines += [
        "",
        "TF Serving: `docker run -p 8501:8501 -v \"$PWD/<models>/" + name + ":/models/"
        + name + "\" -e MODEL_NAME=" + name + " tensorflow/serving`, then POST a JSON "
        "body with one object per sequence, each `keypoints_2d` a list of frames of 17 "
        "`[x, y]` pairs" + (" and `intrinsics` its camera's 4 numbers" if with_intrinsics
                            else "") + " (the reply: `{\"predictions\": ...}`, "
        "`poses_3d` per sequence). One frame of a walking body:",
        "",
        "```bash",
        f"curl -d '{serving_request(with_intrinsics)}' \\",
        f"    http://localhost:8501/v1/models/{name}:predict",
        "```",
        "",
    ]
    if keras_file:
        loss = repr(dict(loss_kwargs or {}))
        lines += ["## Fine-tuning", "",
                  f"`{keras_file}` is the trained Keras model (float32, not compiled). "
                  "To fine-tune it on your own data with the loss it was trained with "
                  "(`runner.match_targets` gives each output the frames it predicts):", "",
                  "```python", "import keras", "import tfpose.models  # registers the layers",
                  "from tfpose.training import runner", "",
                  f'model = keras.models.load_model("{name}/{version}/{keras_file}")',
                  "# Adam, the loss on every output (DG-Net's block heads weighted as in",
                  "# training) and the pose metrics that fit the model's output.",
                  f"runner.compile_model(model, {loss}, learning_rate=1e-4)",
                  "model.fit(runner.match_targets(train_ds, model), epochs=5)"
                  "  # windows from tfpose.data.pipeline",
                  "```", ""]
    accuracy = tflite_accuracy or {}
    views = accuracy.get("views", "the test views")
    stream_names = set(STREAM_TFLITE_NAMES.values())
    window_files = {k: v for k, v in (tflite_files or {}).items() if k not in stream_names}
    stream_files = {k: v for k, v in (tflite_files or {}).items() if k in stream_names}
    if window_files:
        reference = accuracy.get("reference", {}).get("average", {})
        lines += ["## TFLite", ""]
        if reference:
            lines += [f"Accuracy of each file on {views} (average over actions, mm), against "
                      f"the Keras model's {reference['mpjpe']:.1f} mm MPJPE on the same "
                      "views:", ""]
        lines += _tflite_table(window_files, accuracy, reference)
        lines += ["", "Builtin ops only, batch 1, any number of frames (resize the input). "
                  "Run with `ai-edge-litert`.", ""]
    if stream_files:
        reference = accuracy.get("stream_reference", {}).get("average", {})
        lines += ["## Streaming TFLite", ""]
        if reference and stream:
            lines += [f"The `{saved_model.STREAM}` signature's files, one frame per call "
                      f"(causal, lookahead {stream[1]}), on {views} (average over actions, "
                      f"mm), against the Keras model's {reference['mpjpe']:.1f} mm MPJPE "
                      "under the same protocol:", ""]
        lines += _tflite_table(stream_files, accuracy, reference)
        lines += ["", "Builtin ops only, fixed shapes; "
                  "`tfpose.inference.streaming.StreamingLifter` runs them with "
                  "`ai-edge-litert`.", ""]
    lines += ["## Accuracy", ""]
    if metrics:
        lines += [
            f"Test split of `{dataset}` ({metrics.get('num_views', '?')} camera views, "
            f"{metrics.get('num_frames', '?')} frames), this model's sequence protocol:",
            "", _metrics_table(metrics), "",
        ]
        if metrics_command:
            lines += ["Measured with:", "", "```bash", metrics_command, "```", ""]
    elif metrics_note:
        lines += [f"Not measured for this export: the run's figures do not describe it "
                  f"({metrics_note})."]
        if metrics_command:
            lines += ["Measure it with:", "", "```bash", metrics_command, "```"]
        lines += [""]
    else:
        lines += ["Not measured (the run has no metrics.json).", ""]
    return "\n".join(lines)


def _tflite_table(files, accuracy, reference):
    lines = ["| file | quantisation | size | MPJPE | change | P-MPJPE | MPJVE |",
             "|---|---|---|---|---|---|---|"]
    for file_name, (quantization, size) in sorted(files.items()):
        values = accuracy.get(file_name, {}).get("average", {})
        if values and reference:
            scores = (f"{values['mpjpe']:.1f} | {values['mpjpe'] - reference['mpjpe']:+.2f}"
                      f" | {values['p_mpjpe']:.1f} | {values.get('mpjve', float('nan')):.2f}")
        else:
            scores = "not measured | | |"
        lines.append(f"| `{file_name}` | {quantization} | {size / 1e6:.2f} MB | {scores} |")
    return lines


def protocol_text(protocol, step, flip, lookahead=0, margin=0):
    trimmed = (f" (each read at its central positions only, {margin} frames from either end "
               "left out)") if margin else ""
    base = {
        "causal": f"each frame from the window ending {lookahead} frame(s) after it (causal)",
        "average": f"windows every {step} frames{trimmed}, overlapping predictions averaged",
        "center": "one window centred on every frame, its centre kept",
        "tiled": f"windows every {step} frames, each keeping its central {step} frames",
        "convolutional": "one fully convolutional pass over the edge-padded sequence",
    }[protocol]
    return base + (", with horizontal-flip test-time augmentation" if flip else "")
