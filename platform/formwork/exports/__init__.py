"""Exports: what people take out of Formwork, within their rights.

``exports.records``: a form's records as CSV or Excel, within the ``export`` right, the data
scope and the field rights. It sits above the kinds it combines (records, permissions), so
neither of them imports it; the API and the pages are its adapters.
"""
