"""The ModelArts v2 training-job API (``/v2/{project_id}/training-job...``).

:mod:`.spec` is the emulator's reading of the documented API, :mod:`.models` the training jobs and
their phase timelines, :mod:`.catalog` the seeded project (flavors, engines, demo and generated
jobs) and :mod:`.job_object` the ``JobResponse`` body. The endpoints: :mod:`.responses` (search and
show), :mod:`.create` (create-body validation and the create call), :mod:`.plans` (what created
jobs do, set through the control API), :mod:`.lifecycle` (terminate, delete, tasks, task logs),
:mod:`.logs` (log pages and previews), :mod:`.events` and :mod:`.autosearch` (hyperparameter
search trials).
"""
