"""La Poste Suivi API v2 event codes, mapped to our mailing events."""

from __future__ import annotations

__all__ = ["LAPOSTE_CODES", "map_laposte_code"]

# code → (our event type or None, La Poste label). None means the scan tells us
# nothing about the legal life of the letter (it is moving, or in customs).
LAPOSTE_CODES: dict[str, tuple[str | None, str]] = {
    # Pre-advice data only: La Poste does not hold the letter yet.
    "DR1": (None, "Déclaratif réceptionné"),
    "DR2": (None, "Problème lors de la préparation"),
    # Taken in charge: the preuve de dépôt date.
    "PC1": ("deposited", "Pris en charge"),
    "PC2": ("deposited", "Pris en charge dans le pays d'expédition"),
    "ET1": (None, "En cours de traitement"),
    "ET2": (None, "En cours de traitement dans le pays d'expédition"),
    "ET3": (None, "En cours de traitement dans le pays de destination"),
    "ET4": (None, "En cours de traitement dans un pays de transit"),
    # Waiting to be presented is not a presentation.
    "EP1": (None, "En attente de présentation"),
    "DO1": (None, "Entrée en Douane"),
    "DO2": (None, "Sortie de Douane"),
    "DO3": (None, "Retenu en Douane"),
    "ID0": (None, "Informations douane"),
    "PB1": (None, "Problème en cours"),
    "PB2": (None, "Problème résolu"),
    # Out for delivery: the round may still fail to present it.
    "MD2": (None, "Mis en distribution"),
    # Undeliverable at the address: the only API signal of a bad address, so NPAI.
    # The event label may be more precise; providers refine from it.
    "ND1": ("addressee_unknown", "Non distribuable"),
    # Held at the counter after an avis de passage: the carrier presented it.
    "AG1": ("first_presented", "En attente d'être retiré au guichet"),
    "RE1": ("returned", "Retourné à l'expéditeur"),
    "DI0": ("delivered", "Distribué en lot"),
    "DI1": ("delivered", "Distribué"),
    # Delivered back to the SENDER: the end of a return, never a receipt.
    "DI2": ("returned", "Distribué à l'expéditeur"),
    "DI3": (None, "Retardé"),
}


def map_laposte_code(code: str) -> str | None:
    """Our event type for a Suivi API code; None for moves and for unknown codes."""
    entry = LAPOSTE_CODES.get(code.strip().upper())
    return entry[0] if entry else None
