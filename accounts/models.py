"""Users: email login, a role (USER buys, MERCHANT also sells), UUID ids."""

import unicodedata
import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower


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


class UserManager(BaseUserManager):
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
