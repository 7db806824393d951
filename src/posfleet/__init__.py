"""posfleet: POS device registry and pairing server."""
