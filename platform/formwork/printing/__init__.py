"""Printing: print templates read and checked from the print folder, and the sandbox that renders them.

Low in the house: the definition pipeline embeds a form's templates when checking it, and
documents renders them to PDF; both use this package.
"""
