DROP TABLE member_verifications;
DROP TABLE exchanges;
DROP TABLE exchange_quotes;
DROP TABLE rate_overrides;
DROP TABLE program_rates;
DROP TABLE rate_publications;
ALTER TABLE programs DROP COLUMN member_daily_exchange_limit;
DROP TABLE exchange_policy;
