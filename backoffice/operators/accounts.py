"""Operators' pages for accounts: users (email login, role), permission groups and the API's refresh tokens.

Accounts are deactivated, never deleted, and a password hash is never edited
by hand. Groups and tokens keep the pages Django and simplejwt give them.
"""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils.html import format_html
from rest_framework_simplejwt.token_blacklist.admin import BlacklistedTokenAdmin, OutstandingTokenAdmin
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from backoffice.sites import operator_site


class UserChangeFormForEmail(UserChangeForm):
    """Django's change form: `password` is a ReadOnlyPasswordHashField, so a posted hash is never saved."""

    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class UserCreationFormForEmail(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email",)


@admin.register(User, site=operator_site)
class UserAdmin(DjangoUserAdmin):
    """Operators manage accounts here; the password hash is never editable by hand.

    Accounts are deactivated, never deleted: each has a wallet (PROTECT) and
    possibly orders, which must keep pointing at it.
    """

    form = UserChangeFormForEmail
    add_form = UserCreationFormForEmail
    ordering = ["-created_at"]
    list_display = ["email", "role", "first_name", "last_name", "is_active", "is_staff", "wallet_link", "created_at"]
    list_filter = ["role", "is_active", "is_staff", "is_superuser"]
    list_select_related = ["wallet"]
    search_fields = ["email", "first_name", "last_name", "id"]
    date_hierarchy = "created_at"
    readonly_fields = ["id", "wallet_link", "created_at", "updated_at", "last_login"]
    fieldsets = [
        (None, {"fields": ["id", "email", "password", "wallet_link"]}),
        ("Profile", {"fields": ["first_name", "last_name", "role"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "created_at", "updated_at"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "role", "password1", "password2"]}),
    ]

    @admin.display(description="wallet")
    def wallet_link(self, user: User) -> str:
        # The reverse one-to-one (the wallet points at its user); "-" where there is none.
        wallet = getattr(user, "wallet", None)
        if wallet is None:
            return "-"
        url = reverse("admin:wallets_wallet_change", args=[wallet.pk], current_app=self.admin_site.name)
        label = f"{wallet.balance} {wallet.currency}{' (frozen)' if wallet.is_frozen else ''}"
        return format_html('<a href="{}">{}</a>', url, label)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# Django's and simplejwt's own pages, registered here because nothing is
# autodiscovered: operators grant staff permissions through groups, and look up
# or blacklist a user's API refresh tokens.
operator_site.register(Group, GroupAdmin)
operator_site.register(OutstandingToken, OutstandingTokenAdmin)
operator_site.register(BlacklistedToken, BlacklistedTokenAdmin)
