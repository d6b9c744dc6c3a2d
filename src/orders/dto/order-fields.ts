/** An account id, as in the account streams' `subscribe`. */
export const ACCOUNT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A non-negative decimal string: up to 18 integer and 12 fractional digits, no sign, no exponent. */
export const DECIMAL_PATTERN = /^\d{1,18}(\.\d{1,12})?$/;
