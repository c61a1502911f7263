from __future__ import annotations

import pytest

from accounts.services import account_create
from facesets import services
from facesets.models import FaceSet
from tests.facesets.synthetic import MODEL


@pytest.fixture
def face_set(db: None) -> FaceSet:
    """An empty set of synthetic templates' model (tests/facesets/synthetic.py)."""
    account, _ = account_create(username="owner")
    return services.faceset_create(account=account, name="staff", desc="", model=MODEL)
