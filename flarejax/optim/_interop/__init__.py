"""optax in both directions, state dicts, and summaries of the state."""
