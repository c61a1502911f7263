from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps  # the module: its AdminConfig is no config of ours


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"


class PortalAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with portal.admin_site.PortalAdminSite as `admin.site`."""

    default = False  # named in INSTALLED_APPS; PortalConfig stays the portal's own
    default_site = "portal.admin_site.PortalAdminSite"
