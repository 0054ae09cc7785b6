"""From 2D keypoints to 3D poses with a trained model.

- `protocols`: a fixed-length model over whole variable-length sequences
  (sliding windows, flip augmentation; numpy and in-graph), where a window
  becomes a pose;
- `streaming`: the causal protocol one frame at a time;
- `lifters`: one interface over a SavedModel, a `.keras` file, a `.tflite`;
- `camera_space`: absolute 3D from root-relative poses and intrinsics;
- `evaluation`: the field's metrics over whole test sequences;
- `render`: pictures of lifted poses;
- `lift_files`: a keypoint file lifted: its 2D prepared, its 3D written
  (`.npz`, `.json`) and drawn;
- `json_lines`: live lifting over JSON lines, a pose line per frame.
"""
