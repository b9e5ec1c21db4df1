"""Every query that shapes rows for a summary table: the dashboard's, reading the
raw rows of outreach and trainings."""
