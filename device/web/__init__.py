"""The device's local page: live picture, events, clips, zones and masks, footage requests.

`WebServer` (server.py) runs an aiohttp application on its own thread and event loop; every
change the page makes goes through the device's command registry (device.commands).
Nothing here imports aiohttp: the device imports server.py only when web.listen is set, so a
device without the page does not carry aiohttp, Jinja2 and argon2 (~14 MB RSS).
"""


class WebRefused(Exception):
    """The page may not listen where it was asked to (one line for the user)."""
