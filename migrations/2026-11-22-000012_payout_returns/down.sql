ALTER TABLE payouts DROP COLUMN repays_payout_id;
