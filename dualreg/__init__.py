"""dualreg."""
