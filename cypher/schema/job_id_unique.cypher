// One Job node per background job (POST /admin/train), found by its id.
// params: (none)
// returns: (nothing)
CREATE CONSTRAINT job_id_unique IF NOT EXISTS FOR (j:Job) REQUIRE j.id IS UNIQUE
