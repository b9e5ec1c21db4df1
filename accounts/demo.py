"""Demo logins, one for each role with a scope and an administrator; seed_demo calls this
after the communes."""

from django.conf import settings
from django.utils.crypto import get_random_string

from communes.models import Commune, District, Province

from .models import ScopeLevel, User
from .services import user_create

DEMO_PASSWORD = "demo-namdinh-2026"
DEMO_ADMIN = "demo_admin"

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
    return [*lines, _demo_admin()]


def _demo_admin() -> str:
    """An administrator (Django admin, every page): the one demo login whose password is
    not the shared one, since it may change everything. Its password is made now and
    printed this once; it is not stored anywhere else."""
    where = f"/{settings.ADMIN_URL}"
    if User.objects.filter(username=DEMO_ADMIN).exists():
        return (
            f"{DEMO_ADMIN} / (the password printed when it was created)  "
            f"(Administrator: Django admin at {where})"
        )
    # Easy to read aloud and type: three groups of four, without look-alike characters.
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    password = "-".join(get_random_string(4, alphabet) for _ in range(3))
    # As `manage.py createsuperuser` makes an administrator; a superuser's scope is
    # everything, so it needs no unit.
    User.objects.create_superuser(
        username=DEMO_ADMIN, password=password, full_name="Quản trị viên (demo)", is_demo=True
    )
    return (
        f"{DEMO_ADMIN} / {password}  (Administrator: Django admin at {where}; "
        "this password is shown only now)"
    )
