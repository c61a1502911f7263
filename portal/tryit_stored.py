"""The try-it pages' stored-image picker: one key's stored images, newest first, a page at a
time, with the URLs of their thumbnails (resources/thumbnails.py, through
portal:image_thumbnail).

Stored ids are scoped to the account that stored them (another account's id answers
IMAGE_ID_NOT_EXIST), so the picker lists the images of the key picked on the page, and only
when that key is one of the signed-in user's: another user's key answers 404, exactly as an
unknown one does, so that the answer says nothing about keys that are not yours.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.models import ApiAccount
from resources.models import StoredImage

PER_PAGE = 12


def image_choice(image: StoredImage) -> dict[str, object]:
    """One stored image as the picker shows it (and as the compare page scales crops by)."""
    return {
        "id": image.id,
        "width": image.width,
        "height": image.height,
        "label": f"{image.format} {image.width}x{image.height}, "
        f"{timezone.localtime(image.created_at):%Y-%m-%d %H:%M}",
        "thumbnail": reverse("portal:image_thumbnail", args=[image.id]),
    }


@login_required
@require_safe
def stored_images(request: HttpRequest) -> JsonResponse:
    user_id = request.user.pk  # login_required ran first
    account = (
        ApiAccount.objects.filter(api_id=request.GET.get("api_id", ""), user_id=user_id).first()
        if user_id
        else None
    )
    if account is None:
        raise Http404("No such key of yours.")
    images = StoredImage.objects.filter(account=account).order_by("-created_at", "-id")
    page = Paginator(images, PER_PAGE).get_page(request.GET.get("page"))
    response = JsonResponse(
        {
            "api_id": account.api_id,
            "images": [{**image_choice(image), "api_id": account.api_id} for image in page],
            "page": page.number,
            "pages": page.paginator.num_pages,
            "total": page.paginator.count,
        }
    )
    response["Cache-Control"] = "private, no-store"  # new images arrive with every call
    return response
