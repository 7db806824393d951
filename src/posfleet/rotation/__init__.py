"""Server secret rotation: which rows depend on which secret, and re-encrypting them."""
