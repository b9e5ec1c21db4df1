"""Vietnamese mobile numbers, stored as ten digits starting with 0."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# In 2018 the 11-digit mobile numbers moved to 10 digits: the first four digits changed
# (0162 became 032, and so on) and the rest stayed.
OLD_PREFIXES = {
    # Viettel
    "0162": "032", "0163": "033", "0164": "034", "0165": "035",
    "0166": "036", "0167": "037", "0168": "038", "0169": "039",
    # MobiFone
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",
    # VinaPhone
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    # Vietnamobile
    "0186": "056", "0188": "058",
    # Gmobile
    "0199": "059",
}  # fmt: skip

MOBILE_RE = re.compile(r"^0(3[2-9]|5[25689]|7[06-9]|8[1-9]|9\d)\d{7}$")
_SEPARATORS = re.compile(r"[\s.\-()]")


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str) -> str:
    """The number as 0xxxxxxxxx, from what people type: +84, spaces, dots, old 11 digits.

    Raises InvalidPhone when what is left is not a Vietnamese mobile number.
    """
    digits = _SEPARATORS.sub("", raw or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("0084"):
        digits = "0" + digits[4:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if len(digits) == 11 and digits[:4] in OLD_PREFIXES:
        digits = OLD_PREFIXES[digits[:4]] + digits[4:]
    if not MOBILE_RE.match(digits):
        raise InvalidPhone(raw)
    return digits


def looks_like_phone(text: str) -> bool:
    return bool(text) and _SEPARATORS.sub("", text).lstrip("+").isdigit()


def clean_phone(raw: str, *, field: str | None = "phone") -> str:
    """An optional phone from a form or a file: "" when empty, else the stored form.

    Raises a ValidationError that tells the user what to type, on `field` (None from a
    form's clean_<field> method, where the field is already known).
    """
    if not raw or not raw.strip():
        return ""
    try:
        return normalize_phone(raw)
    except InvalidPhone:
        message = _("Enter a Vietnamese mobile number, such as 0912 345 678.")
        raise ValidationError({field: message} if field else message) from None
