"""The transactional outbox: messages committed with their change, sent after commit by a worker."""
