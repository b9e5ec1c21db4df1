"""Every write to the records provincial staff keep: the year's targets and the
indicators reported from elsewhere.

The summary tables have their own single writer, the roll-up (dashboard/rollup.py).
The background processes' heartbeats are written here too (heartbeat_record), by the
processes themselves.

Each function owns its transaction and calls `full_clean()`. `by` is the user making
the change, who must be provincial staff (or an administrator) holding the model's
permission, else PermissionDenied; `by=None` is the portal itself (seed_demo), as a
view never passes it.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import Place, ensure_can, register_rule
from accounts.models import ScopeLevel, User
from accounts.scopes import Scope
from communes.models import Commune, District

from .models import ProvincialIndicator, ServiceHeartbeat, Target
from .targets import LEVELS, targets_for

INDICATOR_FIELDS = (
    "dti_rank",
    "dti_government_rank",
    "dti_society_rank",
    "dti_economy_rank",
    "ecommerce_revenue_vnd",
    "platform_shops",
    "platform_products",
    "enterprises_on_platforms",
    "enterprises_econtract",
    "source",
)


# Targets and indicators are the province's: its staff (and administrators) keep them.
PROVINCIAL_ONLY = gettext_lazy("Only provincial staff keep the targets and indicators.")


def is_provincial(scope: Scope) -> bool:
    """Whether the user's scope keeps the province's records (the pages ask this)."""
    return scope.sees_everything or scope.level == ScopeLevel.PROVINCE


def access_rules_register() -> None:
    """Targets and indicators lie at the province's level, whatever place a target is
    for (accounts.access.ensure_can reads this). Called when the app starts."""
    for model in (Target, ProvincialIndicator):
        register_rule(
            model,
            lambda _record: Place(level=ScopeLevel.PROVINCE),
            refusal=PROVINCIAL_ONLY,
            outside=PROVINCIAL_ONLY,
        )


def _duplicate_message() -> str:
    constraint = next(c for c in Target._meta.constraints if c.name == "target_unique_province")
    return str(constraint.violation_error_message)


def _save(target: Target, *, by: User | None, fields: list[str]) -> Target:
    """Validate and store a target: a new one whole, a known one's `fields` only."""
    target.updated_by = by
    # Who changed it is not the user's input (and is nobody for seed_demo).
    target.full_clean(exclude=["updated_by"])
    try:
        # A savepoint: a duplicate made at the same moment (which full_clean cannot see)
        # becomes the same error, and leaves the caller's transaction usable.
        with transaction.atomic():
            if target.pk is None:
                target.save()
            else:
                target.save(update_fields=[*fields, "updated_by", "updated_at"])
    except IntegrityError:
        raise ValidationError(_duplicate_message()) from None
    return target


@transaction.atomic
def target_save(
    *,
    by: User | None,
    year: int,
    figure: str,
    value: int,
    district: District | None = None,
    commune: Commune | None = None,
    target: Target | None = None,
) -> Target:
    """Create a target, or change `target`; a second target for the same year, figure and
    place is refused with a ValidationError."""
    if target is None:
        target = Target()
        ensure_can(by, "dashboard.add_target", target)
    else:
        ensure_can(by, "dashboard.change_target", target)
    if district is not None and commune is not None:
        raise ValidationError(_("A target is for the province, a district or a commune."))
    target.year, target.figure, target.value = year, figure, value
    target.district, target.commune = district, commune
    return _save(target, by=by, fields=["year", "figure", "value", "district", "commune"])


@transaction.atomic
def target_delete(*, by: User | None, target: Target) -> None:
    ensure_can(by, "dashboard.delete_target", target)
    target.delete()


@dataclass(frozen=True)
class SplitResult:
    saved: int
    removed: int
    total: int
    # The target of the place split (the province, or the communes' district); None if it has none.
    parent_target: int | None

    @property
    def adds_up(self) -> bool:
        return self.parent_target is None or self.total == self.parent_target

    @property
    def warning(self) -> str | None:
        """Parts that do not add up are allowed (a district may aim higher), but said."""
        if self.adds_up:
            return None
        return _("The parts add up to %(total)s, not the %(parent)s of the target they split.") % {
            "total": number_format(self.total, force_grouping=True),
            "parent": number_format(self.parent_target, force_grouping=True),
        }


@transaction.atomic
def targets_split(
    *,
    by: User | None,
    year: int,
    figure: str,
    level: str,
    values: dict[int, int | None],
) -> SplitResult:
    """Set the year's `figure` target of each district (or commune) in `values`, all or
    nothing.

    `values` maps place ids to targets; an empty value (None or 0) removes the place's
    target. Places not in `values` keep theirs. The parts are compared with the target
    they split: the province's, or for communes that are all in one district, that
    district's.
    """
    # Each place's target is added or changed (removing one is asked for when it is).
    for permission in ("dashboard.add_target", "dashboard.change_target"):
        ensure_can(by, permission, Target(year=year, figure=figure))
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    model = District if level == "district" else Commune
    places = model.objects.in_bulk(list(values))
    if len(places) != len(values):
        raise ValidationError(_("Some of these places do not exist."))
    existing = {
        getattr(t, f"{level}_id"): t
        for t in Target.objects.select_for_update().filter(
            year=year, figure=figure, **{f"{level}_id__in": list(values)}
        )
    }
    errors: list[ValidationError] = []
    saved = removed = 0
    for place_id, value in values.items():
        target = existing.get(place_id)
        if not value:
            if target is not None:
                ensure_can(by, "dashboard.delete_target", target)
                target.delete()
                removed += 1
            continue
        if target is None:
            target = Target(year=year, figure=figure, **{level: places[place_id]})
        target.value = value
        try:
            _save(target, by=by, fields=["value"])
        except ValidationError as error:
            errors += [
                ValidationError(f"{places[place_id].name}: {message}") for message in error.messages
            ]
        else:
            saved += 1
    if errors:
        raise ValidationError(errors)
    district_ids = {place.district_id for place in places.values()} if level == "commune" else set()
    if len(district_ids) == 1:
        parent = targets_for(year, district_id=district_ids.pop()).get(figure)
    else:
        parent = targets_for(year).get(figure)
    total = sum(value or 0 for value in values.values())
    return SplitResult(saved=saved, removed=removed, total=total, parent_target=parent)


@transaction.atomic
def indicator_save(*, by: User | None, year: int, **fields) -> ProvincialIndicator:
    """Enter or correct a year's provincial indicators; fields not given keep their value.

    What a user enters is real: a year seeded as demo data stops being demo once edited.
    """
    unknown = set(fields) - {*INDICATOR_FIELDS, "is_demo"}
    if unknown:
        raise TypeError(f"Not an indicator: {', '.join(sorted(unknown))}")
    indicator = ProvincialIndicator.objects.select_for_update().filter(year=year).first()
    if indicator is None:
        indicator = ProvincialIndicator(year=year)
        ensure_can(by, "dashboard.add_provincialindicator", indicator)
    else:
        ensure_can(by, "dashboard.change_provincialindicator", indicator)
    fields.setdefault("is_demo", False)
    for name, value in fields.items():
        setattr(indicator, name, value.strip() if isinstance(value, str) else value)
    indicator.updated_by = by
    indicator.full_clean(exclude=["updated_by"])
    indicator.save()
    return indicator


# --- Heartbeats ----------------------------------------------------------------------------


def heartbeat_record(*, process: ServiceHeartbeat.Process, seen_at: datetime) -> None:
    """Note that a background process was alive at `seen_at`, in one statement (an
    upsert): the worker calls it every few seconds. No user input: nothing to clean."""
    ServiceHeartbeat.objects.bulk_create(
        [ServiceHeartbeat(process=process, seen_at=seen_at)],
        update_conflicts=True,
        unique_fields=["process"],
        update_fields=["seen_at"],
    )
