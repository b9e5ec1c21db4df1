from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.phone import InvalidPhone, looks_like_phone, normalize_phone

from .models import User


def _login_name(value: str) -> str:
    """Phone-number logins are stored as 0xxxxxxxxx; accept them as people type them."""
    value = value.strip()
    if looks_like_phone(value):
        try:
            return normalize_phone(value)
        except InvalidPhone:
            return value
    return value


def login_name_of_attempt(request, credentials: dict | None) -> str:
    """The login name django-axes counts an attempt against: as the login form reads it,
    so that "+84 912 345 678" and "0912345678" are one name to lock, not two."""
    if credentials and credentials.get("username") is not None:
        return _login_name(str(credentials["username"]))
    return _login_name(request.POST.get("username", "")) if request is not None else ""


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _(
            "The login name or password is not right. Check both and try again; the "
            "password is case-sensitive."
        ),
        "inactive": _("This login has been deactivated. Ask your commune official."),
    }
    username = forms.CharField(
        label=_("Login name or phone number"),
        max_length=150,
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}
        ),
    )

    def clean_username(self) -> str:
        return _login_name(self.cleaned_data["username"])


class AdminUserCreationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "full_name")

    def clean_username(self) -> str:
        return _login_name(super().clean_username())


class AdminPasswordChangeForm(auth_forms.AdminPasswordChangeForm):
    """Django admin's form to set a user's password, its warning in the reader's language
    (Django writes it in English only, outside its catalogue)."""

    usable_password_help_text = format_lazy(
        '{}<ul id="id_unusable_warning" class="messagelist"><li class="warning">{}</li></ul>',
        auth_forms.SetUnusablePasswordMixin.usable_password_help_text,
        _("If disabled, the current password for this user will be lost."),
    )
