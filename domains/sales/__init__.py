"""Sales: the web shop's orders and catalogue. Owned by sales-data@acme.example."""
