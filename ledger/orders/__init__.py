"""Customer and supplier orders: every change of state is an event; stock moves only with those events."""
