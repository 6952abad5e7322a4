"""Stock reservations: what confirmed customer orders hold reserved, from the stock_reservations table."""
