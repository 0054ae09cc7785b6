"""scripts/lift.py end to end: COCO pixels with gaps in, 3D out, pictures."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from tfpose import testing
from tfpose.export import saved_model
from tfpose.models import UGCN

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "walk_coco.json"


def _lift(*args):
    return subprocess.run([sys.executable, "scripts/lift.py", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    base = tmp_path_factory.mktemp("models")
    model = testing.randomize_zero_kernels(
        UGCN(num_frames=16, down_channels=(4, 4, 4, 4, 4, 8, 8, 8, 8), merge_channels=4),
        scale=0.05)
    model.save(base / "tiny.keras")
    saved_model.export(model, base / "tiny" / "1", num_frames=16, protocol="average",
                       tflite_files={"model.tflite": "fp32"})
    return base


def test_lifts_coco_pixels_with_gaps_and_renders(models, tmp_path):
    out = tmp_path / "walk.json"
    result = _lift("--model", models / "tiny" / "1", "--input", EXAMPLE, "--output", out,
                   "--render", tmp_path / "walk.gif", "--strip", tmp_path / "walk.png")
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
    poses = np.asarray(data["poses_3d"])
    assert poses.shape == (100, 17, 3) and np.isfinite(poses).all()
    np.testing.assert_allclose(poses[:, 0], 0.0)  # root-relative
    # Beside them, the same poses placed in camera space at the solved roots.
    root = np.asarray(data["root_trajectory"])
    assert root.shape == (100, 3) and data["camera_assumed"] is True
    np.testing.assert_allclose(np.asarray(data["poses_3d_camera"]), poses + root[:, None],
                               atol=2e-5)
    flagged = np.asarray(data["interpolated"])
    # The example's occluded left wrist (frames 30-37), right ankle (60-63)
    # and empty frame 50 are flagged; H36M's hip comes from COCO's hips.
    assert flagged[30:38, 13].all() and flagged[60:64, 3].all() and flagged[50].all()
    assert not flagged[10].any() and data["layout"] == "coco"
    gif, png = (tmp_path / "walk.gif").read_bytes(), (tmp_path / "walk.png").read_bytes()
    assert gif[:6] in (b"GIF87a", b"GIF89a") and png[:8] == b"\x89PNG\r\n\x1a\n"

    # The same lift from the .tflite file and the .keras checkpoint.
    for model in (models / "tiny" / "1" / "model.tflite", models / "tiny.keras"):
        other = tmp_path / f"{model.suffix.strip('.') or 'dir'}.npz"
        result = _lift("--model", model, "--input", EXAMPLE, "--output", other)
        assert result.returncode == 0, result.stderr[-3000:]
        np.testing.assert_allclose(np.load(other)["poses_3d"], poses, atol=1e-4)


@pytest.mark.parametrize("content, extra, match", [
    (json.dumps({"keypoints": [[[1, 2]] * 16] * 3}), [], "17 joints"),
    (json.dumps({"keypoints": [[[None, None]] * 17] * 3, "layout": "h36m"}), ["--normalized"],
     "No valid keypoints"),
    (json.dumps({"keypoints": [[[1, 2]] * 17] * 3}), [], "--layout"),
    (json.dumps({"keypoints": [[[1, 2]] * 17] * 3, "layout": "h36m"}), [], "--width"),
])
def test_bad_input_fails_clearly_and_writes_nothing(models, tmp_path, content, extra, match):
    source = tmp_path / "in.json"
    source.write_text(content)
    out = tmp_path / "out.npz"
    result = _lift("--model", models / "tiny" / "1", "--input", source, "--output", out, *extra)
    assert result.returncode != 0 and match in result.stderr, result.stderr[-2000:]
    assert list(tmp_path.iterdir()) == [source]


def test_bad_model_and_file_type(models, tmp_path):
    fake = tmp_path / "walk.npz"
    fake.write_text("this is not a zip file")
    result = _lift("--model", models / "tiny" / "1", "--input", fake, "--output",
                   tmp_path / "out.json")
    assert result.returncode != 0 and "not a valid .npz" in result.stderr
    empty = tmp_path / "empty_model"
    empty.mkdir()
    result = _lift("--model", empty, "--input", EXAMPLE, "--output", tmp_path / "out.json")
    assert result.returncode != 0 and "not a SavedModel" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty_model", "walk.npz"]
