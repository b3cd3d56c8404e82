"""The eyes: CNN perception networks for pixel observations, plug-ins, saliency and the digit classifier."""
