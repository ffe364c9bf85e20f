"""Weak labels: gazetteers, the rule-based annotator, silver data, augmentation and spelling variants."""
