"""tradingd."""
