"""Report attachments: content-addressed storage, file-type detection and text extraction.

``store`` keeps each file once under ``<data dir>/attachments/ab/cd/<sha256>``; ``sniff`` tells
a PDF from a DOC, DOCX, WPS, XLS, XLSX or OFD by its bytes (the URL's extension only breaks ties);
``readers`` turns each kind into text (pure functions, run only inside the sandbox);
``sandbox`` runs a reader in a child process with a time, memory and size limit, so a hostile or
broken file costs one recorded reason and never the crawl.
"""

from .sandbox import ExtractionLimits, ExtractionResult, extract_text
from .sniff import MEDIA_TYPES, sniff_media_type
from .store import attachment_path, store_attachment

__all__ = [
    "MEDIA_TYPES",
    "ExtractionLimits",
    "ExtractionResult",
    "attachment_path",
    "extract_text",
    "sniff_media_type",
    "store_attachment",
]
