"""Approval processes: a record's run through its route — tasks, decisions, the trail."""
