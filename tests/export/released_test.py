"""The released models in exported/: loadable, consistent, documented, small."""

import pathlib

import numpy as np
import pytest
import tensorflow as tf

from tfpose.export import saved_model, tflite

EXPORTED = pathlib.Path(__file__).resolve().parents[2] / "exported"
RELEASES = sorted(p for p in EXPORTED.glob("*/*") if (p / "saved_model.pb").exists())


def test_there_are_releases():
    assert {p.parent.name for p in RELEASES} >= {"ugcn", "dgnet"}


@pytest.mark.parametrize("release", RELEASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_release_serving_matches_its_tflite(release):
    signature = saved_model.load_signature(release)
    runner = tflite.Runner(release / "model.tflite")
    rng = np.random.default_rng(0)
    for frames in (1, 9, 120):
        x = rng.normal(scale=0.3, size=(1, frames, 17, 2)).astype(np.float32)
        expected = signature(keypoints_2d=tf.constant(x))["poses_3d"].numpy()
        assert expected.shape == (1, frames, 17, 3) and np.isfinite(expected).all()
        np.testing.assert_array_equal(expected[..., 0, :], 0.0)  # root-relative
        got = runner(x)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("release", RELEASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_release_is_documented_and_small(release):
    card = (release / "MODEL_CARD.md").read_text()
    for needed in ("CC BY-SA 3.0", "serving_default", "MPJPE", "python scripts/"):
        assert needed in card, needed
    assert (release / "flags.cfg").exists() and (release / "metrics.json").exists()
    saved = sum(f.stat().st_size for f in [release / "saved_model.pb",
                                           *(release / "variables").iterdir()])
    assert saved < 20e6
    for file in release.glob("*.tflite"):
        assert file.stat().st_size < 20e6, file.name


KERAS_RELEASES = [p for p in RELEASES if (p / "model.keras").exists()]


@pytest.mark.parametrize("release", KERAS_RELEASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_release_keras_model_is_the_served_network(release):
    import keras

    import tfpose.models  # noqa: F401  (registers the layers)

    model = keras.models.load_model(release / "model.keras")
    window = saved_model.load_signature(release, saved_model.WINDOW)
    spec = window.structured_input_signature[1]["keypoints_2d"]
    x = np.random.default_rng(1).normal(scale=0.3, size=spec.shape).astype(np.float32)
    served = next(iter(window(keypoints_2d=tf.constant(x)).values())).numpy()
    output = model.predict(x, verbose=0)
    if isinstance(output, dict):
        output = output["network"]
    np.testing.assert_allclose(output, served, atol=1e-4)
