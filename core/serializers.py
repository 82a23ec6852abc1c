"""The house's ModelSerializer: DRF's, with the model introspected once per class instead of once per instance."""

import copy

from rest_framework import serializers
from rest_framework.relations import ManyRelatedField

# Fields that hold child fields bound to themselves: a copy must copy the children too.
_FIELDS_WITH_CHILDREN = (serializers.BaseSerializer, serializers.ListField, serializers.DictField, ManyRelatedField)


class CachedFieldsModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer that maps its model's fields to serializer fields once per class.

    DRF's `ModelSerializer.get_fields()` inspects the model and builds every
    field on each instantiation: 70% of rendering an order (measured,
    bench/RESULTS.md), and a purchase renders one twice (its answer and its
    event). The mapping depends only on the class (Meta, declared fields, the
    model), so it is built the first time and each instance gets copies of
    those unbound fields, which it binds to itself: no instance shares a field
    with another. A plain field is copied shallowly (its options are read, never
    changed, after `__init__`); one with child fields is deep-copied, as DRF
    copies declared fields, so the children are bound to their own copy.

    Not for a serializer whose fields depend on the instance or its context
    (override `get_fields` itself then).
    """

    def get_fields(self):
        cls = type(self)
        # The class's own attribute, not a parent's: a subclass has its own Meta.
        built = cls.__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()
            # Two threads may both build it the first time; either result is the same.
            cls._fields_built_once = built
        return {
            name: copy.deepcopy(field) if isinstance(field, _FIELDS_WITH_CHILDREN) else copy.copy(field)
            for name, field in built.items()
        }
