"""OSC bridge for DAW scripts: server, protocol and job queue."""
