"""Everything that knows about database servers: URLs, safety, schema, backends."""
