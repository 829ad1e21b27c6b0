-- Nearby (LBS): stores within a radius of a member, found through an index.
-- `earthdistance` would need a superuser; `cube` is a trusted extension, so
-- the earth-centred coordinates are computed here instead.
CREATE EXTENSION IF NOT EXISTS cube;

-- A point on the earth's surface (degrees) as an earth-centred 3-D point in
-- metres, on a sphere of the mean earth radius (6371008.8 m). Two points'
-- `cube_distance` is then the chord between them. A standard-SQL body is
-- resolved when created, so the index expression does not depend on the
-- search_path of whoever evaluates it.
CREATE FUNCTION earth_point(latitude float8, longitude float8) RETURNS cube
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN cube(ARRAY[
    6371008.8 * cos(radians(latitude)) * cos(radians(longitude)),
    6371008.8 * cos(radians(latitude)) * sin(radians(longitude)),
    6371008.8 * sin(radians(latitude))
]);

-- The great-circle distance, metres, between two `earth_point`s a chord of
-- `chord` metres apart (`cube_distance`); LEAST guards asin against rounding
-- just past 1 for antipodes.
CREATE FUNCTION earth_arc(chord float8) RETURNS float8
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN 2 * 6371008.8 * asin(least(1, chord / (2 * 6371008.8)));

-- Active stores by position: `cube_enlarge(earth_point(here), r, 3) @>` this
-- expression is the index's bounding-box search.
CREATE INDEX stores_earth_point ON stores
    USING gist (earth_point(latitude::float8, longitude::float8))
    WHERE active;
