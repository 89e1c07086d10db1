"""PII detection and reversible masking, provider data policies, leak scanning.

Importing this package does not import Presidio or spaCy; constructing `PiiDetector` does.
"""

from portico.privacy.detector import DetectorConfig, DetectorUnavailable, PiiDetector
from portico.privacy.entities import Entity, EntityType
from portico.privacy.masking import Masker, MaskResult, Vault, block_message, mask_request
from portico.privacy.stream_unmask import StreamUnmasker

__all__ = [
    "DetectorConfig", "DetectorUnavailable", "Entity", "EntityType", "MaskResult", "Masker",
    "PiiDetector", "StreamUnmasker", "Vault", "block_message", "mask_request",
]
