"""Automatic rule checks over a submission's staged copy; results are stored in the queue."""
