DROP TABLE phone_codes;
ALTER TABLE members DROP COLUMN phone_verified_at;
