"""What the ConnectWise sender writes (``sender.ConnectWiseSender``), one module per record."""
