"""Server starts outside the request: a queue in the database, a bound on concurrent starts, and
the progress page that a student waits on (nbhosting.opening puts every door's cold open here)."""
