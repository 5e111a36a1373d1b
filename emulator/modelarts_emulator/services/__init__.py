"""The v1 real-time and batch service API: ``/v1/{project_id}/services`` and the invocation of a
running real-time service, ``POST /v1/infers/{service_id}`` (see :mod:`.spec`)."""
