"""The liveness endpoints: challenge issuing, package upload, and verification against a
selfie. The package format and crypto are in faceportal_capture, the acceptance rules in
resources/liveness.py, the scoring in faceengine/liveness.py."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework.request import Request

from accounts.models import Endpoint
from faceengine import get_engine
from faceengine.liveness import score_capture
from identity.api.base import ApiView, analyze
from identity.api.families import json_response
from identity.api.images import SELFIE
from identity.api.packages import load_package
from resources import liveness


class ChallengeView(ApiView):
    """POST /resources/liveness_challenge: a fresh nonce, actions and sealing key."""

    endpoint = Endpoint.UPLOAD_LIVENESS  # whoever may upload packages may ask for challenges

    def post(self, request: Request) -> HttpResponse:
        with self.charging():
            challenge, key = liveness.challenge_issue(self.account)
        body = liveness.challenge_body(challenge, key)
        return json_response({"request_id": self.call.request_id, "status": "OK", **body})


class UploadLivenessView(ApiView):
    """POST /resources/upload_liveness_data: accepts a sealed package once, stores it."""

    endpoint = Endpoint.UPLOAD_LIVENESS

    def post(self, request: Request) -> HttpResponse:
        package = load_package(self.params, self.account, file_field="file", url_field="url", id_field=None)
        with self.charging():
            saved = liveness.store(self.account, package)
        return json_response(
            {"request_id": self.call.request_id, "status": "OK", "liveness_data_id": saved.id}
        )


class LivenessVerificationView(ApiView):
    """POST /identity/liveness_selfie_verification: is the capture live, and is it the selfie's person?"""

    endpoint = Endpoint.LIVENESS_VERIFICATION

    def post(self, request: Request) -> HttpResponse:
        auto_rotate = self.params.boolean("selfie_auto_rotate")
        verbose = self.params.boolean("verbose")
        selfie = self.load_image(SELFIE)
        package = load_package(
            self.params,
            self.account,
            file_field="liveness_data_file",
            url_field="liveness_data_url",
            id_field="liveness_data_id",
        )
        result = score_capture(
            get_engine(),
            package.frames,
            list(package.capture.actions),
            prompted_at=liveness.prompts_of(package.capture),
        )
        selfie_face = analyze(selfie, auto_rotate=auto_rotate, max_faces=None, embed=True)[0]
        verify = 0.0
        if result.best_face is not None:
            verify = float(get_engine().compare([result.best_face], [selfie_face])[0, 0])
        with self.charging([selfie]) as charge:
            saved = liveness.store(self.account, package)
        body: dict[str, Any] = {
            "request_id": self.call.request_id,
            "status": "OK",
            "hack_score": round(result.hack_score, 6),
            "verify_score": round(verify, 6),
            "liveness_data_id": saved.id,
            "image_id": charge.stored[selfie.slot.name].id,
        }
        if verbose:
            body["details"] = result.details
        return json_response(body)
