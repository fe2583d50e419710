"""Training loops for the autoencoders and the diffusion model (kept outside the models)."""
