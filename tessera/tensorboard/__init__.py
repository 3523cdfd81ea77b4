"""Placeholder: ``SummaryWriter`` writing TensorBoard event files."""
