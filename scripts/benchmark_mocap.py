"""Load speed of BVH and AMC takes, and peak memory of a large BVH.

    nice -n 19 python scripts/benchmark_mocap.py --frames=20000
    python scripts/benchmark_mocap.py --frames=180000 --write_bvh=/tmp/big.bvh
    python scripts/benchmark_mocap.py --load_bvh=/tmp/big.bvh

Generates the files (the test body of tests/data/mocap_files.py) in a
temporary folder and times `tfpose.data.mocap.load_bvh` / `load_asf_amc`.
`--write_bvh` only writes a take; `--load_bvh` only loads one, in a process
that wrote nothing, so its peak resident memory above the level after the
imports is the loader's own.
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
_WRITE_BVH = flags.DEFINE_string("write_bvh", None, "Only write a generated BVH take here.")
_LOAD_BVH = flags.DEFINE_string("load_bvh", None,
                                "Only load this BVH take (the test body's mapping).")


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def _load_only(path):
    before = _peak_rss_mb()
    start, cpu_start = time.perf_counter(), time.process_time()
    seq = mocap.load_bvh(path, mf.DIRECT_MAPPING, fps=None)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    size = os.path.getsize(path) / 1e6
    grown = _peak_rss_mb() - before
    print(f"bvh: {size:.1f} MB, {seq.num_frames} frames, {seq.num_frames / seconds:.0f} frames/s "
          f"({seq.num_frames / cpu_seconds:.0f} per CPU second); "
          f"peak RSS {before:.0f} MB after imports, +{grown:.0f} MB while loading "
          f"({grown / size:.2f}x the file; the loaded take is {seq.poses_3d.nbytes / 1e6:.1f} MB)")


def main(argv):
    del argv
    if _WRITE_BVH.value:
        mf.write_bvh(_WRITE_BVH.value, mf.BODY, mf.random_motion(mf.BODY, _FRAMES.value))
        print(f"wrote {_WRITE_BVH.value}: {os.path.getsize(_WRITE_BVH.value) / 1e6:.1f} MB")
        return
    if _LOAD_BVH.value:
        _load_only(_LOAD_BVH.value)
        return
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
