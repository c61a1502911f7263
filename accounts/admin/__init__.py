"""Operators' admin for users, their API accounts and the call log, one module each.

Django's autodiscover imports this package; importing the modules below registers their
admins. Read queries live in accounts.selectors, writes in accounts.services and the kit
shared with the resources admin in accounts.admin_kit, so that none of them needs this package.
"""

from django.contrib import admin

from accounts.admin import account, calls, users

admin.site.site_header = "FacePortal administration"
admin.site.site_title = "FacePortal admin"
admin.site.index_title = "Accounts, calls and stored data"
# "View site" leads operators to the portal, where customers see their keys and calls.
admin.site.site_url = "/portal/"

__all__ = ["account", "calls", "users"]
