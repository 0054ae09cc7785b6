"""Exporting trained models: TFLite (and, later, SavedModel)."""
