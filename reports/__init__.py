"""Pictures and documents drawn from computed results (``forecast/`` computes, ``reports/``
draws): fan charts and reliability plots (:mod:`reports.plots`), the weekly bulletin."""
