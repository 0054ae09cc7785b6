"""Pictures of lifted poses: an animation of the 3D skeleton beside its 2D
input, and a strip of chosen frames (matplotlib, no display needed)."""

import os

import numpy as np

from tfpose import fileio
from tfpose import skeleton as skeleton_lib

LEFT, RIGHT, CENTRE = "#d62728", "#1f77b4", "#444444"
GROUND = "#b5a98f"


def _colours(skeleton):
    left, right = set(skeleton.joints_left), set(skeleton.joints_right)
    return [LEFT if j in left else RIGHT if j in right else CENTRE
            for j in range(skeleton.num_joints)]


def _view_3d(poses_3d):
    """Camera frame (x right, y down, z forward) -> plot axes (x, depth, up)."""
    p = np.asarray(poses_3d, np.float64)
    return np.stack([p[..., 0], p[..., 2], -p[..., 1]], -1)


def _setup(figure_kwargs):
    """A figure on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.figure(**figure_kwargs), plt


def _limits(points):
    """Equal-aspect cube around all frames' points."""
    centre = 0.5 * (np.nanmax(points, (0, 1)) + np.nanmin(points, (0, 1)))
    radius = 0.5 * np.nanmax(np.nanmax(points, (0, 1)) - np.nanmin(points, (0, 1))) + 0.05
    return centre, radius


def _tick_step(radius):
    """Metres between ticks: at most 4 intervals across the cube's side."""
    return next((s for s in (0.1, 0.25, 0.5, 1.0, 2.0) if 2 * radius / s <= 4), 5.0)


def _ground_lines(centre, radius, height, step):
    """Floor grid segments at `height`, spanning the cube's x and depth."""
    lo, hi = centre[:2] - radius, centre[:2] + radius
    segments = []
    for axis in (0, 1):
        other = 1 - axis
        for value in np.arange(np.ceil(lo[axis] / step), np.floor(hi[axis] / step) + 1) * step:
            start, end = np.empty(3), np.empty(3)
            start[axis] = end[axis] = value
            start[other], end[other] = lo[other], hi[other]
            start[2] = end[2] = height
            segments.append([start, end])
    return segments


class _Panels:
    """The 2D and 3D axes of one frame column, redrawn per frame."""

    def __init__(self, figure, rows, columns, index, keypoints_2d, poses_3d, skeleton,
                 interpolated, image_size):
        self.skeleton = skeleton
        self.colours = _colours(skeleton)
        self.keypoints_2d = keypoints_2d
        self.points = _view_3d(poses_3d)
        self.interpolated = interpolated
        self.ax2d = figure.add_subplot(rows, columns, index)
        self.ax3d = figure.add_subplot(rows, columns, index + columns, projection="3d")
        if image_size:
            self.ax2d.set_xlim(0, image_size[0])
            self.ax2d.set_ylim(image_size[1], 0)
        else:
            lo, hi = np.nanmin(keypoints_2d, (0, 1)), np.nanmax(keypoints_2d, (0, 1))
            pad = 0.1 * (hi - lo).max() + 1e-3
            self.ax2d.set_xlim(lo[0] - pad, hi[0] + pad)
            self.ax2d.set_ylim(hi[1] + pad, lo[1] - pad)
        self.ax2d.set_aspect("equal")
        self.ax2d.set_xticks([])
        self.ax2d.set_yticks([])
        self.centre, self.radius = _limits(self.points)
        # Root-relative poses carry no height above the floor: the floor is
        # drawn under each frame's lowest joint (level for a level camera).
        self.ground = np.nanmin(self.points[..., 2], axis=1)

    def draw(self, t):
        from matplotlib.ticker import FormatStrFormatter, MultipleLocator
        from mpl_toolkits.mplot3d.art3d import Line3DCollection, Poly3DCollection

        a2, a3 = self.ax2d, self.ax3d
        for artist in list(a2.lines) + list(a2.collections):
            artist.remove()
        a3.cla()
        # Drawn in order (floor, shadow, skeleton): mplot3d's depth sort
        # would put the whole floor in front of the feet.
        a3.computed_zorder = False
        k, p = self.keypoints_2d[t], self.points[t]
        for j, parent in enumerate(self.skeleton.parents):
            if parent < 0:
                continue
            a2.plot(k[[j, parent], 0], k[[j, parent], 1], color=self.colours[j], lw=2)
            a3.plot(p[[j, parent], 0], p[[j, parent], 1], p[[j, parent], 2],
                    color=self.colours[j], lw=2)
        flagged = self.interpolated[t] if self.interpolated is not None else np.zeros(len(k), bool)
        a2.scatter(k[~flagged, 0], k[~flagged, 1], s=8, color="black")
        if flagged.any():
            a2.scatter(k[flagged, 0], k[flagged, 1], s=30, facecolors="none",
                       edgecolors="orange", label="interpolated")
        c, r = self.centre, self.radius
        step = _tick_step(r)
        ground = self.ground[t]
        if np.isfinite(ground):
            # A shaded floor with its own metre grid (the panes' grid, off,
            # would compete with it), and the skeleton's shadow on it.
            x0, x1, d0, d1 = c[0] - r, c[0] + r, c[1] - r, c[1] + r
            floor = Poly3DCollection([[(x0, d0, ground), (x1, d0, ground), (x1, d1, ground),
                                       (x0, d1, ground)]], facecolors=GROUND, alpha=0.35,
                                     edgecolors="none", label="ground")
            a3.add_collection3d(floor)
            a3.add_collection3d(Line3DCollection(
                _ground_lines(c, r, ground, step), colors="white", linewidths=0.8))
            for j, parent in enumerate(self.skeleton.parents):
                if parent >= 0:
                    a3.plot(p[[j, parent], 0], p[[j, parent], 1], [ground, ground],
                            color="#777777", lw=1.5, alpha=0.5)
            a3.grid(False)
        a3.set_xlim(c[0] - r, c[0] + r)
        a3.set_ylim(c[1] - r, c[1] + r)
        a3.set_zlim(c[2] - r, c[2] + r)
        a3.set_box_aspect((1, 1, 1))
        a3.view_init(elev=20, azim=-70)
        a3.set_xlabel("x, right (m)", fontsize=7, labelpad=-4)
        a3.set_ylabel("z, depth (m)", fontsize=7, labelpad=-4)
        a3.set_zlabel("-y, up (m)", fontsize=7, labelpad=-4)
        for axis in (a3.xaxis, a3.yaxis, a3.zaxis):
            axis.set_major_locator(MultipleLocator(step))
            axis.set_major_formatter(FormatStrFormatter("%g"))
        a3.tick_params(labelsize=6, pad=-2)
        a2.set_title(f"2D input, frame {t}", fontsize=9)
        a3.set_title("3D, root-relative", fontsize=9)


def animation(path, keypoints_2d, poses_3d, *, interpolated=None, image_size=None, fps=25,
              skeleton=skeleton_lib.H36M, max_frames=300):
    """Writes a GIF (or MP4, which needs ffmpeg) of the 3D skeleton beside
    the 2D input. Long sequences are subsampled to `max_frames` frames."""
    from matplotlib import animation as mpl_animation

    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    if extension not in (".gif", ".mp4"):
        raise ValueError(f"{path}: the animation must be a .gif or .mp4 file.")
    if extension == ".mp4" and not mpl_animation.FFMpegWriter.isAvailable():
        raise ValueError("Writing .mp4 needs ffmpeg on the PATH; write a .gif instead.")
    frames = np.arange(len(poses_3d))
    if len(frames) > max_frames:
        frames = np.linspace(0, len(frames) - 1, max_frames).round().astype(int)
        fps = max(1, int(round(fps * max_frames / len(poses_3d))))
    figure, plt = _setup(dict(figsize=(4, 7), dpi=80))
    panels = _Panels(figure, 2, 1, 1, keypoints_2d, poses_3d, skeleton, interpolated, image_size)
    figure.tight_layout()
    movie = mpl_animation.FuncAnimation(figure, lambda i: panels.draw(frames[i]),
                                        frames=len(frames), interval=1000 / fps)
    writer = (mpl_animation.PillowWriter(fps=fps) if extension == ".gif"
              else mpl_animation.FFMpegWriter(fps=fps))
    try:
        with fileio.atomic_path(path) as temporary:
            movie.save(temporary, writer=writer)
    finally:
        plt.close(figure)


def strip(path, keypoints_2d, poses_3d, frames, *, interpolated=None, image_size=None,
          skeleton=skeleton_lib.H36M):
    """Writes a PNG: one column per frame in `frames`, 2D above, 3D below."""
    path = os.fspath(path)
    if os.path.splitext(path)[1].lower() != ".png":
        raise ValueError(f"{path}: the strip must be a .png file.")
    frames = [int(t) for t in frames]
    bad = [t for t in frames if not 0 <= t < len(poses_3d)]
    if bad or not frames:
        raise ValueError(f"Frames {bad or frames} outside 0..{len(poses_3d) - 1}.")
    figure, plt = _setup(dict(figsize=(2.6 * len(frames), 5.5), dpi=90))
    for i, t in enumerate(frames):
        _Panels(figure, 2, len(frames), i + 1, keypoints_2d, poses_3d, skeleton, interpolated,
                image_size).draw(t)
    figure.tight_layout()
    try:
        with fileio.atomic_path(path) as temporary:
            figure.savefig(temporary)
    finally:
        plt.close(figure)
