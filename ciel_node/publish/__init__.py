"""Everything that reads finished pieces: the media store and, later, web, speakers, feedback."""
