"""Demo logins, one for each role with a scope; seed_demo calls this after the communes."""

from communes.models import Commune, District, Province

from .models import ScopeLevel, User
from .services import user_create

DEMO_PASSWORD = "demo-namdinh-2026"

# Hải Hậu, a rural district with advanced new-rural communes, and its first xã.
DEMO_DISTRICT_CODE = 366


def seed_demo(*, seed: int, scale: float = 1.0) -> list[str]:
    """Create the demo logins that do not exist yet; return the lines to print."""
    district = District.objects.get(code=DEMO_DISTRICT_CODE)
    commune = (
        Commune.objects.filter(district=district, kind=Commune.Kind.RURAL_COMMUNE)
        .order_by("code")
        .first()
    )
    province = Province.objects.get()
    logins = [
        ("demo_tinh", "Cán bộ tỉnh (demo)", ScopeLevel.PROVINCE, {"province": province}),
        ("demo_huyen", "Cán bộ huyện (demo)", ScopeLevel.DISTRICT, {"district": district}),
        ("demo_xa", "Cán bộ xã (demo)", ScopeLevel.COMMUNE, {"commune": commune}),
    ]
    lines = []
    for username, full_name, level, unit in logins:
        if not User.objects.filter(username=username).exists():
            user_create(
                username=username,
                password=DEMO_PASSWORD,
                full_name=full_name,
                scope_level=level,
                is_demo=True,
                **unit,
            )
        scope_unit = next(iter(unit.values()))
        lines.append(f"{username} / {DEMO_PASSWORD}  ({level.label}: {scope_unit})")
    return lines
