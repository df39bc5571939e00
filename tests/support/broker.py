"""A real mosquitto on a free loopback port: now in the package
(`device.emulation.mosquitto`), so the pytest plugin can ship it; re-exported here for the tests
that import it from this place."""

from doorbell.device.emulation.mosquitto import MosquittoBroker, find_mosquitto, free_port

__all__ = ["MosquittoBroker", "find_mosquitto", "free_port"]
