"""Seamline: one product master, one inventory ledger, one order queue for multichannel apparel brands."""

__version__ = "0.1.0"
