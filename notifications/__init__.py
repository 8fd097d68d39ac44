"""Tells the job seeker about the events tracking writes: signed webhooks, run by a worker."""
