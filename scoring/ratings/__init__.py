"""Rule-based ratings: tax credit grades, rural households / villages / towns, red and black lists.

Each rater is a pure function over raw tables (polars frames, eager or lazy, as
:mod:`scoring.schema` defines them) and a typed section of the configuration:

- :func:`rate_tax` / :func:`rate_tax_years` (``[tax]``): score, grade and the lines
  that explain them, per taxpayer and year;
- :func:`rate_rural` / :func:`rate_rural_years` (``[rural]``): household points and
  grade, credit village / town / county status with the criteria behind it;
- :func:`build_lists` (``[lists]``): the red and black lists in force on a date.

``run_tax_ratings``, ``run_rural_ratings`` and ``run_lists`` read the validated
records and write the results under ``paths.ratings`` (see :data:`RATING_FILES`).

Examples
--------
>>> from scoring.ratings import TAX_GRADES
>>> TAX_GRADES
('A', 'B', 'M', 'C', 'D')
"""

from __future__ import annotations

from scoring.ratings._lists import LIST_REASONS, LIST_SCHEMA, CreditLists, build_lists
from scoring.ratings._run import (
    RATING_FILES,
    rating_years,
    run_lists,
    run_rural_ratings,
    run_tax_ratings,
)
from scoring.ratings._rural import (
    AREA_CRITERIA_SCHEMA,
    COUNTY_RATINGS_SCHEMA,
    HOUSEHOLD_FEATURES,
    HOUSEHOLD_POINTS_SCHEMA,
    HOUSEHOLD_RATINGS_SCHEMA,
    TOWN_RATINGS_SCHEMA,
    VILLAGE_RATINGS_SCHEMA,
    RuralRatings,
    household_rating_features,
    rate_rural,
    rate_rural_years,
)
from scoring.ratings._tax import (
    TAX_DEDUCTIONS_SCHEMA,
    TAX_GRADES,
    TAX_RATINGS_SCHEMA,
    TaxRatings,
    rate_tax,
    rate_tax_years,
)

__all__ = [
    "AREA_CRITERIA_SCHEMA",
    "COUNTY_RATINGS_SCHEMA",
    "HOUSEHOLD_FEATURES",
    "HOUSEHOLD_POINTS_SCHEMA",
    "HOUSEHOLD_RATINGS_SCHEMA",
    "LIST_REASONS",
    "LIST_SCHEMA",
    "RATING_FILES",
    "TAX_DEDUCTIONS_SCHEMA",
    "TAX_GRADES",
    "TAX_RATINGS_SCHEMA",
    "TOWN_RATINGS_SCHEMA",
    "VILLAGE_RATINGS_SCHEMA",
    "CreditLists",
    "RuralRatings",
    "TaxRatings",
    "build_lists",
    "household_rating_features",
    "rate_rural",
    "rate_rural_years",
    "rate_tax",
    "rate_tax_years",
    "rating_years",
    "run_lists",
    "run_rural_ratings",
    "run_tax_ratings",
]
