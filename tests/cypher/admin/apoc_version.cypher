// The APOC version the server runs (checks the plugin is loaded).
// params: (none)
// returns: version
RETURN apoc.version() AS version
