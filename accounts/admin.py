from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import User


class UserChangeFormForEmail(UserChangeForm):
    """Django's change form: `password` is a ReadOnlyPasswordHashField, so a posted hash is never saved."""

    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class UserCreationFormForEmail(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email",)


@admin.register(User)
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
        # The reverse one-to-one: wallets point at users (accounts never imports wallets).
        wallet = getattr(user, "wallet", None)
        if wallet is None:
            return "-"
        url = reverse("admin:wallets_wallet_change", args=[wallet.pk], current_app=self.admin_site.name)
        label = f"{wallet.balance} {wallet.currency}{' (frozen)' if wallet.is_frozen else ''}"
        return format_html('<a href="{}">{}</a>', url, label)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
