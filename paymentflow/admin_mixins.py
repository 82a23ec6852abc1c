"""Pieces shared by the two back offices (operators' /admin/ and merchants' /merchant/)."""


class ReadOnlyAdminMixin:
    """No add, change or delete: the admin (or inline) only shows these rows.

    Money, its history and the inbox are written by the services alone, so
    every admin over them is built on this.
    """

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
