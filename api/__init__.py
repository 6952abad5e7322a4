"""Entry points of ABParts Ledger: the HTTP app, the command line, settings and wiring."""
