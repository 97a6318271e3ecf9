"""Serving many users: an engine per GPU, a Ray cluster's replicas beyond one machine, and daily allowances."""
