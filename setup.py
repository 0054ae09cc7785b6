"""tfpose: video 3D human pose lifting (UGCN, DG-Net) in TensorFlow / Keras 3."""

import setuptools

setuptools.setup(
    name="tfpose",
    version="0.1.0",
    description=(
        "Lift 2D human keypoint sequences to 3D: UGCN with the motion loss "
        "and DG-Net, as Keras 3 layers and models."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=setuptools.find_packages(include=["tfpose", "tfpose.*"]),
    # The built-in joint mappings (tfpose.data.joint_mapping) are data files.
    package_data={"tfpose.data": ["mappings/*.json"]},
    python_requires=">=3.10",
    # Plain `tensorflow` (not `tensorflow-cpu`): tensorflow-graphics declares
    # `tensorflow` as a requirement, so depending on `tensorflow-cpu` would
    # either install a second TensorFlow or leave `pip check` unclean. The
    # Linux `tensorflow` wheel runs on CPU and on GPU (with `[and-cuda]`).
    # tensorflow-graphics pulls tensorflow-addons, which is installed but never
    # imported: it fails to import under Keras 3.
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.10",
        "numpy>=1.26",
        "absl-py>=2.0",
        "tensorboard>=2.21,<2.22",
        "tensorflow-graphics==2021.12.3",
        # Running .tflite files (scripts/lift.py, export parity checks).
        "ai-edge-litert>=2.3",
        # scripts/lift.py --render.
        "matplotlib>=3.7",
    ],
    extras_require={
        # tensorflow-serving-api: the TF Serving request protos, to test the
        # exported models' serving contract (the server cannot run here).
        # ONNX export (tfpose.export.onnx) and its runtime.
        "onnx": ["tf2onnx>=1.17", "onnxruntime>=1.20"],
        "test": ["pytest>=8", "pytest-xdist>=3.6", "tensorflow-serving-api>=2.21,<2.22",
                 "tf2onnx>=1.17", "onnxruntime>=1.20", "ruff>=0.8"],
    },
)
