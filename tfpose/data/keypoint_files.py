"""Reading 2D keypoint files from detectors.

Accepted inputs (`read_keypoints`), by extension:

- `.npz`: `keypoints` `[T, 17, 2]` or `[T, 17, 3]` (the third channel a
  confidence), optional `scores` `[T, 17]`, `width`, `height`, `layout`.
- `.json`: either an object with those keys (`keypoints` as nested lists),
  or a list with one entry per frame: 17 `[x, y]` / `[x, y, c]` pairs, a
  flat list of 34 or 51 numbers (COCO's annotation format), an object with
  such a `keypoints` list, or `null` for a frame without a detection.
- `.csv`: one row per frame of 34 (`x, y` per joint) or 51 (`x, y, c`)
  numbers; an optional header row; empty cells are missing values.

Missing values are NaN in the returned keypoints; the caller decides how
to fill them (`tfpose.data.interpolation`; `tfpose.inference.lift_files`
prepares a file for lifting and writes the lifted poses).
"""

import csv
import dataclasses
import json
import os
import zipfile

import numpy as np

LAYOUTS = ("coco", "h36m")
NUM_JOINTS = 17


@dataclasses.dataclass
class KeypointFile:
    """keypoints `[T, 17, 2]` float (NaN where missing), scores `[T, 17]` or
    None, and what the file says about its image size and joint layout."""

    keypoints: np.ndarray
    scores: np.ndarray = None
    width: float = None
    height: float = None
    layout: str = None


def parse_frame(entry):
    """One frame's JSON entry -> `[17, C]` float64 (NaN for `null` values),
    or `None` for a frame without a detection.

    `entry`: 17 `[x, y]` / `[x, y, c]` pairs, a flat list of 34 or 51
    numbers, an object with such a `keypoints` list (and optionally
    `scores`, 17 confidences), or `null`.
    """
    scores = None
    if isinstance(entry, dict):
        scores = entry.get("scores")
        entry = entry.get("keypoints")
    if entry is None:
        return None
    try:
        values = np.asarray(_nan_for_none(entry), dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("keypoints that are not a list of numbers; expected "
                         f"{NUM_JOINTS} joints of [x, y] or [x, y, confidence].") from None
    if values.ndim == 1 and values.size in (2 * NUM_JOINTS, 3 * NUM_JOINTS):
        values = values.reshape(NUM_JOINTS, -1)
    if values.ndim != 2 or values.shape[0] != NUM_JOINTS or values.shape[1] not in (2, 3):
        raise ValueError(f"keypoints of shape {values.shape}; expected "
                         f"{NUM_JOINTS} joints of [x, y] or [x, y, confidence].")
    if scores is not None:
        try:
            scores = np.asarray(_nan_for_none(scores), dtype=np.float64).reshape(NUM_JOINTS, 1)
        except (TypeError, ValueError):
            raise ValueError(f"`scores` must be {NUM_JOINTS} numbers.") from None
        values = np.concatenate([values[:, :2], scores], 1)
    return values


def _frames_array(frames, path):
    """A list of per-frame entries (JSON) -> `[T, 17, C]` with NaN for gaps."""
    rows = []
    channels = None
    for t, frame in enumerate(frames):
        if isinstance(frame, dict):
            frame = frame.get("keypoints")
        try:
            values = parse_frame(frame)
        except ValueError as error:
            raise ValueError(f"{path}: frame {t} has {error}") from None
        if values is None:
            rows.append(None)
            continue
        if channels is not None and values.shape[1] != channels:
            raise ValueError(f"{path}: frame {t} has {values.shape[1]} values per joint, "
                             f"earlier frames {channels}.")
        channels = values.shape[1]
        rows.append(values)
    if channels is None:
        raise ValueError(f"{path}: no frame has keypoints.")
    empty = np.full((NUM_JOINTS, channels), np.nan)
    return np.stack([empty if r is None else r for r in rows])


def _nan_for_none(value):
    if value is None:
        return np.nan
    if isinstance(value, (list, tuple)):
        return [_nan_for_none(v) for v in value]
    return value


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    meta = {}
    if isinstance(data, dict):
        if "keypoints" not in data:
            raise ValueError(f"{path}: a JSON object needs a 'keypoints' entry.")
        meta = {k: data.get(k) for k in ("width", "height", "layout")}
        frames = data["keypoints"]
        scores = data.get("scores")
    elif isinstance(data, list):
        frames, scores = data, None
    else:
        raise ValueError(f"{path}: expected a JSON object or a list of frames.")
    if not isinstance(frames, list) or not frames:
        raise ValueError(f"{path}: 'keypoints' must be a non-empty list of frames.")
    array = _frames_array(frames, path)
    if scores is not None:
        scores = np.asarray(_nan_for_none(scores), np.float64)
    return array, scores, meta


def _read_npz(path):
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a valid .npz file (not a zip archive).")
    with np.load(path, allow_pickle=False) as data:
        if "keypoints" not in data:
            raise ValueError(f"{path}: no 'keypoints' array; it has {sorted(data.files)}.")
        array = np.asarray(data["keypoints"], np.float64)
        scores = np.asarray(data["scores"], np.float64) if "scores" in data else None
        meta = {k: data[k].item() for k in ("width", "height", "layout") if k in data}
    return array, scores, meta


def _read_csv(path):
    rows = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for number, row in enumerate(csv.reader(f)):
                if not row or all(not cell.strip() for cell in row):
                    continue
                try:
                    values = [float(c) if c.strip() else np.nan for c in row]
                except ValueError:
                    if number == 0 and not rows:
                        continue  # a header
                    raise ValueError(f"{path}: row {number + 1} has a value that is not a "
                                     "number.") from None
                rows.append(values)
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text CSV file.") from None
    if not rows:
        raise ValueError(f"{path}: no rows of keypoints.")
    widths = {len(r) for r in rows}
    if len(widths) != 1 or widths.pop() not in (2 * NUM_JOINTS, 3 * NUM_JOINTS):
        raise ValueError(f"{path}: every row must have {2 * NUM_JOINTS} (x, y per joint) or "
                         f"{3 * NUM_JOINTS} (x, y, confidence) values; found "
                         f"{sorted({len(r) for r in rows})}.")
    array = np.asarray(rows, np.float64)
    return array.reshape(len(rows), NUM_JOINTS, -1), None, {}


READERS = {".json": _read_json, ".npz": _read_npz, ".csv": _read_csv}


def read_keypoints(path):
    """Reads a keypoint file (see the module docstring) into a `KeypointFile`."""
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    if extension not in READERS:
        raise ValueError(f"{path}: unsupported extension {extension!r}; use one of "
                         f"{sorted(READERS)}.")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Keypoint file not found: {path}")
    array, scores, meta = READERS[extension](path)
    if array.ndim != 3 or array.shape[1] != NUM_JOINTS or array.shape[2] not in (2, 3):
        raise ValueError(f"{path}: keypoints have shape {array.shape}; expected [frames, "
                         f"{NUM_JOINTS}, 2] or [frames, {NUM_JOINTS}, 3].")
    if len(array) == 0:
        raise ValueError(f"{path}: zero frames.")
    if array.shape[2] == 3:
        if scores is None:
            scores = array[..., 2]
        array = array[..., :2]
    if scores is not None and scores.shape != array.shape[:2]:
        raise ValueError(f"{path}: scores have shape {scores.shape}; expected "
                         f"{array.shape[:2]}.")
    layout = meta.get("layout")
    if layout is not None and layout not in LAYOUTS:
        raise ValueError(f"{path}: unknown layout {layout!r}; expected one of {LAYOUTS}.")
    number = lambda v: None if v is None else float(v)  # noqa: E731
    return KeypointFile(array, scores, number(meta.get("width")), number(meta.get("height")),
                        layout)
