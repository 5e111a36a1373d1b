"""Reliability suites: the fault matrix, the bad-input matrix, the secret-leak scan and restart
safety. ``scripts/reliability_report.py`` runs them and writes their figures into the README."""
