DROP INDEX stores_earth_point;
DROP FUNCTION earth_arc(float8);
DROP FUNCTION earth_point(float8, float8);
DROP EXTENSION IF EXISTS cube;
