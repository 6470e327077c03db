"""Exchange venues: each knows its wire protocol and hands typed events up."""
