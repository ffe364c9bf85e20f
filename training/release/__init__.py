"""Releasing a model: assembling ner/ and re/, provenance and licences, the model card, publishing."""
