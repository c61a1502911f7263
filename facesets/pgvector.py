"""Face-set search on PostgreSQL with pgvector's HNSW index, for the sets too large to keep
as a matrix in every worker (docs/facesets-scale.md).

Where the database has the `vector` extension, migration 0002 gives facesets_enrolledface an
`embedding vector(128)` column, filled from `template` by a trigger (so every writer keeps it
current: the API, the admin, recompute_faceset_templates, a bulk load) and an HNSW index on
it by inner product (templates are unit vectors, so that is the cosine's order). Nothing in
Django knows the column: the model keeps `template`, which stays the source of truth.

A search asks the index for more candidates than wanted (exact.RESCORE_MARGIN), with
iterative scan on so that the set filter still fills them, then scores them again in float64
exactly as the exact path does (exact.rescored): the same face gets the same score on both
paths; what HNSW can change is only which faces are candidates (its recall, measured by
benchmark_search). A search the index could not fill (a small set among many faces, beyond
hnsw.max_scan_tuples) is answered by the exact path instead.
"""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from facesets import exact
from facesets.exact import Candidate
from facesets.models import EnrolledFace, FaceSet
from facesets.templates import DTYPE, matrix

DIMENSION = 128  # the column's (faceengine.sface); sets of another dimension stay exact
TABLE = EnrolledFace._meta.db_table

INDEX = "enrolledface_hnsw"
# m and ef_construction: docs/facesets-scale.md has what was measured with each.
M, EF_CONSTRUCTION = 16, 64


def index_sql(m: int = M, ef_construction: int = EF_CONSTRUCTION) -> str:
    return (
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON {TABLE} USING hnsw (embedding vector_ip_ops)"
        f" WITH (m = {int(m)}, ef_construction = {int(ef_construction)})"
    )


# The template's float32 little-endian bytes decoded into a vector in SQL: PostgreSQL has no
# reinterpreting cast, so each float is rebuilt from its sign, exponent and mantissa, exactly
# (every float32 is a float8, and back). NULL, so not in the index, for bytes that are not a
# template of this dimension or hold an infinity or NaN (exponent 255), which the API never
# writes (facesets/templates.py).
INSTALL = [
    "CREATE EXTENSION IF NOT EXISTS vector",
    f"""
    CREATE OR REPLACE FUNCTION faceportal_template_vector(t bytea) RETURNS vector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
      SELECT CASE WHEN length(t) <> {4 * DIMENSION} OR bool_or(e = 255) THEN NULL ELSE
        array_agg(
          (CASE WHEN e = 0 THEN m * power(2::float8, -149)
                ELSE (8388608 + m) * power(2::float8, e - 150) END) * (1 - 2 * s)
          ORDER BY i)::real[]::vector({DIMENSION})
        END
      FROM (SELECT i,
                   (get_byte(t, 4 * i + 3) >> 7) AS s,
                   (((get_byte(t, 4 * i + 3) & 127) << 1) | (get_byte(t, 4 * i + 2) >> 7)) AS e,
                   ((((get_byte(t, 4 * i + 2) & 127) << 16) | (get_byte(t, 4 * i + 1) << 8))
                     | get_byte(t, 4 * i)) AS m
            FROM generate_series(0, least(length(t) / 4, {DIMENSION}) - 1) AS i) AS parts
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION faceportal_enrolledface_vector() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      NEW.embedding := faceportal_template_vector(NEW.template);
      RETURN NEW;
    END
    $$
    """,
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS embedding vector({DIMENSION})",
    f"UPDATE {TABLE} SET embedding = faceportal_template_vector(template)",
    f"""
    CREATE OR REPLACE TRIGGER enrolledface_vector BEFORE INSERT OR UPDATE OF template ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION faceportal_enrolledface_vector()
    """,
    index_sql(),
]
UNINSTALL = [
    f"DROP TRIGGER IF EXISTS enrolledface_vector ON {TABLE}",
    f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS embedding",
    "DROP FUNCTION IF EXISTS faceportal_enrolledface_vector()",
    "DROP FUNCTION IF EXISTS faceportal_template_vector(bytea)",
]


def install(db: BaseDatabaseWrapper) -> bool:
    """Adds the column, trigger and index where PostgreSQL can load pgvector; False (and
    nothing changed) where it cannot: another database, no extension, no right to create it."""
    if db.vendor != "postgresql":
        return False
    with db.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        if cursor.fetchone() is None:
            return False
        try:
            with transaction.atomic(using=db.alias):
                for statement in INSTALL:
                    cursor.execute(statement)
        except DatabaseError:  # e.g. a role that may not create extensions: exact search stays
            return False
    return True


def uninstall(db: BaseDatabaseWrapper) -> None:
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            for statement in UNINSTALL:
                cursor.execute(statement)


_installed: dict[str, str | None] = {}


def installed_version() -> str | None:
    """pgvector's version where the column is there, else None; asked once per process
    (a migration changing it is followed by a restart, as every migration is)."""
    key = connection.settings_dict["NAME"]
    if key not in _installed:
        _installed[key] = _ask_version()
    return _installed[key]


def _ask_version() -> str | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.extversion FROM pg_extension e WHERE e.extname = 'vector' AND EXISTS ("
            " SELECT 1 FROM information_schema.columns"
            " WHERE table_name = %s AND column_name = 'embedding' AND table_schema = current_schema())",
            [TABLE],
        )
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def forget_installed() -> None:
    """For tests that install or remove the column within one process."""
    _installed.clear()


def serves(face_set: FaceSet, dimension: int) -> bool:
    """Whether this set's searches go to the index: pgvector there, FACEPORTAL_FACESET_PGVECTOR on,
    the model's dimension the column's, and the set large enough that HNSW pays."""
    return (
        settings.FACEPORTAL_FACESET_PGVECTOR
        and dimension == DIMENSION
        and face_set.face_count >= settings.FACEPORTAL_FACESET_HNSW_MIN_FACES
        and installed_version() is not None
    )


# For this transaction only. Iterative scan: the index goes on past ef_search until the set
# filter has given LIMIT rows (or hnsw.max_scan_tuples). Sequential scans and sorts off: the
# planner would otherwise sort a large set's rows found by its face_set_id index (exact, and
# seconds at 1M); this path is taken for large sets precisely to avoid that.
SETTINGS = (
    "SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', 'relaxed_order', true),"
    " set_config('enable_seqscan', 'off', true), set_config('enable_sort', 'off', true)"
)
QUERY = (
    f"SELECT id, person_id, created_at, template FROM {TABLE}"
    " WHERE face_set_id = %s ORDER BY embedding <#> %s::vector LIMIT %s"
)


def search(face_set: FaceSet, query: np.ndarray, top: int) -> list[Candidate] | None:
    """The best `top` candidates by the index, scored in float64; None when the index could not
    fill them (the caller searches exactly instead)."""
    wanted = top + exact.RESCORE_MARGIN
    as_text = "[" + ",".join(repr(float(value)) for value in np.asarray(query, DTYPE)) + "]"
    # hnsw.ef_search is at most 1000 (pgvector); at least the candidates wanted.
    ef_search = min(1000, max(settings.FACEPORTAL_FACESET_HNSW_EF_SEARCH, wanted))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(SETTINGS, [str(ef_search)])
        cursor.execute(QUERY, [face_set.pk, as_text, wanted])
        rows = cursor.fetchall()
    if len(rows) < min(wanted, face_set.face_count):
        return None
    return exact.rescored(
        query,
        ids=np.array([row[0] for row in rows], np.int64),
        persons=np.array([row[1] for row in rows], np.int64),
        created=np.array([int(row[2].timestamp()) for row in rows], np.int64),
        vectors=matrix((row[3] for row in rows), DIMENSION),
        top=top,
    )
