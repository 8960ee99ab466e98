from django.contrib import admin

from lookups.models import LookupResult, LookupSettings


@admin.register(LookupSettings)
class LookupSettingsAdmin(admin.ModelAdmin):
    list_display = ("practice", "address_provider", "vat_provider")


@admin.register(LookupResult)
class LookupResultAdmin(admin.ModelAdmin):
    list_display = ("practice", "kind", "key", "status", "checked_at")
    list_filter = ("kind", "status")
