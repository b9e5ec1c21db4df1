"""The member import's upload form (the base every import shares is core.forms')."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import FileImportForm, upload_field


class MemberImportForm(FileImportForm):
    file = upload_field(_("List of teams and members"))
    create_logins = forms.BooleanField(
        label=_("Create logins for the leaders (login name: their phone number)"),
        required=False,
    )
