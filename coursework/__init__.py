"""Tools for working through the chapter notebooks: exporting cells to babygrad, live binding, teaching checks."""
