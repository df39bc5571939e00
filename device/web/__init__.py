"""The device's local page: live picture, events, clips, zones and masks, footage requests.

`WebServer` (server.py) runs an aiohttp application on its own thread and event loop; every
change the page makes goes through the device's command registry (device.commands).
"""
