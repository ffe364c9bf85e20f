"""Scoring: metrics, NER and relation evaluation, k-fold cross-validation, the challenge set."""
