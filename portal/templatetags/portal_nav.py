"""The portal's navigation, read from the endpoint registry: a new try-it page gets its link by
being named there."""

from __future__ import annotations

from django import template

from faceportal.endpoints import TRYIT_PAGES, TryIt

register = template.Library()


@register.simple_tag
def tryit_pages() -> tuple[TryIt, ...]:
    return TRYIT_PAGES
