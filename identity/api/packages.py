"""The liveness package of a request: by stored id, file upload or URL (the vendor's
precedence), opened and checked by resources/liveness.py."""

from __future__ import annotations

from accounts.models import ApiAccount
from faceportal_capture.package import MAX_PACKAGE_BYTES
from identity.api.errors import ImageProblem
from identity.api.images import download, missing_reason
from identity.api.params import Params
from resources.liveness import AcceptedPackage, open_for, package_find
from resources.livenesschecks import wrong

IMAGE_NAME = "liveness"  # the vendor's name for the package in errors


def load_package(
    params: Params, account: ApiAccount, *, file_field: str, url_field: str, id_field: str | None
) -> AcceptedPackage:
    stored_id = params.text(id_field) if id_field else None
    if stored_id:
        stored = package_find(account=account, package_id=stored_id.strip())
        if stored is None:
            raise wrong("no liveness id found")
        with stored.file.open("rb") as handle:
            data = handle.read()
        capture, frames, challenge = open_for(account, data, fresh=False)
        return AcceptedPackage(data, capture, frames, challenge, "id", stored)
    upload = params.file(file_field)
    if upload is not None:
        if upload.size and upload.size > MAX_PACKAGE_BYTES:
            raise wrong(f"package over {MAX_PACKAGE_BYTES} bytes")
        data, source = upload.read(), "file"
    else:
        url = params.text(url_field)
        if not url:
            raise ImageProblem(
                ImageProblem.MISSING, IMAGE_NAME, missing_reason(id_field, file_field, url_field)
            )
        data, source = download(url.strip(), IMAGE_NAME, MAX_PACKAGE_BYTES), "url"
    capture, frames, challenge = open_for(account, data, fresh=True)
    return AcceptedPackage(data, capture, frames, challenge, source, None)
