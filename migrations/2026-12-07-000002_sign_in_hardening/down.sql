DROP TABLE operator_recovery_codes;
DROP TABLE operator_second_factors;
DROP TABLE mail_sends;
DROP INDEX sign_in_attempts_account_ip;
