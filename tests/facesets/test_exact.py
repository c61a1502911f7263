"""The exact search and its per-worker cache (facesets/exact.py), on synthetic templates
written through facesets.services as the API writes them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from faceengine.embedding import similarity
from facesets import exact, services
from facesets.exact import ExactIndex
from facesets.models import FaceSet
from tests.facesets.synthetic import MODEL, add, fresh, unit


def test_the_best_matches_come_first_with_float64_scores(face_set: FaceSet) -> None:
    vectors = unit(300)
    ids = [add(face_set, v) for v in vectors]
    query = vectors[17] + 0.3 * unit(1)[0]
    found = ExactIndex().search(fresh(face_set), query, 10)
    expected = similarity(query[None], vectors)[0]
    order = np.argsort(-expected, kind="stable")[:10]
    assert [c.face_id for c in found] == [ids[i] for i in order]
    assert [c.cosine for c in found] == pytest.approx(expected[order].tolist(), abs=1e-12)
    assert found[0].face_id == ids[17]


def test_ties_are_broken_by_face_id(face_set: FaceSet) -> None:
    vector = unit(1)[0]
    ids = [add(face_set, vector) for _ in range(5)]
    found = ExactIndex().search(fresh(face_set), vector, 3)
    assert [c.face_id for c in found] == ids[:3] and {c.cosine for c in found} == {1.0}


def test_a_worker_sees_faces_added_and_deleted_by_another(
    face_set: FaceSet, django_assert_max_num_queries: Any
) -> None:
    one, two = ExactIndex(), ExactIndex()  # two workers' caches
    vectors = unit(50)
    for vector in vectors[:40]:
        add(face_set, vector)
    assert one.search(fresh(face_set), vectors[45], 1)[0].cosine < 0.9
    added = add(face_set, vectors[45])  # by "the other worker"
    current = fresh(face_set)
    with django_assert_max_num_queries(2):  # only the new rows are read (and the empty next chunk)
        assert one.search(current, vectors[45], 1)[0].face_id == added
    assert two.search(fresh(face_set), vectors[45], 1)[0].face_id == added
    services.face_delete(face_set=fresh(face_set), face_id=added)
    assert one.search(fresh(face_set), vectors[45], 1)[0].face_id != added
    one.search(fresh(face_set), vectors[3], 1)
    unchanged = fresh(face_set)
    with django_assert_max_num_queries(0):  # unchanged: nothing read
        one.search(unchanged, vectors[3], 1)


def test_person_ids_are_generated_above_every_one_seen_and_counts_stay_exact(face_set: FaceSet) -> None:
    vectors = unit(4)
    add(face_set, vectors[0], person_id=100)
    generated = services.face_add(
        face_set=face_set, face=services.NewFace(vectors[1], MODEL, None, None, [])
    ).person_id
    assert generated == 101
    add(face_set, vectors[2], person_id=5)
    assert (
        services.face_add(
            face_set=face_set, face=services.NewFace(vectors[3], MODEL, None, None, [])
        ).person_id
        == 102
    )
    assert fresh(face_set).face_count == 4


def test_an_empty_set_finds_nothing_and_the_cache_is_bounded(face_set: FaceSet, settings: Any) -> None:
    index = ExactIndex()
    assert index.search(fresh(face_set), unit(1)[0], 5) == []
    settings.FACEPORTAL_FACESET_CACHE_FACES = 10
    other = services.faceset_create(account=face_set.account, name="other", desc="", model=MODEL)
    for vector in unit(8):
        add(face_set, vector)
        add(other, vector)
    index.search(fresh(face_set), unit(1)[0], 1)
    index.search(fresh(other), unit(1)[0], 1)
    assert index.cached_bytes() == (8 + 1024) * (128 * 4 + 24)  # one set kept, with room for adds


def test_a_set_read_whole_takes_its_size_not_a_doubling(
    face_set: FaceSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exact, "READ_CHUNK", 500)  # read in five chunks
    for vector in unit(2500):
        add(face_set, vector)
    index = ExactIndex()
    index.search(fresh(face_set), unit(1)[0], 1)
    assert index.cached_bytes() == (2500 + 1024) * (128 * 4 + 24)  # not 4096 rows (chunks doubled)


def test_a_template_must_be_finite(face_set: FaceSet) -> None:
    with pytest.raises(ValueError, match="finite"):
        add(face_set, np.full(128, np.nan, np.float32))
    assert fresh(face_set).face_count == 0
