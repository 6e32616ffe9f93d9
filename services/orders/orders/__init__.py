"""orders: orders that reserve stock in catalog; idempotent creation."""
