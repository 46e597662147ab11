"""Local playback: the live sound engine, the output limiter, the audio device."""
