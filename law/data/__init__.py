"""Versioned law data (CSV/JSON): each row cites its source and says whether it was verified."""
