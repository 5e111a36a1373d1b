"""Triggers of deferred waits. Their classpaths never move: serialized triggers carry them."""
