"""Accessible names for the admin's form boxes that Django renders without one: the two boxes
of a date and time (the field's <label> points at neither: "Date:" and "Time:" are plain text
beside them) and the cells of a tabular inline (tied to their column's header only by
position, which assistive technology does not read as a label)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.db.models import Field
from django.http import HttpRequest

SPLIT_PARTS = ("date", "time")  # the order of AdminSplitDateTime's boxes


def name_boxes(formfield: forms.Field, *, each_box: bool) -> None:
    """Gives the field's boxes an aria-label from its label: each part of a split widget always,
    a single box when `each_box` (where no <label> points at it)."""
    label = str(formfield.label or "")
    widget = formfield.widget
    if isinstance(widget, RelatedFieldWidgetWrapper):
        widget = widget.widget
    if isinstance(widget, forms.MultiWidget):
        for box, part in zip(widget.widgets, SPLIT_PARTS, strict=False):
            box.attrs.setdefault("aria-label", f"{label}: {part}")
    elif each_box:
        widget.attrs.setdefault("aria-label", label)


class NamedBoxes:
    """For a ModelAdmin or an inline: every box its form makes from a model field gets a name."""

    def formfield_for_dbfield(self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        if formfield is not None:
            name_boxes(formfield, each_box=isinstance(self, admin.TabularInline))
        return formfield
