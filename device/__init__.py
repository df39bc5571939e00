"""The device: its runtime (`runtime`), camera sources, recording, storage, the local page, its
glue to the OS (`system`), the command line (`cli`), and what only emulates it (`emulation`).

Installed as `doorbell.device`; the emulated `Doorbell` for other projects' tests is
`doorbell.device.emulation.Doorbell`.
"""
