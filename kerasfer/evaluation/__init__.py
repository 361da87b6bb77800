"""kerasfer.evaluation."""
