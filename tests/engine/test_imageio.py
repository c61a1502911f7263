"""Decoding refuses hostile input with the engine's own errors, before decoding pixels."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from faceengine import (
    FaceEngine,
    ImageTooLarge,
    NoFaceFound,
    TooManyFaces,
    UnreadableImage,
    decode,
    read_header,
)
from facelab import bombs
from tests.conftest import encode, photo, pixels
from tests.images import png_declaring


def test_random_bytes_are_unreadable() -> None:
    with pytest.raises(UnreadableImage):
        decode(np.random.default_rng(1).bytes(5000))


def test_an_empty_file_is_unreadable() -> None:
    with pytest.raises(UnreadableImage):
        decode(b"")


def test_a_truncated_jpeg_is_unreadable() -> None:
    data = encode(pixels("astronaut"), "JPEG", quality=90)
    with pytest.raises(UnreadableImage):
        decode(data[: len(data) // 2])


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    bomb = png_declaring(5000, 5000)  # 25 Mpx declared over a few bytes
    for read in (read_header, decode):
        with pytest.raises(ImageTooLarge, match="5000x5000"):
            read(bomb)


def test_an_absurd_header_is_refused_without_decoding() -> None:
    with pytest.raises(ImageTooLarge):
        read_header(png_declaring(60000, 60000))


def test_an_unsupported_format_is_unreadable() -> None:
    buffer = io.BytesIO()
    Image.fromarray(pixels("astronaut")).save(buffer, "WEBP")
    with pytest.raises(UnreadableImage, match="unsupported"):
        decode(buffer.getvalue())


def test_exif_orientation_is_applied() -> None:
    image = Image.fromarray(pixels("astronaut")[:, :400])  # 400 wide, 512 high
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90-degree clockwise turn
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    decoded = decode(buffer.getvalue())
    assert (decoded.width, decoded.height) == (512, 400)
    assert decoded.pixels.shape == (400, 512, 3)


def test_the_first_frame_of_an_animated_gif_is_used() -> None:
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue", "green")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    decoded = decode(buffer.getvalue())
    assert tuple(decoded.pixels[16, 16]) == (255, 0, 0)


def test_a_jpeg_can_be_decoded_at_reduced_scale() -> None:
    from facelab.benchmark import jpeg_at

    decoded = decode(jpeg_at("astronaut", (4000, 3000)), max_side=1000)
    assert decoded.pixels.shape == (750, 1000, 3)
    assert decoded.scale == pytest.approx(0.25)


def test_transparent_png_becomes_white_not_black() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (20, 20), (0, 0, 0, 0)).save(buffer, "PNG")
    assert decode(buffer.getvalue()).pixels.min() == 255


def test_a_tiny_image_has_no_face(engine: FaceEngine) -> None:
    tiny = decode(encode(np.asarray(Image.fromarray(pixels("astronaut")).resize((12, 12))), "PNG"))
    with pytest.raises(NoFaceFound):
        engine.analyze(tiny, require_face=True)


def test_too_many_faces_names_the_count(engine: FaceEngine) -> None:
    with pytest.raises(TooManyFaces) as raised:
        engine.analyze(photo("group"), max_faces=4)
    assert raised.value.count == 6 and raised.value.limit == 4


def test_an_mpo_gives_its_first_picture_as_a_jpeg() -> None:
    red = np.full((32, 48, 3), (255, 0, 0), np.uint8)
    blue = np.full((32, 48, 3), (0, 0, 255), np.uint8)
    data = bombs.mpo([red, blue])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    header = read_header(data)
    assert (header.format, header.width, header.height) == ("JPEG", 48, 32)
    decoded = decode(data)
    assert decoded.format == "JPEG"
    assert np.abs(decoded.pixels[16, 24].astype(int) - (255, 0, 0)).max() < 8


def test_a_large_mpo_is_decoded_at_reduced_scale_with_its_orientation() -> None:
    photo = cv2.resize(pixels("astronaut"), (4000, 3000), interpolation=cv2.INTER_LINEAR)
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was held upright: display turned 90 degrees clockwise
    data = bombs.mpo([photo, photo[:300, :400]], exif=exif.tobytes())
    decoded = decode(data, max_side=1000)
    assert (decoded.width, decoded.height) == (3000, 4000)
    assert decoded.pixels.shape == (1000, 750, 3) and decoded.scale == pytest.approx(0.25)
