// placeholder until the protocol core lands
