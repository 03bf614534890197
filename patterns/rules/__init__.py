"""Pure pattern rules (no Django): the signature that groups tickets, and eligibility."""
