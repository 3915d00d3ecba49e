"""Finance: exchange rates and revenue in US dollars. Owned by finance-data@acme.example."""
