"""Binance Spot: signed REST, market streams, user data (listenKey and WebSocket API)."""
