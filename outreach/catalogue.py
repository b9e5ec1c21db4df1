"""The service catalogue (../shared/DOMAIN.md): codes are stable, labels translate."""

from django.utils.translation import gettext_lazy as _

SERVICE_LABELS = {
    "portal_account": _("Public-service portal account"),
    "online_application": _("Online application submitted"),
    "online_payment": _("Online fee payment"),
    "result_lookup": _("Looking up results"),
    "ecommerce": _("E-commerce"),
    "mobile_banking": _("Mobile banking and cashless payment"),
    "digital_address": _("National digital address"),
    "telemedicine": _("Telemedicine"),
    "cyber_safety": _("Cyber safety and scam awareness"),
    "other": _("Other"),
}


def services_sync(apps) -> None:
    """Create or rename the catalogue's services; takes an app registry like migrations."""
    from django.utils import translation

    Service = apps.get_model("outreach", "Service")
    with translation.override("en"):
        for order, (code, label) in enumerate(SERVICE_LABELS.items(), start=1):
            Service.objects.update_or_create(
                code=code, defaults={"name": str(label), "sort_order": order}
            )
