"""From latent walks to finished media: audio, images, skies."""
