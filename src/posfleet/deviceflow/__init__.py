"""The deprecated Flow device authorization flow: register, authorize, poll (RFC 8628)."""
