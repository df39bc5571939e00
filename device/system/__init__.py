"""The device's glue to the operating system it runs on: logging, the data dir's lock, memory
given back to the C library, and the systemd unit and watchdog."""
