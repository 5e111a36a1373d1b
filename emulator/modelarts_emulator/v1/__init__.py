"""The ModelArts v1 training-job API (``/v1/{project_id}/training-jobs...``).

:mod:`.spec` is the emulator's reading of the documented API, :mod:`.models` the jobs and their
versions moving along timelines, :mod:`.catalog` the seeded project and the version fields, and
:mod:`.responses` the three GET endpoints (list jobs, list versions, show a version).
"""
