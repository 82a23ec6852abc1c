"""The two back offices: the operators' admin (`/admin/`) and the merchants' (`/merchant/`).

`OperatorAdminConfig` replaces `django.contrib.admin` in INSTALLED_APPS so that
`admin.site`, where every app registers its operator ModelAdmins, is
`OperatorAdminSite` (Django's documented way to override the default site).
The `admin` module of the apps is imported here, not `AdminConfig`, because
Django picks an app's config among the AppConfig classes found in its apps
module, and an imported AdminConfig would be one more candidate.
"""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class BackofficeConfig(AppConfig):
    default = True
    name = "backoffice"
    verbose_name = "Back office"


class OperatorAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "backoffice.sites.OperatorAdminSite"
