"""Synthetic attack presentations, made from package photos: the labelled set that
`facelab.liveness_eval` scores.

Every presentation is an attack: a photo (a "print") cut from a package photo around one
face, rendered into 640x480 camera frames by a pinhole camera as the print is held, moved,
tilted or shown on a screen in front of it, over a background, with sensor noise and JPEG
compression, or frames with forged timestamps. Each answers a random challenge the way an
attacker would try to: a print is tilted in the direction that pushes the apparent yaw
towards the prompted turn and pitched sharply to squash the eyes at a prompted blink.

Here: the prints (`load_prints`), the camera and its rendering (`render`, `camera_output`,
`as_screen`, `background`), timing and motion paths, and the attack classes
(`ATTACK_CLASSES`, `presentations`). The evaluation, the report and the turning-head
geometry check live in `facelab.liveness_eval`; this module knows nothing of scores.

Used by `facelab.liveness_eval`, `manage.py evaluate_liveness` and the tests. Django-free.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from faceengine.engine import FaceEngine
from faceengine.imageio import RGBImage, decode
from faceengine.liveness import TURNS, CaptureFrame, draw_challenge
from faceengine.runtime import FloatArray
from facelab.testdata import photo_bytes

ATTACK_CLASSES = (
    "photo_repeated",
    "photo_moved_in_plane",
    "photo_perspective",
    "screen_replay",
    "two_people",
    "timestamps_shuffled",
    "timestamps_replayed",
)
SINGLE_FACE_PHOTOS = ("astronaut", "grace_hopper", "tom_hanks", "camera")
GROUP_PHOTO = "group"
BACKGROUND_PHOTO = "coffee"  # no face in it

WIDTH, HEIGHT = 640, 480
FOCAL = 600.0  # pixels: about 56 degrees across 640 px, a laptop or phone front camera
PRINT_MARGIN = 2.6  # the print shows this many face widths around the face
FACE_WIDTH = (170.0, 230.0)  # face width in the frame, pixels
# FaceMesh's yaw of a print rises when the print's image-right edge moves away from the
# camera (a negative tilt here), as a face turning towards the image's right would look:
# measured on the package photos (up to +10 degrees at -50). An attacker learns the same.
TILT_FOR_TURN = {"turn_left": -1.0, "turn_right": 1.0}


class Presentation(NamedTuple):
    name: str
    attack_class: str
    frames: list[RGBImage]
    timestamps: list[float]
    actions: tuple[str, ...]

    def capture(self) -> list[CaptureFrame]:
        return [CaptureFrame(pixels, t) for pixels, t in zip(self.frames, self.timestamps, strict=True)]


@dataclass(frozen=True)
class Print:
    """A face photo as an attacker prints it or shows it on a screen."""

    name: str
    pixels: RGBImage
    centre: tuple[float, float]  # the face's centre in the print's pixels
    face_width: float  # in the print's pixels


@dataclass(frozen=True)
class PrintPose:
    """Where the print is: tilts in degrees (yaw about its vertical axis, pitch about its
    horizontal one, roll in its plane), the face's shift from the image centre and width."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)
    face_width: float = 200.0


def load_prints(engine: FaceEngine) -> list[Print]:
    """One print per face: the single-face package photos, and every face of the group photo."""
    prints = []
    for name in (*SINGLE_FACE_PHOTOS, GROUP_PHOTO):
        image = decode(photo_bytes(name))
        pixels = image.pixels
        faces = engine.analyze(image, embed=False)
        chosen = faces if name == GROUP_PHOTO else faces[:1]
        for k, face in enumerate(sorted(chosen, key=lambda f: f.box[0])):
            label = f"{name}_{k + 1}" if name == GROUP_PHOTO else name
            prints.append(_crop_print(label, pixels, face.box))
    return prints


def _crop_print(name: str, pixels: RGBImage, box: tuple[float, float, float, float]) -> Print:
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    half = PRINT_MARGIN * max(w, h) / 2
    x0, y0 = max(0, round(cx - half)), max(0, round(cy - half))
    x1, y1 = min(pixels.shape[1], round(cx + half)), min(pixels.shape[0], round(cy + half))
    crop = np.ascontiguousarray(pixels[y0:y1, x0:x1])
    return Print(name, crop, (cx - x0, cy - y0), float(w))


# -- rendering -----------------------------------------------------------------------


def rotation_matrix(yaw: float, pitch: float, roll: float) -> FloatArray:
    a, b, c = (math.radians(v) for v in (yaw, pitch, roll))
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return np.asarray(ry @ rx @ rz, np.float64)


def print_homography(printed: Print, pose: PrintPose) -> FloatArray:
    """Print pixels -> frame pixels for a flat print at `pose`, seen by a pinhole camera.

    The print's face centre sits at depth FOCAL on the optical axis (plus `shift`), scaled so
    that the face is `face_width` pixels wide when the print faces the camera.
    """
    camera = np.array([[FOCAL, 0, WIDTH / 2], [0, FOCAL, HEIGHT / 2], [0, 0, 1]])
    scale = pose.face_width / printed.face_width
    cu, cv_ = printed.centre
    to_plane = np.array([[scale, 0, -scale * cu], [0, scale, -scale * cv_], [0, 0, 1.0]])
    rotation = rotation_matrix(pose.yaw, pose.pitch, pose.roll)
    placed = np.column_stack([rotation[:, 0], rotation[:, 1], [pose.shift[0], pose.shift[1], FOCAL]])
    matrix = camera @ placed @ to_plane
    return np.asarray(matrix / matrix[2, 2], np.float64)


def render(printed: Print, pose: PrintPose, background: RGBImage) -> RGBImage:
    """The print at `pose` over the background, lit a little less as it tilts away."""
    matrix = print_homography(printed, pose)
    size = (WIDTH, HEIGHT)
    warped = cv2.warpPerspective(printed.pixels, matrix, size, flags=cv2.INTER_LINEAR)
    inside = cv2.warpPerspective(
        np.full(printed.pixels.shape[:2], 255, np.uint8), matrix, size, flags=cv2.INTER_LINEAR
    )
    tilt = math.radians(math.hypot(pose.yaw, pose.pitch))
    light = 0.8 + 0.2 * math.cos(tilt)
    alpha = inside[:, :, None].astype(np.float32) / 255.0
    frame = alpha * warped.astype(np.float32) * light + (1 - alpha) * background.astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


def camera_output(frame: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Sensor noise, then the JPEG compression the SDK applies."""
    noise = rng.integers(-3, 4, size=frame.shape, dtype=np.int16)
    noisy = np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(noisy, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:
        raise RuntimeError("JPEG round trip failed")
    return np.asarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), np.uint8)


def as_screen(printed: Print, rng: np.random.Generator) -> Print:
    """The photo on a phone screen: brighter and bluer (emitted light), a pixel-grid pattern
    that aliases into moire once resampled by the camera, and a black bezel."""
    pixels = printed.pixels.astype(np.float32)
    h, w = pixels.shape[:2]
    period = float(rng.uniform(2.5, 4.5))
    angle = float(rng.uniform(0, math.pi))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grid = 1 + 0.12 * np.sin(2 * math.pi * (xx * math.cos(angle) + yy * math.sin(angle)) / period)
    pixels = 255 * (pixels / 255) ** 0.85 * grid[:, :, None] + np.array([-6, 0, 10], np.float32)
    border = max(4, round(0.06 * max(h, w)))
    framed = cv2.copyMakeBorder(
        np.clip(pixels, 0, 255).astype(np.uint8),
        border,
        border,
        border,
        border,
        cv2.BORDER_CONSTANT,
        value=(8, 8, 8),
    )
    cx, cy = printed.centre
    return Print(printed.name, framed, (cx + border, cy + border), printed.face_width)


def background(rng: np.random.Generator) -> RGBImage:
    room = decode(photo_bytes(BACKGROUND_PHOTO)).pixels
    big = cv2.resize(room, (round(WIDTH * 1.3), round(HEIGHT * 1.3)), interpolation=cv2.INTER_LINEAR)
    x, y = int(rng.integers(0, big.shape[1] - WIDTH)), int(rng.integers(0, big.shape[0] - HEIGHT))
    crop = big[y : y + HEIGHT, x : x + WIDTH]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return np.ascontiguousarray((crop * 0.6).astype(np.uint8))


# -- timing and motion -------------------------------------------------------------------


def capture_times(rng: np.random.Generator) -> list[float]:
    """A plausible capture: 24-32 frames at 10, 12 or 15 fps with jitter."""
    count = int(rng.integers(24, 33))
    fps = float(rng.choice([10.0, 12.0, 15.0]))
    jitter = rng.uniform(-0.15, 0.15, count) / fps
    return [round(0.05 + k / fps + float(jitter[k]), 4) for k in range(count)]


def _smooth(rng: np.random.Generator, count: int, amplitude: float, knots: int = 4) -> FloatArray:
    """A smooth random path through `knots` random values in +-amplitude."""
    values = rng.uniform(-amplitude, amplitude, knots)
    return np.interp(np.linspace(0, knots - 1, count), np.arange(knots), values)


def _held_pose(rng: np.random.Generator) -> PrintPose:
    return PrintPose(
        yaw=float(rng.uniform(-8, 8)),
        pitch=float(rng.uniform(-8, 8)),
        roll=float(rng.uniform(-5, 5)),
        shift=(float(rng.uniform(-40, 40)), float(rng.uniform(-30, 30))),
        face_width=float(rng.uniform(*FACE_WIDTH)),
    )


def in_plane_path(rng: np.random.Generator, count: int) -> list[PrintPose]:
    """A print moved parallel to the sensor: translated, turned in its plane, brought closer."""
    width = float(rng.uniform(*FACE_WIDTH))
    dx, dy = _smooth(rng, count, 70), _smooth(rng, count, 50)
    roll, zoom = _smooth(rng, count, 20), _smooth(rng, count, 0.2)
    return [
        PrintPose(roll=float(roll[k]), shift=(float(dx[k]), float(dy[k])), face_width=width * (1 + zoom[k]))
        for k in range(count)
    ]


def adversarial_path(
    rng: np.random.Generator, times: Sequence[float], actions: Sequence[str]
) -> list[PrintPose]:
    """A print tilted to answer the challenge: for a turn, swung about its vertical axis
    (30-55 degrees) in the direction that moves the apparent yaw the prompted way, and back;
    for a blink, pitched sharply (50-65 degrees) for a moment and back. Some drift besides."""
    count = len(times)
    yaw, pitch = np.zeros(count), np.zeros(count)
    slots = np.linspace(0.15, 0.95, len(actions) + 1)
    duration = times[-1] - times[0]
    t = (np.asarray(times) - times[0]) / duration
    for action, begin, end in zip(actions, slots[:-1], slots[1:], strict=True):
        middle, half = (begin + end) / 2, (end - begin) / 2
        if action in TURNS:
            bump = np.clip(1 - np.abs(t - middle) / (0.8 * half), 0, 1)
            yaw += TILT_FOR_TURN[action] * float(rng.uniform(30, 55)) * np.minimum(1, 1.6 * bump)
        else:
            bump = np.clip(1 - np.abs(t - middle) / (0.35 * half), 0, 1)
            pitch += float(rng.choice([-1, 1])) * float(rng.uniform(50, 65)) * np.minimum(1, 2 * bump)
    held = _held_pose(rng)
    dx, dy, roll = _smooth(rng, count, 25), _smooth(rng, count, 20), _smooth(rng, count, 6)
    return [
        PrintPose(
            yaw=held.yaw + float(yaw[k]),
            pitch=held.pitch + float(pitch[k]),
            roll=held.roll + float(roll[k]),
            shift=(held.shift[0] + float(dx[k]), held.shift[1] + float(dy[k])),
            face_width=held.face_width,
        )
        for k in range(count)
    ]


# -- the attack classes ------------------------------------------------------------------


@dataclass(frozen=True)
class _Setting:
    rng: np.random.Generator
    challenge: random.Random
    prints: list[Print]
    index: int  # this presentation's print
    seed: int

    @property
    def printed(self) -> Print:
        return self.prints[self.index]

    @property
    def other(self) -> Print:
        """Someone else: a different print, further along for each seed."""
        step = 1 + self.seed % (len(self.prints) - 1)
        return self.prints[(self.index + step) % len(self.prints)]


def _frames(setting: _Setting, prints: Sequence[Print], poses: Sequence[PrintPose]) -> list[RGBImage]:
    room = background(setting.rng)
    return [camera_output(render(p, pose, room), setting.rng) for p, pose in zip(prints, poses, strict=True)]


def _actions(setting: _Setting) -> tuple[str, ...]:
    return draw_challenge(setting.challenge, length=setting.challenge.choice([2, 3]))


def _photo_repeated(setting: _Setting) -> tuple[list[RGBImage], list[float], str]:
    """One photo: even presentations send one frame N times, odd ones a print held perfectly
    still in front of a live camera (fresh sensor noise on every frame)."""
    times = capture_times(setting.rng)
    room = background(setting.rng)
    still = render(setting.printed, _held_pose(setting.rng), room)
    if (setting.index + setting.seed) % 2 == 0:
        frame = camera_output(still, setting.rng)
        return [frame.copy() for _ in times], times, "identical frames"
    return [camera_output(still, setting.rng) for _ in times], times, "held still"


def _photo_moved_in_plane(setting: _Setting) -> tuple[list[RGBImage], list[float], str]:
    times = capture_times(setting.rng)
    poses = in_plane_path(setting.rng, len(times))
    return _frames(setting, [setting.printed] * len(times), poses), times, "moved in plane"


def _photo_perspective(setting: _Setting, actions: Sequence[str]) -> tuple[list[RGBImage], list[float], str]:
    times = capture_times(setting.rng)
    poses = adversarial_path(setting.rng, times, actions)
    return _frames(setting, [setting.printed] * len(times), poses), times, "tilted to the challenge"


def _screen_replay(setting: _Setting, actions: Sequence[str]) -> tuple[list[RGBImage], list[float], str]:
    times = capture_times(setting.rng)
    screen = as_screen(setting.printed, setting.rng)
    poses = adversarial_path(setting.rng, times, actions)
    return _frames(setting, [screen] * len(times), poses), times, "screen tilted to the challenge"


def _two_people(setting: _Setting) -> tuple[list[RGBImage], list[float], str]:
    """Two people's photos: alternating frame by frame, switching halfway, or the second
    person shown for a few frames in the middle (to fake a turn with a face turned otherwise)."""
    times = capture_times(setting.rng)
    count = len(times)
    pattern = (setting.index + setting.seed) % 3
    if pattern == 0:
        second = [k % 2 == 1 for k in range(count)]
        how = "alternating"
    elif pattern == 1:
        second = [k >= count // 2 for k in range(count)]
        how = "switching halfway"
    else:
        middle = count // 2
        second = [middle - 2 <= k < middle + 2 for k in range(count)]
        how = "second person mid-capture"
    prints = [setting.other if s else setting.printed for s in second]
    poses = in_plane_path(setting.rng, count)
    return _frames(setting, prints, poses), times, f"{how} with {setting.other.name}"


def _timestamps_shuffled(setting: _Setting) -> tuple[list[RGBImage], list[float], str]:
    frames, times, _ = _photo_moved_in_plane(setting)
    order = setting.rng.permutation(len(times))
    while np.all(np.diff(order) > 0):
        order = setting.rng.permutation(len(times))
    return frames, [times[k] for k in order], "shuffled"


def _timestamps_replayed(setting: _Setting) -> tuple[list[RGBImage], list[float], str]:
    """Frames re-sent with earlier timestamps: a stretch replayed, or every stamp doubled."""
    frames, times, _ = _photo_moved_in_plane(setting)
    if (setting.index + setting.seed) % 2 == 0:
        half = len(times) // 2
        return frames, times[:half] + times[: len(times) - half], "first half's stamps replayed"
    doubled = [times[k // 2] for k in range(len(times))]
    return frames, doubled, "every stamp sent twice"


def presentations(
    engine: FaceEngine,
    seeds: int = 2,
    classes: Sequence[str] = ATTACK_CLASSES,
    *,
    prints: Sequence[str] | None = None,
    first_seed: int = 0,
) -> Iterator[Presentation]:
    """Every class x seed x print, made lazily (a presentation is ~25 MB of frames).

    `prints` restricts to the named prints (for quick tests); seeds are reproducible."""
    unknown = set(classes) - set(ATTACK_CLASSES)
    if unknown:
        raise ValueError(f"unknown attack classes {sorted(unknown)}")
    available = load_prints(engine)
    chosen = [i for i, p in enumerate(available) if prints is None or p.name in prints]
    for seed in range(first_seed, first_seed + seeds):
        for attack_class in classes:
            for i in chosen:
                class_index = ATTACK_CLASSES.index(attack_class)
                setting = _Setting(
                    rng=np.random.default_rng([seed, class_index, i]),
                    challenge=random.Random(f"{seed}-{class_index}-{i}"),
                    prints=available,
                    index=i,
                    seed=seed,
                )
                actions = _actions(setting)
                frames, times, how = _make(attack_class, setting, actions)
                name = f"{attack_class}/{available[i].name}/seed{seed}: {how}"
                yield Presentation(name, attack_class, frames, times, actions)


def _make(
    attack_class: str, setting: _Setting, actions: Sequence[str]
) -> tuple[list[RGBImage], list[float], str]:
    if attack_class == "photo_perspective":
        return _photo_perspective(setting, actions)
    if attack_class == "screen_replay":
        return _screen_replay(setting, actions)
    makers: dict[str, Callable[[_Setting], tuple[list[RGBImage], list[float], str]]] = {
        "photo_repeated": _photo_repeated,
        "photo_moved_in_plane": _photo_moved_in_plane,
        "two_people": _two_people,
        "timestamps_shuffled": _timestamps_shuffled,
        "timestamps_replayed": _timestamps_replayed,
    }
    return makers[attack_class](setting)
