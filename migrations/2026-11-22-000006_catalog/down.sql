DROP TABLE redemptions;
DROP TABLE reward_caps;
DROP TABLE reward_stores;
DROP TABLE rewards;
