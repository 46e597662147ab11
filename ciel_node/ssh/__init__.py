"""SSH for the node: the embedded server, the reverse tunnel, the operator's bridge, and what they share."""
