"""Thin translators from the wire (OSC, SSH) to state updates."""
