"""The audit timeline: reading who did what, when, from where (devices write the records)."""
