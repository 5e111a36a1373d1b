"""Helpers the task rooms share: one job per task instance (:mod:`.submission`), job names
(:mod:`.naming`), OpenLineage (:mod:`.lineage`) and the old import paths (:mod:`.moved`)."""
