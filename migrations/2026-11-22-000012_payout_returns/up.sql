-- A payout the bank failed returns its money to the merchant's position (kind
-- `payout_return`); the next statement repays exactly that amount to the same
-- recipient as a payout of its own, outside the split (no second platform
-- share, no other recipient's rule). The repayment names the payout it repays,
-- and a failed payout is repaid at most once.
ALTER TABLE payouts
    ADD COLUMN repays_payout_id bigint UNIQUE REFERENCES payouts (id),
    ADD CHECK (repays_payout_id <> id);
