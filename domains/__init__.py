"""The business domains of the example mesh: one package each, owned by its team."""
