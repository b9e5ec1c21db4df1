"""Signals an app sends to the apps built on it, which it never imports."""

from django.dispatch import Signal

# A person's personal data was erased, inside the erasure's transaction. Sent with
# sender= the person's model, instance= the person and by= who erased it (None for the
# portal itself). Receivers take that person's data out of their own records (trainings:
# the attendance lists).
personal_data_erased = Signal()
