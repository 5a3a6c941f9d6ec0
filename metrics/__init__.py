"""Disentanglement metrics: plain functions (simulator, encode, protocol, seed) -> dict."""
