"""Writes the example keypoint files in examples/ from tfpose's procedural
motion (no external data): what a COCO-17 detector would report for a person
walking in front of a 1000x1000 camera, in pixels, with confidences, a few
low-confidence joints and one frame without a detection.

    python examples/make_examples.py
"""

import json
import pathlib

import numpy as np

from tfpose import camera, skeleton
from tfpose.data import synthetic

HERE = pathlib.Path(__file__).resolve().parent
WIDTH = HEIGHT = 1000


def coco_from_h36m_3d(poses):
    """Approximate COCO-17 3D joints from H36M-17 ones: limbs map one to
    one; nose, eyes and ears are placed around the head."""
    h = skeleton.H36M.index
    head, nose = poses[:, h("Head")], poses[:, h("Neck/Nose")]
    right = poses[:, h("RShoulder")] - poses[:, h("LShoulder")]
    right /= np.linalg.norm(right, axis=-1, keepdims=True)
    face = nose + 0.6 * (head - nose)
    joints = {
        "nose": nose, "left_eye": face - 0.03 * right, "right_eye": face + 0.03 * right,
        "left_ear": face - 0.075 * right, "right_ear": face + 0.075 * right,
    }
    for side, prefix in (("left", "L"), ("right", "R")):
        for coco, h36m in (("shoulder", "Shoulder"), ("elbow", "Elbow"), ("wrist", "Wrist"),
                           ("hip", "Hip"), ("knee", "Knee"), ("ankle", "Foot")):
            joints[f"{side}_{coco}"] = poses[:, h(prefix + h36m)]
    return np.stack([joints[name] for name in skeleton.COCO17.names], axis=1)


def main():
    rng = np.random.default_rng(7)
    world = synthetic.generate_motion("walking", 100, 25.0, rng)
    target = world[:, 0].mean(0)
    view = camera.random_cameras(target, 1, rng)[0]
    view = camera.Camera(view.rotation, view.position, [1145.0, 1145.0], [500.0, 500.0],
                         WIDTH, HEIGHT, name="example")
    pixels = view.project(view.world_to_camera(coco_from_h36m_3d(world)))
    pixels += rng.normal(scale=2.0, size=pixels.shape)
    scores = rng.uniform(0.75, 0.98, size=pixels.shape[:2])
    c = skeleton.COCO17.index
    scores[30:38, c("left_wrist")] = 0.05  # occluded: below the confidence threshold
    scores[60:64, c("right_ankle")] = 0.1
    frames = []
    for t in range(len(pixels)):
        if t == 50:
            frames.append(None)  # the detector found nobody in this frame
            continue
        keypoints = np.concatenate([pixels[t], scores[t, :, None]], -1)
        frames.append(np.round(keypoints, 2).reshape(-1).tolist())
    document = {"layout": "coco", "width": WIDTH, "height": HEIGHT,
                "about": "tfpose procedural walking motion, COCO-17 pixels with confidences "
                         "(x, y, c per joint); frame 50 has no detection.",
                "keypoints": frames}
    (HERE / "walk_coco.json").write_text(json.dumps(document) + "\n")
    print(f"wrote {HERE / 'walk_coco.json'}")


if __name__ == "__main__":
    main()
