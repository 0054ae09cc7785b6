"""Exporting trained models for serving and devices.

- `saved_model`: the SavedModel for TF Serving (whole sequences in, the
  sequence protocol inside the graph; a live `stream` signature), written
  all or nothing with its TFLite conversions and extra files;
- `signatures`: the serving functions with named inputs it is built from;
- `tflite`: conversion to TFLite (builtin ops, the quantisations) and
  running `.tflite` files;
- `calibration`: the training chunks that calibrate integer TFLite files;
- `model_card`: the `MODEL_CARD.md` written beside an export;
- `training_run`: a training run exported with its flags, metrics and card
  (what `scripts/export.py` runs);
- `onnx`: optional ONNX conversion of an export.
"""
