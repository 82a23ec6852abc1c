import unicodedata

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from accounts.models import Role, User, normalize_email, validate_email_characters
from core.serializers import CachedFieldsModelSerializer


class EmailAddressField(serializers.EmailField):
    """An email as registration accepts it: NFKC-normalised, then nothing invisible in it.

    Not trimmed: an address with a space anywhere is refused, not repaired.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 254)
        super().__init__(trim_whitespace=False, **kwargs)
        self.validators.append(validate_email_characters)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = unicodedata.normalize("NFKC", data)
        return super().to_internal_value(data)


class UserSerializer(CachedFieldsModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "role", "first_name", "last_name", "created_at"]
        read_only_fields = fields


class RegisterSerializer(serializers.Serializer):
    email = EmailAddressField()
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    role = serializers.ChoiceField(choices=[Role.USER, Role.MERCHANT], default=Role.USER)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")

    def validate_email(self, value: str) -> str:
        return normalize_email(value)

    def validate(self, attrs: dict) -> dict:
        # Run Django's validators against an unsaved user so the similarity check
        # sees the email and names being registered.
        candidate = User(email=attrs["email"], first_name=attrs["first_name"], last_name=attrs["last_name"])
        try:
            validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs


class LoginSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class RefreshTokenSerializer(serializers.Serializer):
    refresh_token = serializers.CharField(max_length=4096)


class TokenPairSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()


class AuthResponseSerializer(TokenPairSerializer):
    user = UserSerializer()
