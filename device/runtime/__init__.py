"""The device's runtime: the running `Device` (camera -> analysis -> reactions -> recorder and
uplink), the mode policy, alerts, commands and the local control socket."""
