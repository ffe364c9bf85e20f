"""Fine-tuning: the task configs, the NER and relation trainers, what they share, and the train command."""
