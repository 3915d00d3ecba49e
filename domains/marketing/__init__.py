"""Marketing: campaigns and their audiences. Owned by marketing-data@acme.example."""
