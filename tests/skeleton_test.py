import numpy as np
import pytest

from tfpose import skeleton
from tfpose.skeleton import H36M


def test_h36m_layout():
    assert H36M.num_joints == 17
    assert H36M.root == 0
    assert len(H36M.edges) == 16
    assert H36M.names[H36M.parents[H36M.index("LShoulder")]] == "Thorax"
    perm = H36M.flip_permutation()
    np.testing.assert_array_equal(perm[perm], np.arange(17))
    for left, right in zip(H36M.joints_left, H36M.joints_right):
        assert H36M.names[left][1:] == H36M.names[right][1:]


def test_hop_distance_by_breadth_first_search():
    # Independent reference: BFS over the adjacency.
    adjacency = H36M.adjacency()
    hops = np.full(17, -1)
    hops[0] = 0
    frontier = [0]
    while frontier:
        nxt = []
        for j in frontier:
            for i in np.flatnonzero(adjacency[j]):
                if hops[i] < 0:
                    hops[i] = hops[j] + 1
                    nxt.append(i)
        frontier = nxt
    np.testing.assert_array_equal(H36M.hop_distance(), hops)
    assert H36M.hop_distance()[H36M.index("Head")] == 4


def test_spatial_partition():
    a = skeleton.spatial_partition(H36M)
    assert a.shape == (3, 17, 17)
    hops = H36M.hop_distance()
    # Subset 0 is the joint itself, 1 its parent, 2 its children; each
    # non-empty row of a subset averages its members.
    np.testing.assert_allclose(a[0], np.eye(17))
    for j in range(17):
        parent = H36M.parents[j]
        children = [c for c, p in enumerate(H36M.parents) if p == j]
        if parent >= 0:
            assert a[1, j, parent] == 1.0 and hops[parent] < hops[j]
            assert a[1, j].sum() == pytest.approx(1.0)
        else:
            assert a[1, j].sum() == 0.0
        if children:
            np.testing.assert_allclose(a[2, j, children], 1.0 / len(children))
        else:
            assert a[2, j].sum() == 0.0
    # Together the subsets cover exactly the neighbourhood.
    np.testing.assert_array_equal((a.sum(0) > 0), H36M.adjacency(self_loops=True) > 0)


def test_normalized_adjacency_is_symmetric_with_unit_spectral_radius():
    a = skeleton.normalized_adjacency()
    np.testing.assert_allclose(a, a.T)
    assert np.max(np.abs(np.linalg.eigvalsh(a))) == pytest.approx(1.0, abs=1e-5)


def test_coco_to_h36m():
    rng = np.random.default_rng(0)
    coco = rng.normal(size=(5, 17, 2)).astype(np.float32)
    h36m = skeleton.coco_to_h36m(coco)
    assert h36m.shape == (5, 17, 2)
    c = skeleton.COCO17.index
    np.testing.assert_allclose(h36m[:, H36M.index("LWrist")], coco[:, c("left_wrist")])
    np.testing.assert_allclose(h36m[:, H36M.index("RKnee")], coco[:, c("right_knee")])
    np.testing.assert_allclose(
        h36m[:, 0], (coco[:, c("left_hip")] + coco[:, c("right_hip")]) / 2, rtol=1e-6
    )
    # The conversion commutes with a horizontal flip of both layouts.
    flip_coco = coco[:, skeleton.COCO17.flip_permutation()] * [-1, 1]
    flip_h36m = h36m[:, H36M.flip_permutation()] * [-1, 1]
    np.testing.assert_allclose(skeleton.coco_to_h36m(flip_coco), flip_h36m, atol=1e-6)
    conf = rng.uniform(size=(5, 17))
    out = skeleton.coco_to_h36m_confidence(conf)
    hips = np.minimum(conf[:, c("left_hip")], conf[:, c("right_hip")])
    np.testing.assert_allclose(out[:, 0], hips, rtol=1e-6)
    with pytest.raises(ValueError, match="17"):
        skeleton.coco_to_h36m(np.zeros((5, 18, 2)))
