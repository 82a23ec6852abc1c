"""Users: email login, a role (USER buys, MERCHANT also sells), UUID ids."""

import unicodedata
import uuid
from functools import partial

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.db.models.functions import Lower

from accounts.auth_versions import auth_version_publish


class Role(models.TextChoices):
    USER = "USER", "User"
    MERCHANT = "MERCHANT", "Merchant"


def normalize_email(email: str) -> str:
    """Return the stored form of an email: NFKC-normalised, trimmed and lower-cased.

    NFKC folds compatibility forms (a fullwidth "a" is "a"), so an address and its look-alike
    are one account; lower case makes lookups case-insensitive.
    """
    return unicodedata.normalize("NFKC", email).strip().lower()


# Whitespace, control, format (zero-width space, bidi marks), surrogate, private-use
# and unassigned characters: none is visible, so none may make two addresses differ.
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"})


def validate_email_characters(email: str) -> None:
    """Refuse an email holding a character a reader cannot see (see `_INVISIBLE_CATEGORIES`)."""
    if any(character.isspace() or unicodedata.category(character) in _INVISIBLE_CATEGORIES for character in email):
        raise ValidationError("Enter an email address without spaces, control or invisible characters.")


# What a token stands for: a change to any of these bumps the user's auth_version,
# which refuses every token issued before it (accounts/auth_versions.py).
AUTH_FIELDS = ("password", "is_active", "role", "is_staff", "is_superuser")


def _publish_on_commit(rows) -> None:
    for user_id, version, is_active in rows:
        transaction.on_commit(partial(auth_version_publish, user_id=user_id, version=version, is_active=is_active))


class UserQuerySet(models.QuerySet):
    def update(self, **fields):
        """Update as QuerySet.update does; a change to an auth field bumps each row's auth version too."""
        if not AUTH_FIELDS & fields.keys():
            return super().update(**fields)
        with transaction.atomic(using=self.db):
            ids = list(self.values_list("pk", flat=True))
            rows = self.model._base_manager.using(self.db).filter(pk__in=ids)
            count = rows.update(**fields, auth_version=F("auth_version") + 1)
            _publish_on_commit(rows.values_list("pk", "auth_version", "is_active"))
        return count


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("An email is required.")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        # Operators keep the USER role: their powers come from is_staff/is_superuser,
        # which only `createsuperuser` (never the API) can set.
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, email: str) -> "User":
        return self.get(email=normalize_email(email))


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True, max_length=254, validators=[validate_email_characters])
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False,
        help_text="Operators: can log in to /admin/ (never a MERCHANT; it grants nothing in /merchant/).",
    )
    # Carried by every token; bumped when an AUTH_FIELDS value changes (see save()).
    auth_version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Emails are stored lower-case, so the unique index is case-insensitive too.
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="user_email_lowercase"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_valid"),
        ]

    def __str__(self) -> str:
        return self.email

    @classmethod
    def from_db(cls, db, field_names, values):
        user = super().from_db(db, field_names, values)
        user._loaded_auth_state = user._auth_state()
        return user

    def _auth_state(self) -> tuple:
        # A deferred field is absent from __dict__: unknown, so never taken for a change.
        return tuple(self.__dict__.get(name) for name in AUTH_FIELDS)

    def save(self, *args, **kwargs):
        changed = not self._state.adding and self._auth_state() != getattr(self, "_loaded_auth_state", None)
        if changed:
            # Incremented in the UPDATE itself, so two concurrent changes never share a version.
            self.auth_version = F("auth_version") + 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "auth_version"}
        super().save(*args, **kwargs)
        self._loaded_auth_state = self._auth_state()
        if changed:
            self.refresh_from_db(fields=["auth_version"])
            _publish_on_commit([(self.pk, self.auth_version, self.is_active)])

    def clean(self) -> None:
        super().clean()
        # Model forms (the admin's add and change pages) check the lower-case
        # constraint and email uniqueness after clean(): normalise first, or
        # "Shop@Example.com" is refused instead of stored as shop@example.com.
        self.email = normalize_email(self.email)

    @property
    def is_merchant(self) -> bool:
        return self.role == Role.MERCHANT

    @property
    def is_operator(self) -> bool:
        """An operator of the platform: an active staff account that is not a MERCHANT (sellers never are)."""
        return self.is_active and self.is_staff and not self.is_merchant
