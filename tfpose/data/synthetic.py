"""Procedural human motion on the H36M skeleton: the embedded default data.

No download needed: every sequence is made by forward kinematics from joint
angles that follow simple periodic gait and exercise patterns, on a body
with random proportions. It is not a substitute for motion capture; it lets
the demo, the tests and a fresh checkout train and evaluate end to end.

Actions: `walking`, `running` (both round circles of 1.5-2 m radius),
`squatting`, `arm_swings`, `turning` (walking round a tight circle). Each
sequence draws its body size and bone proportions, cadence, stride, phase,
heading, turning rate and a slow random sway of the torso and head.

Body frame at rest: the subject faces +Y, its right is +X, +Z is up.
"""

import numpy as np

from tfpose import skeleton as skeleton_lib
from tfpose.data.sequence import Sequence

ACTIONS = ("walking", "running", "squatting", "arm_swings", "turning")

# Rest offsets (metres, parent -> joint) of an average adult, H36M order.
_REST = np.array(
    [
        [0.0, 0.0, 0.0],  # Hip
        [0.13, 0.0, 0.0], [0.0, 0.0, -0.45], [0.0, 0.0, -0.44],  # right leg
        [-0.13, 0.0, 0.0], [0.0, 0.0, -0.45], [0.0, 0.0, -0.44],  # left leg
        [0.0, 0.0, 0.23], [0.0, 0.0, 0.25], [0.0, 0.02, 0.12],  # spine, thorax, neck
        [0.0, -0.02, 0.115],  # head
        [-0.15, 0.0, 0.0], [0.0, 0.0, -0.28], [0.0, 0.0, -0.25],  # left arm
        [0.15, 0.0, 0.0], [0.0, 0.0, -0.28], [0.0, 0.0, -0.25],  # right arm
    ],
    np.float64,
)
_ANKLE_HEIGHT = 0.08


def _rot_x(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([o, z, z, z, c, -s, z, s, c], -1).reshape(a.shape + (3, 3))


def _rot_y(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([c, z, s, z, o, z, -s, z, c], -1).reshape(a.shape + (3, 3))


def _rot_z(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([c, -s, z, s, c, z, z, z, o], -1).reshape(a.shape + (3, 3))


def forward_kinematics(offsets, local_rotations, root_rotation, root_position):
    """H36M forward kinematics.

    A joint's local rotation turns the bones of its children.

    Args:
        offsets: `[J, 3]` rest offsets from each joint's parent.
        local_rotations: `[T, J, 3, 3]`.
        root_rotation: `[T, 3, 3]` body -> world.
        root_position: `[T, 3]`.

    Returns:
        `[T, J, 3]` positions.
    """
    parents = skeleton_lib.H36M.parents
    num_frames = len(root_position)
    glob = [None] * len(parents)
    pos = np.zeros((num_frames, len(parents), 3))
    for j, p in enumerate(parents):
        if p < 0:
            glob[j] = root_rotation @ local_rotations[:, j]
            pos[:, j] = root_position
        else:
            pos[:, j] = pos[:, p] + np.einsum("tab,b->ta", glob[p], offsets[j])
            glob[j] = glob[p] @ local_rotations[:, j]
    return pos


def _smooth_noise(rng, num_frames, fps, scale, period=2.0):
    """Slow random wobble: sum of two random sinusoids, amplitude ~`scale`."""
    t = np.arange(num_frames) / fps
    out = np.zeros(num_frames)
    for _ in range(2):
        f = rng.uniform(0.5, 1.5) / period
        out += scale * rng.uniform(0.3, 0.7) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return out


def random_body(rng):
    """Rest offsets `[17, 3]` of a random body, 1.5-1.95 m tall."""
    scale = rng.uniform(0.88, 1.08)
    jitter = rng.uniform(0.93, 1.07, size=17)
    # Mirror-symmetric proportions: the left side reuses the right's factors.
    for left, right in zip(skeleton_lib.H36M.joints_left, skeleton_lib.H36M.joints_right):
        jitter[left] = jitter[right]
    return _REST * scale * jitter[:, None]


def generate_motion(action, num_frames, fps, rng, offsets=None):
    """World poses `[T, 17, 3]` (metres, +Z up) of one procedural motion."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown synthetic action {action!r}; expected one of {ACTIONS}.")
    if num_frames < 1:
        raise ValueError(f"`num_frames` must be >= 1, got {num_frames}.")
    offsets = random_body(rng) if offsets is None else offsets
    t = np.arange(num_frames) / fps
    names = skeleton_lib.H36M.index
    flex = np.zeros((num_frames, 17))  # rotation about the body's right axis
    abduct = np.zeros((num_frames, 17))  # about the forward axis
    twist = np.zeros((num_frames, 17))  # about the vertical axis
    speed, turn_rate = 0.0, 0.0
    phase0 = rng.uniform(0, 2 * np.pi)

    if action in ("walking", "turning", "running"):
        running = action == "running"
        cadence = rng.uniform(1.3, 1.6) if running else rng.uniform(0.8, 1.05)
        phase = 2 * np.pi * cadence * t + phase0
        hip_amp = rng.uniform(0.55, 0.8) if running else rng.uniform(0.3, 0.45)
        knee_amp = rng.uniform(1.2, 1.6) if running else rng.uniform(0.55, 0.8)
        arm_amp = rng.uniform(0.5, 0.8) if running else rng.uniform(0.2, 0.4)
        for side, shift in (("R", 0.0), ("L", np.pi)):
            ph = phase + shift
            flex[:, names(side + "Hip")] = hip_amp * np.sin(ph) + (0.1 if running else 0.0)
            # The knee bends most while the leg swings forward.
            flex[:, names(side + "Knee")] = -(0.1 + knee_amp * np.clip(np.sin(ph + 1.2), 0, None))
            arm = "L" if side == "R" else "R"  # arms swing against the legs
            flex[:, names(arm + "Shoulder")] = arm_amp * np.sin(ph)
            flex[:, names(arm + "Elbow")] = (
                rng.uniform(1.2, 1.6) if running else 0.25 + 0.15 * np.sin(ph) ** 2
            )
        flex[:, names("Hip")] = -rng.uniform(0.1, 0.25) if running else -0.03
        speed = rng.uniform(2.2, 3.0) if running else rng.uniform(1.0, 1.5)
        # Locomotion goes round a circle so that the subject stays in a
        # studio-sized area (virtual cameras stand 4-6 m from its centre).
        radius = rng.uniform(0.8, 1.4) if action == "turning" else rng.uniform(1.5, 2.0)
        turn_rate = rng.choice([-1.0, 1.0]) * speed / radius
        if action == "turning":
            twist[:, names("Spine")] = 0.15 * np.sign(turn_rate)
    elif action == "squatting":
        rate = rng.uniform(0.25, 0.45)
        depth = 0.5 * (1 - np.cos(2 * np.pi * rate * t + phase0)) * rng.uniform(0.7, 1.0)
        for side in ("R", "L"):
            flex[:, names(side + "Hip")] = 1.4 * depth
            flex[:, names(side + "Knee")] = -2.0 * depth
            flex[:, names(side + "Shoulder")] = 1.4 * depth * rng.uniform(0.6, 1.0)
            flex[:, names(side + "Elbow")] = 0.2
        flex[:, names("Spine")] = -0.5 * depth
        abduct[:, names("RHip")] = -0.15
        abduct[:, names("LHip")] = 0.15
        turn_rate = rng.uniform(-0.1, 0.1)
    elif action == "arm_swings":
        rate = rng.uniform(0.4, 0.9)
        phase = 2 * np.pi * rate * t + phase0
        together = rng.random() < 0.5
        for side, shift in (("R", 0.0), ("L", 0.0 if together else np.pi)):
            sign = 1.0 if side == "R" else -1.0
            flex[:, names(side + "Shoulder")] = 1.3 * np.sin(phase + shift) + 0.6
            abduct[:, names(side + "Shoulder")] = -sign * (0.5 + 0.4 * np.cos(phase + shift))
            flex[:, names(side + "Elbow")] = 0.2 + 0.3 * (1 + np.sin(phase + shift))
        twist[:, names("Spine")] = 0.2 * np.sin(phase)
        turn_rate = rng.uniform(-0.1, 0.1)

    # Slow sway of torso and head, some idle motion everywhere.
    flex[:, names("Spine")] += _smooth_noise(rng, num_frames, fps, 0.08)
    abduct[:, names("Spine")] += _smooth_noise(rng, num_frames, fps, 0.06)
    flex[:, names("Neck/Nose")] += _smooth_noise(rng, num_frames, fps, 0.15)
    twist[:, names("Neck/Nose")] += _smooth_noise(rng, num_frames, fps, 0.3)

    local = _rot_z(twist) @ _rot_y(abduct) @ _rot_x(flex)
    heading = rng.uniform(0, 2 * np.pi) + turn_rate * t
    velocity = speed * np.stack([-np.sin(heading), np.cos(heading)], -1)  # body faces +Y
    xy = np.cumsum(velocity, axis=0) / fps
    xy += rng.uniform(-1.0, 1.0, size=2) - xy[0]
    position = np.concatenate([xy, np.zeros((num_frames, 1))], -1)
    poses = forward_kinematics(offsets, local, _rot_z(heading), position)
    # Keep the lower ankle on the ground.
    ankles = poses[:, [names("RFoot"), names("LFoot")], 2].min(axis=1)
    poses[..., 2] += (_ANKLE_HEIGHT - ankles)[:, None]
    return poses.astype(np.float32)


def generate(
    num_sequences=40, num_frames=400, fps=50.0, seed=0, actions=ACTIONS, prefix="synthetic"
):
    """A procedural dataset of `Sequence`s (subjects `"<prefix>_<i>"`).

    Each sequence is a new random body; actions cycle through `actions`.

    Args:
        num_sequences: how many sequences.
        num_frames: frames per sequence.
        fps: frame rate.
        seed: random seed; the same seed gives the same data.
        actions: subset of `ACTIONS`.
        prefix: subject names are `f"{prefix}_{i}"`.
    """
    if num_sequences < 1:
        raise ValueError(f"`num_sequences` must be >= 1, got {num_sequences}.")
    rng = np.random.default_rng(seed)
    sequences = []
    for i in range(num_sequences):
        action = actions[i % len(actions)]
        poses = generate_motion(action, num_frames, fps, rng)
        sequences.append(Sequence(poses, subject=f"{prefix}_{i}", action=action, fps=fps))
    return sequences
