"""BingX wallet API (balances and transfers) used by the automation jobs."""
