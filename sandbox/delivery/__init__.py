"""The retailer's courier app (deliveries of web orders)."""
