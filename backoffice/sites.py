"""The two admin sites. Who may enter each is decided here, never by a model permission alone.

- `/admin/` (`operator_site`): active staff accounts that are not merchants. A
  merchant is never an operator, even with `is_staff` set, so a seller can
  never refund or adjust anyone else's money. Its pages are in
  `backoffice.operators`.
- `/merchant/` (`merchant_site`): active MERCHANT accounts, logging in with the
  email and password they use for the API. `is_staff` is neither needed nor
  of any use there; what a merchant sees is scoped by the pages in
  `backoffice.merchants`.

Both are our own instances, not Django's `admin.site`: nothing is
autodiscovered (INSTALLED_APPS has `SimpleAdminConfig`), so a page appears on
a site only where a module of this package registers it there.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from backoffice.dashboards import merchant_figures, operator_figures
from backoffice.selectors import merchant_summary, operator_dashboard


def is_operator(user) -> bool:
    return bool(getattr(user, "is_operator", False))


def is_merchant(user) -> bool:
    return bool(user.is_active and getattr(user, "is_merchant", False))


class OperatorAuthenticationForm(AdminAuthenticationForm):
    """Django's staff login, refusing merchant accounts as well."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not is_operator(user):
            raise forms.ValidationError(
                self.error_messages["invalid_login"], code="invalid_login", params={"username": self.username_field}
            )


class MerchantAuthenticationForm(AuthenticationForm):
    """Merchants sign in with their API credentials; any other account gets the wrong-credentials answer."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Please enter the email and password of an active merchant account. "
        "Note that both fields may be case-sensitive.",
    }

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not is_merchant(user):
            raise forms.ValidationError(
                self.error_messages["invalid_login"], code="invalid_login", params={"username": self.username_field}
            )


class OperatorAdminSite(admin.AdminSite):
    site_header = "Payment Flow operations"
    site_title = "Payment Flow operations"
    index_title = "Operations"
    site_url = None
    index_template = "backoffice/operators/index.html"
    login_form = OperatorAuthenticationForm
    # At 1280 px the nav sidebar (300 px) and a list's filters leave a list of
    # nine columns 630 px; the index and the breadcrumbs reach every page.
    enable_nav_sidebar = False

    def has_permission(self, request) -> bool:
        return is_operator(request.user)

    def index(self, request, extra_context=None):
        dashboard = operator_dashboard()
        context = {
            "dashboard": dashboard,
            "dashboard_id": "operator-dashboard",
            "figures": operator_figures(dashboard, site=self.name),
        }
        return super().index(request, {**context, **(extra_context or {})})


class MerchantAdminSite(admin.AdminSite):
    site_header = "Payment Flow merchant"
    site_title = "Payment Flow merchant"
    index_title = "Your shop"
    site_url = None
    index_template = "backoffice/merchants/index.html"
    login_template = "backoffice/merchants/login.html"
    login_form = MerchantAuthenticationForm
    # The nav sidebar repeats the three links of the index; one less thing to scope.
    enable_nav_sidebar = False

    def has_permission(self, request) -> bool:
        return is_merchant(request.user)

    def get_log_entries(self, request):
        # The login page renders without a user; "recent actions" are only ever one's own.
        return super().get_log_entries(request).filter(user_id=request.user.pk)

    def get_app_list(self, request, app_label=None):
        # Merchants think in products, sales and ledger, not in our app names:
        # each model is listed under the label its ModelAdmin gives it.
        app_list = super().get_app_list(request, app_label)
        for app in app_list:
            for model in app["models"]:
                model["name"] = self.get_model_admin(model["model"]).menu_label
        return app_list

    def index(self, request, extra_context=None):
        summary = merchant_summary(merchant=request.user)
        context = {
            "summary": summary,
            "dashboard_id": "merchant-summary",
            "figures": merchant_figures(summary, site=self.name),
        }
        return super().index(request, {**context, **(extra_context or {})})


# Named "admin", the operators' site is the default instance of the "admin" URL namespace:
# a `reverse("admin:…")` made without a current app (a LogEntry's link, for one) lands here.
operator_site = OperatorAdminSite(name="admin")
merchant_site = MerchantAdminSite(name="merchant")
