"""CachedFieldsModelSerializer: DRF's output, with fields built once per class and never shared by two instances."""

from rest_framework import serializers

from accounts.models import User
from core.serializers import CachedFieldsModelSerializer


class _Tag(serializers.Serializer):
    name = serializers.SerializerMethodField()

    def get_name(self, value) -> str:
        return f"{self.context['prefix']}{value}"


class _Fields:
    model = User
    fields = ["id", "email", "role", "is_active", "created_at", "tags"]
    read_only_fields = fields


class CachedUserSerializer(CachedFieldsModelSerializer):
    tags = _Tag(source="email_parts", many=True, read_only=True)

    class Meta(_Fields):
        pass


class PlainUserSerializer(serializers.ModelSerializer):
    tags = _Tag(source="email_parts", many=True, read_only=True)

    class Meta(_Fields):
        pass


def _user() -> User:
    user = User(email="ada@example.com", role="USER")
    user.email_parts = ["ada", "example.com"]
    return user


def test_it_renders_what_drf_renders_and_nested_fields_see_their_own_context():
    user = _user()
    for prefix in ("a:", "b:"):
        cached = CachedUserSerializer(user, context={"prefix": prefix}).data
        assert cached == PlainUserSerializer(user, context={"prefix": prefix}).data
        assert cached["tags"] == [{"name": f"{prefix}ada"}, {"name": f"{prefix}example.com"}]


def test_two_instances_share_no_field_and_each_field_is_bound_to_its_own_serializer():
    first, second = CachedUserSerializer(_user()), CachedUserSerializer(_user())
    for name in first.fields:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
    # The nested serializer's child is copied with it, bound to its own list.
    assert first.fields["tags"].child is not second.fields["tags"].child
    assert first.fields["tags"].child.parent is first.fields["tags"]
