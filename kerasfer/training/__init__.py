"""kerasfer.training."""
