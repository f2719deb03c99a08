"""Monitoring: compare what a released model now sees with what it learned from."""
