"""French-law engine of Recouvre: the décompte, the rate data it rests on, the legal calendar.

Pure functions over data: every rate and legal figure comes from law/data, where each row cites
its source and says whether it was verified.
"""
from ._rate_periods import RatePeriod, applicable_rate
from .calendar import (
    Region,
    add_months,
    easter_sunday,
    is_working_day,
    next_working_day,
    prescription_end,
    procedural_deadline,
    public_holidays,
    region_for_postal_code,
)
from .claim import compute_claim
from .constants import LegalConstant, legal_constant, legal_constants
from .courts import Court, LegalForm, PartyStanding, find_legal_form, injunction_court, legal_forms, party_standing
from .deadlines import (
    Deadline,
    case_deadlines,
    ip_signification_deadline,
    payment_deadline,
    prescription_rule,
)
from .rates import RateBook, add_rate, list_rates, load_rate_book
from .segments import Segment, accrual_segments, interest_amount
from .statement import (
    ClaimOptions,
    ClaimStatement,
    Imputation,
    IndemnityLine,
    InterestLine,
    InvoiceBalance,
    MissingRateError,
)

__all__ = [
    # décompte
    "compute_claim", "ClaimOptions", "ClaimStatement", "InterestLine", "IndemnityLine", "Imputation",
    "InvoiceBalance", "MissingRateError", "interest_amount", "accrual_segments", "Segment",
    # rates and legal figures
    "RateBook", "load_rate_book", "list_rates", "add_rate", "RatePeriod", "applicable_rate",
    "LegalConstant", "legal_constant", "legal_constants",
    # calendar and deadlines
    "Region", "region_for_postal_code", "public_holidays", "is_working_day", "next_working_day",
    "add_months", "easter_sunday", "procedural_deadline", "prescription_end", "Deadline",
    "case_deadlines", "payment_deadline", "ip_signification_deadline", "prescription_rule",
    # courts
    "Court", "LegalForm", "PartyStanding", "legal_forms", "find_legal_form", "party_standing", "injunction_court",
]
