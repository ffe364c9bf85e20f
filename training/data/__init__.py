"""Annotated documents: loading and checks, splits, features, inline markup, stats, SCHEMA conventions."""
