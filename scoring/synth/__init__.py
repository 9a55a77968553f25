"""The synthetic Guangdong province: department records with a known ground truth.

``generate_province`` writes one Parquet file per raw table of :mod:`scoring.schema`
(exactly its columns, order and types) plus ``DICTIONARY.md``, and, apart from them, the
ground truth that only evaluation code and tests may read.

How the province is built (one module per source family):

- ``_entities``: 21 cities and Shunde with counties, towns and villages; SMEs keyed by
  valid unified social credit codes, households by ``'H' + village code + sequence`` with
  a synthetic head (valid resident id, placeholder name); a latent creditworthiness per
  entity and year (static part + AR(1) shock; households also share a village part).
  The records of a year are drawn from that year's latent; the defaults of the next year
  from the same value (the *state* at the year end), so the records up to a snapshot
  reveal the risk of its outcome window.
- ``_sme_records``: tax filings and violations, social insurance, utilities, penalties.
- ``_household_records``: electricity, subsidies, insurance, public plus/minus items.
- ``_credit``: loans and monthly repayments; defaults (DPD 30, 60, 90, ...) and the
  planted pilot effects on SME credit.
- ``_courts``: enforcement cases; ``_admin``: consents and disputes.
- ``_faults``: duplicated submissions, invalid codes, orphans, impossible dates, wrong
  units, every one listed in ``faults.parquet``.
- ``_truth``: true PD per entity and snapshot, the AUC ceiling, the planted effects.

Outcome definition (shared with the collection of credit files): for an entity and a
snapshot date S (a year end), the outcome is observable when the entity has at least one
``loan_repayments`` record with S < month <= S + 12 months; default = 1 when any of its
loans shows ``days_past_due >= 90`` in that window.
"""

from __future__ import annotations

from scoring.synth._province import GenerationSummary, build_segments, generate_province
from scoring.synth._truth import README as TRUTH_README

__all__ = ["TRUTH_README", "GenerationSummary", "build_segments", "generate_province"]
