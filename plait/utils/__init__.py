"""Small helpers shared by plait's modules (type dispatch, ...); nothing here is public API."""
