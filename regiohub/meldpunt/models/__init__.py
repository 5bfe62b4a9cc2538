from .category import Category, ClosingDay
from .report import ReferenceSequence, Report, SlaPause

__all__ = ["Category", "ClosingDay", "ReferenceSequence", "Report", "SlaPause"]
