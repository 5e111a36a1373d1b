"""What "wait for a job" means, in every mode and for every API.

:mod:`.conditions` (an API's states: target, failure, verdict wording), :mod:`.check` (the one
synchronous check), :mod:`.outage` (riding out API outages), :mod:`.poller` (the shared poller of
deferred tasks, generic) with one source per API (:mod:`.poller_v1`, :mod:`.poller_v2`), and
:mod:`.logs` (following a job's task logs). See docs/waiting-and-outages.md.
"""
