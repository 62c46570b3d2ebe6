"""compress: datasets, spiking layers, training (BPTT), the compression methods, and NIR export/import."""
