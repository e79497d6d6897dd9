"""Documents of a case: requested over the API, generated, signed and archived by a job."""
from .service import (
    KINDS,
    DocumentPending,
    document_file,
    get_document,
    list_documents,
    paris_today,
    request_document,
)

__all__ = ["KINDS", "DocumentPending", "document_file", "get_document", "list_documents", "paris_today",
           "request_document"]
