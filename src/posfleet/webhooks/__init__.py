"""Signed webhooks: tenants' endpoints, the events pushed to them, and how they are sent."""
