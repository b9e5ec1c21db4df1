"""The topics sessions cover (../shared/DOMAIN.md): stable codes, translated labels."""

from django.utils.translation import gettext_lazy as _

CURRICULUM, THEMATIC, SECTOR = "curriculum", "thematic", "sector"

TOPIC_LABELS = {
    # The curriculum taught to residents, team members and commune officials.
    "public_service_portal": (CURRICULUM, _("Public-service portal")),
    "ecommerce": (CURRICULUM, _("E-commerce")),
    "mobile_banking": (CURRICULUM, _("Mobile banking and online payment")),
    "digital_address": (CURRICULUM, _("National digital address")),
    "telemedicine": (CURRICULUM, _("Telemedicine")),
    "information_security": (CURRICULUM, _("Information security")),
    "scam_recognition": (CURRICULUM, _("Recognising online scams")),
    # The thematic conferences for key officials.
    "smart_cities": (THEMATIC, _("Smart cities")),
    "ecommerce_development": (THEMATIC, _("E-commerce development")),
    "dx_enterprises": (THEMATIC, _("Digital transformation for enterprises")),
    "agriculture": (THEMATIC, _("Agriculture and rural development")),
    "health": (THEMATIC, _("Health")),
    "education": (THEMATIC, _("Education and training")),
    "environment": (THEMATIC, _("Natural resources and environment")),
    # The sectors that held their own conferences.
    "justice": (SECTOR, _("Justice")),
    "labour_social": (SECTOR, _("Labour, invalids and social affairs")),
    "home_affairs": (SECTOR, _("Home affairs")),
    "culture_tourism": (SECTOR, _("Culture, sports and tourism")),
    "transport": (SECTOR, _("Transport")),
    "industry_trade": (SECTOR, _("Industry and trade")),
    "construction": (SECTOR, _("Construction")),
    "finance": (SECTOR, _("Finance")),
    "science_technology": (SECTOR, _("Science and technology")),
    "natural_resources": (SECTOR, _("Natural resources and environment (sector)")),
    "labour_federation": (SECTOR, _("Labour federation")),
}


def topics_sync(apps) -> None:
    """Create or rename the topics; takes an app registry like migrations."""
    from django.utils import translation

    Topic = apps.get_model("trainings", "Topic")
    with translation.override("en"):
        for order, (code, (kind, label)) in enumerate(TOPIC_LABELS.items(), start=1):
            Topic.objects.update_or_create(
                code=code, defaults={"name": str(label), "kind": kind, "sort_order": order}
            )
