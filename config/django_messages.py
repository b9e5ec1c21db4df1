"""Django's own form messages that the portal's Vietnamese catalogue words again.

Django's Vietnamese catalogue leaves some of them untranslated (a volunteer would meet
English on a Vietnamese page) and words others oddly ("Enter a whole number." reads as
"an overall number"). Listed here, they are extracted into locale/vi, which Django reads
before its own catalogue. Nothing imports this module: the strings only need to be seen
by makemessages.
"""

from django.utils.translation import gettext_noop

DJANGO_MESSAGES = [
    gettext_noop("Null characters are not allowed."),
    gettext_noop("Enter a whole number."),
    gettext_noop("Ensure this value is greater than or equal to %(limit_value)s."),
    gettext_noop("Ensure this value is less than or equal to %(limit_value)s."),
    gettext_noop("Select a valid choice. That choice is not one of the available choices."),
    gettext_noop("Select a valid choice. %(value)s is not one of the available choices."),
    # A multiple choice (services, members) posted with a value that is not an id.
    gettext_noop("“%(pk)s” is not a valid value."),
]
