"""Customers: who buys from acme. Owned by customers-data@acme.example."""
