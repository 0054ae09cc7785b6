"""Load speed of BVH and AMC takes, and peak memory of a large BVH.

    nice -n 19 python scripts/benchmark_mocap.py --frames=20000

Generates the files (the test body of tests/data/mocap_files.py) in a
temporary folder and times `tfpose.data.mocap.load_bvh` / `load_asf_amc`.
"""

import os
import resource
import sys
import tempfile
import time

from absl import app, flags

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "data"))
import mocap_files as mf  # noqa: E402

from tfpose.data import mocap  # noqa: E402

_FRAMES = flags.DEFINE_integer("frames", 20000, "Frames per generated take.")


def main(argv):
    del argv
    with tempfile.TemporaryDirectory() as d:
        bvh_path = os.path.join(d, "a_b.bvh")
        mf.write_bvh(bvh_path, mf.BODY, mf.random_motion(mf.BODY, _FRAMES.value))
        asf, amc = os.path.join(d, "a.asf"), os.path.join(d, "a_b.amc")
        open(asf, "w").write(mf.asf_text())
        open(amc, "w").write(mf.amc_text(mf.asf_motion(_FRAMES.value)))
        for name, load in (("bvh", lambda: mocap.load_bvh(bvh_path, mf.DIRECT_MAPPING, fps=None)),
                           ("amc", lambda: mocap.load_asf_amc(asf, amc, fps=None))):
            path = bvh_path if name == "bvh" else amc
            start = time.perf_counter()
            seq = load()
            seconds = time.perf_counter() - start
            print(f"{name}: {os.path.getsize(path) / 1e6:.1f} MB, {seq.num_frames} frames, "
                  f"{seq.num_frames / seconds:.0f} frames/s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")


if __name__ == "__main__":
    app.run(main)
