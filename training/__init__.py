"""Training-side tools for viextract: data, weak labels, fitting, evaluation, pretraining, release, batch engines.

Installed as `viextract_training` by `pip install "viextract[train]"` (commands: `viextract train|evaluate|
publish`); in a clone, the same modules run as `python -m training.<module>`. Imports inside are relative,
so both names work. The inference package `viextract` never imports this one.
"""
