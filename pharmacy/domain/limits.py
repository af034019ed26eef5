"""Product-wide dose bounds shared by the formulation engine and screening."""

from decimal import Decimal

# Above this a preparation is no longer low-dose naltrexone (configurable per pharmacy).
MAX_LDN_STRENGTH_MG_PER_DOSE = Decimal("6.0")
# The usual LDN daily dose range; outside it screening warns.
USUAL_DAILY_DOSE_MIN_MG = Decimal("0.5")
USUAL_DAILY_DOSE_MAX_MG = Decimal("4.5")
