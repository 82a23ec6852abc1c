"""What both back offices' delivery pages share: the one form page they render, the per-row actions."""

from collections.abc import Callable, Iterable

from django.contrib import messages
from django.template.response import TemplateResponse

from core.errors import ApplicationError


def delivery_form_page(
    model_admin, request, *, form, title: str, submit_label: str, cancel_url: str, intro: str = "", **context
) -> TemplateResponse:
    """Render `form` on the delivery form page of `model_admin`'s site (details, hidden fields optional)."""
    return TemplateResponse(
        request,
        "backoffice/delivery_form.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.model._meta,
            "title": title,
            "form": form,
            "intro": intro,
            "submit_label": submit_label,
            "cancel_url": cancel_url,
            "details": context.pop("details", []),
            "hidden": context.pop("hidden", []),
            **context,
        },
    )


def act_on_each(
    model_admin, request, rows: Iterable, act: Callable, *, label: Callable, done: str, refused_level=messages.ERROR
) -> int:
    """Run `act(row)` for each row through its service; say each refusal, then how many `done` (a format)."""
    count = 0
    for row in rows:
        try:
            act(row)
        except ApplicationError as exc:
            model_admin.message_user(request, f"{label(row)}: {exc.detail}", refused_level)
            continue
        count += 1
    if count:
        model_admin.message_user(request, done.format(count=count), messages.SUCCESS)
    return count
