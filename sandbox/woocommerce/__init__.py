"""The WooCommerce REST API v3, simulated: the store's state, its JSON and its routes."""
