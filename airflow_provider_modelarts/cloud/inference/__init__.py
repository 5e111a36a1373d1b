"""The v1 inference APIs: models ("AI applications", ``/v1/{project_id}/models``) and real-time
and batch services (``/v1/{project_id}/services``), what Huawei documents about them, one module
per concern. Nothing here does I/O.

- :mod:`.common`: the error codes both share (:data:`~.common.ERROR_TABLE`), ids, names,
  descriptions, the paging parameters of their lists;
- :mod:`.models`: model paths, :class:`~.models.ModelStatus`, the create body's rules, list
  filters, rows;
- :mod:`.services`: service paths, :class:`~.services.ServiceStatus`, the deploy and update
  rules, list and event queries, rows.

A package rather than two modules beside ``v1.py``: models and services share one error table,
one paging rule and one description rule, and the newer ``/v2/{project_id}/services`` API can be
added as a module of its own here without touching the training modules.
"""
