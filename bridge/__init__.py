"""groundbass.bridge — front ends (command line, OSC server) over groundbass.core."""
