from doorbell.device.cli import main

main()
