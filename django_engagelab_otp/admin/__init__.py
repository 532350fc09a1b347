"""The message history in Django's admin, read-only and fast at millions of rows.

Importing this package registers ``MessageLogAdmin`` and ``MessageEventAdmin``
with the default admin site.
"""

from .message_event import MessageEventAdmin
from .message_log import MessageLogAdmin

__all__ = ["MessageLogAdmin", "MessageEventAdmin"]
