"""Shared pure helpers (no models, no app imports): the lowest floor of the layout."""
