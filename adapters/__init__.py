"""Mall adapters and the explicit registry of them."""
