"""posfleet's own auth service: back-office sign-in, token exchange, integration tokens."""
