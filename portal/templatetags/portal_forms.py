"""What the portal's form templates (templates/portal/form_*.html) need that Django's template
language cannot say by itself: which fields of a form were refused."""

from __future__ import annotations

from django import forms, template
from django.forms.boundfield import BoundField

register = template.Library()


@register.filter
def refused_fields(form: forms.BaseForm) -> list[BoundField]:
    """The form's visible fields that carry an error, in the form's order: the error summary
    links to each."""
    return [field for field in form.visible_fields() if field.errors]
