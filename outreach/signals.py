"""Signals outreach sends to the apps that build on it (which outreach never imports)."""

from django.dispatch import Signal

# A member's personal data was erased (inside the erasure's transaction). Receivers
# take the member's personal data out of their own records: trainings, the attendance
# lists. Sent with member= and by=.
member_personal_data_erased = Signal()
