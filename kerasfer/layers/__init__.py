"""kerasfer.layers."""
