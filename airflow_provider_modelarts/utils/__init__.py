"""Helpers the task rooms share: one job per task instance (:mod:`.submission`), the arguments
every task takes (:mod:`.mixins`), XCom field selection (:mod:`.xcom`), job names
(:mod:`.naming`), OpenLineage (:mod:`.lineage`) and the old import paths (:mod:`.moved`)."""
