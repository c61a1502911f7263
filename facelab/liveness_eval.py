"""A labelled set of attack presentations, made from package photos, and its evaluation.

Every presentation is an attack: a photo (a "print") cut from a package photo around one
face, rendered into 640x480 camera frames by a pinhole camera as the print is held, moved,
tilted or shown on a screen in front of it, over a background, with sensor noise and JPEG
compression, or frames with forged timestamps. Each answers a random challenge the way an
attacker would try to: a print is tilted in the direction that pushes the apparent yaw
towards the prompted turn and pitched sharply to squash the eyes at a prompted blink.

Bona fide presentations cannot be made here. A live person blinking and turning their head
is not a transformation of a still photo, and frames faked to look like one would measure
the faking, not the scoring. The bona fide error rate (BPCER) must be measured on real
captures recorded with the capture page or SDK (docs/liveness.md says how).

Used by `manage.py evaluate_liveness` and the tests. Django-free.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import cv2
import numpy as np

from faceengine.engine import FaceEngine
from faceengine.imageio import RGBImage, decode, from_array
from faceengine.liveness import (
    CUES,
    DECISION_THRESHOLD,
    TURNS,
    CaptureFrame,
    draw_challenge,
    score_capture,
)
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

BONA_FIDE_NOTE = (
    "No bona fide presentations: a live person blinking and turning their head cannot be made "
    "from still photos, so BPCER is not measured here. Record real captures with the capture "
    "page or SDK and score them with the same code (docs/liveness.md)."
)


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


def _rotation(yaw: float, pitch: float, roll: float) -> FloatArray:
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
    rotation = _rotation(pose.yaw, pose.pitch, pose.roll)
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


# -- a turning head's geometry (not a person) ------------------------------------------


@dataclass(frozen=True)
class TexturedMesh:
    """A photo's face as a 3D surface: FaceMesh's 468 points with their depth, textured by
    the photo. Not a person: it cannot blink, its shape is FaceMesh's estimate, and turning
    it reveals no more of the head than the photo showed. It exists to check the geometry
    (does a surface with a face's depth, turned, escape the planar test and register as a
    turn?), which still photos cannot."""

    pixels: RGBImage
    points: FloatArray  # (468, 3), photo pixels, depth in the same scale
    triangles: np.ndarray  # (T, 3) indices into points


def textured_mesh(engine: FaceEngine, name: str, min_face_width: float = 200.0) -> TexturedMesh:
    image = decode(photo_bytes(name))
    pixels = image.pixels
    face = engine.analyze(image, embed=False)[0]
    if face.box[2] < min_face_width:  # small photos are enlarged, or FaceMesh sees mush
        factor = min_face_width / face.box[2]
        size = (round(pixels.shape[1] * factor), round(pixels.shape[0] * factor))
        pixels = np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_CUBIC), np.uint8)
        face = engine.analyze(from_array(pixels), embed=False)[0]
    points = face.landmarks.points.astype(np.float64)
    return TexturedMesh(pixels, points, _triangulate(points[:, :2], pixels.shape[1], pixels.shape[0]))


def _triangulate(points: FloatArray, width: int, height: int) -> np.ndarray:
    """Delaunay triangles over the points, as index triples."""
    subdivision = cv2.Subdiv2D((0, 0, width + 1, height + 1))
    index = {}
    for i, (x, y) in enumerate(points):
        subdivision.insert((float(x), float(y)))
        index[(round(float(x), 2), round(float(y), 2))] = i
    triangles = []
    for corners in np.asarray(subdivision.getTriangleList(), np.float64).reshape(-1, 3, 2):
        ids = [index.get((round(float(x), 2), round(float(y), 2))) for x, y in corners]
        if all(i is not None for i in ids):
            triangles.append(ids)
    return np.array(triangles, np.int64)


def render_turned(mesh: TexturedMesh, yaw: float) -> RGBImage:
    """The mesh turned by `yaw` degrees about a vertical axis 1.2 inter-ocular distances
    behind the face (> 0: towards the image's right, like `head_yaw`), seen by a pinhole
    camera; where the face was, the photo is filled in from around it."""
    h, w = mesh.pixels.shape[:2]
    p = mesh.points
    iod = float(np.linalg.norm(p[263, :2] - p[33, :2]))
    cx, cy = float(p[:, 0].mean()), float(p[:, 1].mean())
    depth = FOCAL + p[:, 2]
    solid = np.column_stack([(p[:, 0] - cx) * depth / FOCAL, (p[:, 1] - cy) * depth / FOCAL, depth])
    pivot = np.array([0.0, 0.0, FOCAL + 1.2 * iod])
    turned = (solid - pivot) @ _rotation(-yaw, 0, 0).T + pivot
    target = np.column_stack(
        [FOCAL * turned[:, 0] / turned[:, 2] + cx, FOCAL * turned[:, 1] / turned[:, 2] + cy]
    ).astype(np.float32)
    hull = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(p[:, :2]).astype(np.int32)), 255)
    mask = cv2.dilate(hull, np.ones((7, 7), np.uint8))
    frame = np.asarray(cv2.inpaint(mesh.pixels, mask, 5, cv2.INPAINT_TELEA), np.uint8)
    source = p[:, :2].astype(np.float32)
    for triangle in mesh.triangles[np.argsort(-turned[mesh.triangles, 2].mean(axis=1))]:
        _paint(frame, mesh.pixels, source[triangle], target[triangle])
    return frame


def _paint(frame: RGBImage, texture: RGBImage, source: FloatArray, target: FloatArray) -> None:
    """Copy one textured triangle, unless it faces away from the camera."""

    def signed_area(t: FloatArray) -> float:
        return float((t[1, 0] - t[0, 0]) * (t[2, 1] - t[0, 1]) - (t[1, 1] - t[0, 1]) * (t[2, 0] - t[0, 0]))

    if signed_area(target) * signed_area(source) <= 0:
        return
    h, w = frame.shape[:2]
    x0, y0 = np.maximum(np.floor(target.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(target.max(axis=0)).astype(int) + 1, (w, h))
    if x1 <= x0 or y1 <= y0:
        return
    offset = np.array([x0, y0], np.float32)
    matrix = cv2.getAffineTransform(source, target - offset)
    patch = cv2.warpAffine(texture, matrix, (int(x1 - x0), int(y1 - y0)), borderMode=cv2.BORDER_REFLECT)
    inside = np.zeros(patch.shape[:2], np.uint8)
    cv2.fillConvexPoly(inside, np.round(target - offset).astype(np.int32), 1)
    region = frame[y0:y1, x0:x1]
    region[inside > 0] = patch[inside > 0]


def turning_head(
    engine: FaceEngine, name: str, peak: float, *, seed: int = 0, fps: float = 10.0
) -> tuple[list[RGBImage], list[float]]:
    """Frames of the photo's textured mesh facing the camera, turning to `peak` degrees and
    back, with camera noise and JPEG, and their timestamps."""
    rng = np.random.default_rng(seed)
    mesh = textured_mesh(engine, name)
    path = [0.0, 0.0, 0.0, *np.linspace(0, peak, 6)[1:], *np.linspace(peak, 0, 6)[1:], 0.0, 0.0]
    frames = [camera_output(render_turned(mesh, float(yaw)), rng) for yaw in path]
    return frames, [round(0.05 + k / fps, 4) for k in range(len(frames))]


# -- evaluation --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    name: str
    attack_class: str
    hack_score: float
    failed_cues: tuple[str, ...]
    frames: int
    seconds: float


@dataclass
class ClassReport:
    presentations: int = 0
    scores: list[float] = field(default_factory=list)
    caught_by: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CUES, 0))
    caught_only_by: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CUES, 0))
    missed: list[str] = field(default_factory=list)

    @property
    def apcer(self) -> float:
        """Share of attack presentations classified bona fide (ISO/IEC 30107-3)."""
        return len(self.missed) / self.presentations if self.presentations else 0.0


def score_presentation(engine: FaceEngine, presentation: Presentation) -> Scored:
    started = time.perf_counter()
    result = score_capture(engine, presentation.capture(), presentation.actions)
    seconds = time.perf_counter() - started
    return Scored(
        name=presentation.name,
        attack_class=presentation.attack_class,
        hack_score=result.hack_score,
        failed_cues=tuple(cue for cue in CUES if not result.details[cue]["passed"]),
        frames=len(presentation.frames),
        seconds=seconds,
    )


def evaluate(
    engine: FaceEngine,
    seeds: int = 2,
    classes: Sequence[str] = ATTACK_CLASSES,
    *,
    prints: Sequence[str] | None = None,
    on_scored: Callable[[Scored], None] | None = None,
) -> list[Scored]:
    results = []
    for presentation in presentations(engine, seeds, classes, prints=prints):
        scored = score_presentation(engine, presentation)
        results.append(scored)
        if on_scored:
            on_scored(scored)
    return results


def summarise(results: Sequence[Scored]) -> dict[str, ClassReport]:
    reports: dict[str, ClassReport] = {}
    for scored in results:
        report = reports.setdefault(scored.attack_class, ClassReport())
        report.presentations += 1
        report.scores.append(scored.hack_score)
        for cue in scored.failed_cues:
            report.caught_by[cue] += 1
        if len(scored.failed_cues) == 1:
            report.caught_only_by[scored.failed_cues[0]] += 1
        if scored.hack_score < DECISION_THRESHOLD:
            report.missed.append(scored.name)
    return reports


@dataclass(frozen=True)
class GeometryCheck:
    name: str
    peak: float  # degrees the mesh was turned
    measured: float | None  # the turn's peak as `head_yaw` saw it, None when not found
    rigidity_evidence: float
    rigidity_passed: bool
    identity: float | None


GEOMETRY_PHOTOS = ("grace_hopper", "astronaut", "tom_hanks")


def geometry_checks(
    engine: FaceEngine, names: Sequence[str] = GEOMETRY_PHOTOS, peaks: Sequence[float] = (20.0, -20.0)
) -> list[GeometryCheck]:
    """Turn each photo's textured mesh and score it: does a surface with a face's depth pass
    the rigidity cue and register the turn? (Its blink is missing, so it always fails as a
    whole: it is not a bona fide presentation.)"""
    checks = []
    for name in names:
        for peak in peaks:
            frames, times = turning_head(engine, name, peak)
            action = "turn_left" if peak > 0 else "turn_right"
            capture = [CaptureFrame(f, t) for f, t in zip(frames, times, strict=True)]
            details = score_capture(engine, capture, ["blink", action]).details
            performed = details["actions"]["actions"]
            turn = next(
                (
                    entry
                    for entry in (performed if isinstance(performed, list) else [])
                    if entry["action"] == action and entry["found"]
                ),
                None,
            )
            checks.append(
                GeometryCheck(
                    name=name,
                    peak=peak,
                    measured=_number(turn["peak"]) if turn else None,
                    rigidity_evidence=_number(details["rigidity"]["evidence"]) or 0.0,
                    rigidity_passed=bool(details["rigidity"]["passed"]),
                    identity=_number(details["identity"]["min_confidence"]),
                )
            )
    return checks


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
