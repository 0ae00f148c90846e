"""Finale Inventory REST API, simulated: the grocer's stock across warehouse and shops, its JSON and routes."""
