"""The v1 model ("AI application") API: ``/v1/{project_id}/models`` (see :mod:`.spec`)."""
