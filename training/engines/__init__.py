"""`viextract batch` engines that need the training side's dependencies: Hugging Face `datasets`."""
