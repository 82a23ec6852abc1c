"""What both back offices' delivery pages share: the one form page they render."""

from django.template.response import TemplateResponse


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
