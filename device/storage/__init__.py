"""What the device keeps on its card: the index of events and clips, and how long."""

from doorbell.device.storage.index import ClipRow, EventIndex, EventRow

__all__ = ["ClipRow", "EventIndex", "EventRow"]
