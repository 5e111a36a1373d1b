"""Operators: thin Airflow glue over the hook. :mod:`.base` holds the shared connection arguments."""
