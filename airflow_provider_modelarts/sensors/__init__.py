"""Sensors: poke, reschedule and deferrable waits, on the template-method base in :mod:`.base`."""
