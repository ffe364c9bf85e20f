"""Training-side tools for viextract: data, annotation, training, evaluation, publishing.

Not part of the installed package; run from a clone with `pip install -e .[train]`.
"""
