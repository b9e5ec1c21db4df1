"""Hamlets (thôn, xóm, tổ dân phố): kept by the officials of their commune."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.access import ensure_can
from accounts.models import User
from communes.models import Commune, Hamlet
from core.names import name_taken


def _validate_hamlet(hamlet: Hamlet) -> None:
    """full_clean(), with a duplicate name reported on "name".

    The database compares names as written, in any case, so "Thôn Đông" and "thôn đông"
    are one hamlet (and "Thôn Đồng" another); "thon dong", typed without diacritics, is
    taken to mean the hamlet it folds to. The constraint's own error would not name the
    field the official has to change.
    """
    hamlet.name = " ".join(hamlet.name.split())
    if hamlet.name:
        others = Hamlet.objects.filter(commune_id=hamlet.commune_id).exclude(pk=hamlet.pk)
        if name_taken(others, hamlet.name):
            raise ValidationError({"name": _("This commune already has a hamlet with this name.")})
    hamlet.full_clean()


def _save(hamlet: Hamlet, **kwargs) -> None:
    try:
        # A savepoint, so that a concurrent duplicate leaves the caller's transaction usable.
        with transaction.atomic():
            hamlet.save(**kwargs)
    except IntegrityError:
        # Two officials adding the same name at once: the check above passed for both.
        raise ValidationError(
            {"name": _("This commune already has a hamlet with this name.")}
        ) from None


@transaction.atomic
def hamlet_create(*, by: User, commune: Commune, name: str) -> Hamlet:
    """Add a hamlet to a commune; its name is unique in the commune, whatever its case."""
    ensure_can(by, "communes.add_hamlet", commune)
    hamlet = Hamlet(commune=commune, name=name)
    _validate_hamlet(hamlet)
    _save(hamlet)
    return hamlet


@transaction.atomic
def hamlet_update(*, by: User, hamlet: Hamlet, name: str, is_active: bool) -> Hamlet:
    """Rename a hamlet or (de)activate it; an inactive hamlet is no longer offered in forms.

    Teams and households of a deactivated hamlet keep it: their history stays as it was.
    """
    hamlet = Hamlet.objects.select_for_update().get(pk=hamlet.pk)
    ensure_can(by, "communes.change_hamlet", hamlet)
    hamlet.name = name
    hamlet.is_active = is_active
    _validate_hamlet(hamlet)
    _save(hamlet, update_fields=["name", "is_active"])
    return hamlet
