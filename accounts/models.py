"""Users of the portal, each with one scope: the province, a district, a commune or a team."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from communes.models import Commune, District, Province


class ScopeLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    DISTRICT = "district", _("District")
    COMMUNE = "commune", _("Commune")
    # A team leader's team comes from the Member record the outreach app links to the user.
    TEAM = "team", _("Team")


# The unit each level needs; the other unit fields must stay empty. A team scope needs
# none: the team comes from the Member record.
SCOPE_UNIT_FIELD = {
    ScopeLevel.PROVINCE: "scope_province",
    ScopeLevel.DISTRICT: "scope_district",
    ScopeLevel.COMMUNE: "scope_commune",
}


def _scope_matches_level() -> Q:
    condition = Q()
    for level in ["", *ScopeLevel.values]:
        needed = SCOPE_UNIT_FIELD.get(level)
        condition |= Q(
            scope_level=level,
            **{f"{field}__isnull": field != needed for field in SCOPE_UNIT_FIELD.values()},
        )
    return condition


class User(AbstractUser):
    """A login. The login name may be a phone number: team leaders rarely have e-mail."""

    # One full name, as Vietnamese names are written, instead of first and last names.
    first_name = None
    last_name = None
    full_name = models.CharField(_("full name"), max_length=150, blank=True)

    scope_level = models.CharField(
        _("scope"),
        max_length=10,
        choices=ScopeLevel.choices,
        blank=True,
        help_text=_("What this user may see. A user with no scope sees nothing."),
    )
    scope_province = models.ForeignKey(
        Province,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("province in scope"),
    )
    scope_district = models.ForeignKey(
        District,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("district in scope"),
    )
    scope_commune = models.ForeignKey(
        Commune,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("commune in scope"),
    )
    is_demo = models.BooleanField(_("demo login"), default=False)

    objects = UserManager()

    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # Exactly the unit the level names is set, and no other.
            models.CheckConstraint(
                condition=_scope_matches_level(),
                name="user_scope_matches_level",
                violation_error_message=_("The scope's unit does not match its level."),
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.username

    def get_full_name(self) -> str:
        return self.full_name or self.username

    def get_short_name(self) -> str:
        return self.full_name or self.username

    def clean(self) -> None:
        super().clean()
        needed = SCOPE_UNIT_FIELD.get(self.scope_level)
        errors = {}
        for field in SCOPE_UNIT_FIELD.values():
            has_value = getattr(self, f"{field}_id") is not None
            if field == needed and not has_value:
                errors[field] = _("Choose the unit for this scope.")
            elif field != needed and has_value:
                errors[field] = _("Leave this empty for the chosen scope.")
        if errors:
            raise ValidationError(errors)


class AuditEntry(models.Model):
    """Who created, changed, deleted or erased a record, or viewed or exported personal data.

    `changes` maps a field to [before, after] for a change, or to its value for a record
    created, deleted or erased (values as the history page shows them: text for related
    records, the stored value for choices). Views and exports of many records at once
    name what was shown in `subject` and carry no record.
    """

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        CHANGED = "changed", _("Changed")
        DELETED = "deleted", _("Deleted")
        VIEWED = "viewed", _("Viewed")
        EXPORTED = "exported", _("Exported")
        ERASED = "erased", _("Personal data erased")

    at = models.DateTimeField(_("when"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    object_repr = models.CharField(_("record"), max_length=200, blank=True)
    subject = models.CharField(_("what was shown"), max_length=200, blank=True)
    # Where the record lives, so that an audit list can be scoped like everything else.
    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changes = models.JSONField(_("what changed"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "-at"])]
        permissions = [("erase_personal_data", _("Can erase a person's personal data"))]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_repr or self.subject}"
