"""The audit trail: an append-only, hash-chained log of who did what, for every layer to write to.

It sits directly above core so that sign-ins (org), record changes (records), decisions
(workflow), exports and prints can all append to it; it imports nothing but core.
"""
