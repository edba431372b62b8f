"""Data: the example type, the synthetic record schema and loaders for every supported format."""
